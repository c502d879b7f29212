"""Getting the real components for tests: under CI=true a missing component fails, elsewhere it skips.

Every test process runs its own components: ports are picked by the kernel (bind to port 0) and state lives
under one temporary directory per process (run_dir()), so a test run never meets the demo's LocalStack and
control plane on the default ports, nor another test run in another clone.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

__all__ = ["ROOT", "free_ports", "is_ci", "run_dir", "run_script", "unavailable"]


def is_ci() -> bool:
    """The one rule for "this is CI" (where a missing component is a failure): CI=true in any case."""
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail under CI (a missing component is a defect there), skip on a developer's machine."""
    if is_ci():
        pytest.fail(f"required component unavailable under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def run_script(*args: str, timeout: float = 3600, env: Mapping[str, str] | None = None) -> str:
    """Run one of scripts/*.sh and return its stdout; on failure, report why (with the stderr tail)."""
    try:
        done = subprocess.run(
            [os.path.join(ROOT, "scripts", args[0]), *args[1:]],
            capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT,
            env=None if env is None else {**os.environ, **env},
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as err:
        unavailable(f"scripts/{args[0]} {' '.join(args[1:])}: {err}")
        raise AssertionError("unreachable") from err
    if done.returncode != 0:
        unavailable(f"scripts/{args[0]} {' '.join(args[1:])} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout.strip()


def free_ports(count: int = 1) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that nothing listens on now, chosen by the kernel (bind to port 0).

    All sockets stay open until every port is chosen, so the ports differ. A port can still be taken between
    this call and its use; the scripts refuse a busy port, and the callers start again on fresh ports.
    """
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


_RUN_DIR: list[Path] = []


def run_dir() -> Path:
    """This process's own state directory (pid files, logs, data of the components it starts), removed at exit.

    Set KECS_TEST_STATE_DIR to keep it somewhere (it is then left in place, e.g. to read the logs).
    """
    if not _RUN_DIR:
        kept = os.environ.get("KECS_TEST_STATE_DIR")
        if kept:
            path = Path(kept).resolve() / f"run-{os.getpid()}"
            path.mkdir(parents=True, exist_ok=True)
        else:
            path = Path(tempfile.mkdtemp(prefix="kecs-test-"))
            # Registered first, so it runs last (atexit is LIFO): after the components are stopped.
            atexit.register(shutil.rmtree, path, ignore_errors=True)
        _RUN_DIR.append(path)
    return _RUN_DIR[0]
