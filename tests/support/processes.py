"""Killing a process the way a crash does: SIGKILL to it, its process group and every descendant."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import psutil

__all__ = ["kill_tree"]


def kill_tree(process: subprocess.Popen) -> list[psutil.Process]:
    """SIGKILL ``process`` (started with ``start_new_session=True``), its group, and every descendant: the Pulumi
    engine starts its plugins (language host, providers) in process groups of their own, which would otherwise
    outlive it as idle orphans. Returns the descendants still alive 30 s later."""
    tree = psutil.Process(process.pid).children(recursive=True)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    for child in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    process.wait()
    _, alive = psutil.wait_procs(tree, timeout=30)
    return alive
