"""A stack's lock in a local file backend: read the lock files, gather the facts of their pids, remove stale ones.

The decision is the core's (kecs_secrets/stack_lock.py); this only reads ``.pulumi/locks/<org>/<project>/
<stack>/*.json`` (the CLI's layout, pkg/backend/diy/lock.go), asks psutil about each pid on this host, and
removes exactly the files the decision found stale (and their ``.attrs`` sidecars), by name, never the directory (``pulumi cancel`` would
remove every lock, live ones too). A pid counts as Pulumi when its process is the ``pulumi`` CLI.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psutil

from kecs_secrets.errors import StateUnavailableError
from kecs_secrets.stack_lock import LockDecision, LockFile, LockVerdict, ProcessFacts, decide_lock, lock_file

__all__ = ["check_stack_lock", "lock_directory", "process_facts", "read_locks", "remove_stale_locks"]

_PULUMI_NAMES = {"pulumi", "pulumi.exe"}


def lock_directory(backend_url: str | None, stack: str) -> Path | None:
    """The folder of stack ``organization/project/name``'s lock files in a ``file://`` backend, or None for any other
    backend (their locks are the service's or the bucket's, not files on this host)."""
    if not backend_url or not backend_url.startswith("file://"):
        return None
    url = urlsplit(backend_url)
    if url.query or url.fragment or url.netloc not in ("", "~") or not all(stack.split("/")):
        return None
    return Path(os.path.expanduser(url.netloc + unquote(url.path))) / ".pulumi" / "locks" / Path(*stack.split("/"))


def read_locks(directory: Path) -> list[LockFile]:
    """The lock files in ``directory`` (none when it does not exist); a file that is not a lock reads as unreadable,
    so it is held, never removed."""
    try:
        paths = sorted(path for path in directory.iterdir() if path.suffix == ".json" and path.is_file())
    except FileNotFoundError:
        return []
    except OSError as error:
        raise StateUnavailableError(f"stack lock: cannot list {directory}: {error.strerror}") from None
    locks = []
    for path in paths:
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            continue  # released while we read
        except (OSError, ValueError):
            document = None
        locks.append(lock_file(path.name, document))
    return locks


def process_facts(pids: Iterable[int]) -> dict[int, ProcessFacts]:
    """What this host knows of each pid: running (zombies are gone), the Pulumi CLI or not, and its start time."""
    facts = {}
    for pid in set(pids):
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                if process.status() == psutil.STATUS_ZOMBIE:
                    facts[pid] = ProcessFacts(alive=False)
                    continue
                facts[pid] = ProcessFacts(alive=True, pulumi=process.name() in _PULUMI_NAMES, started=process.create_time())
        except psutil.NoSuchProcess:
            facts[pid] = ProcessFacts(alive=False)
        except psutil.AccessDenied:
            facts[pid] = ProcessFacts(alive=True, pulumi=True)  # cannot tell: treat it as a live holder
    return facts


def check_stack_lock(backend_url: str | None, stack: str) -> LockDecision | None:
    """The decision about stack ``organization/project/name``'s lock, or None when the backend is not a local file one."""
    directory = lock_directory(backend_url, stack)
    if directory is None:
        return None
    locks = read_locks(directory)
    return decide_lock(locks, socket.gethostname(), process_facts(lock.pid for lock in locks if lock.pid is not None))


def remove_stale_locks(backend_url: str | None, stack: str, decision: LockDecision) -> list[str]:
    """Remove the lock files ``decision`` found stale, only when nothing is held; the names of those removed."""
    directory = lock_directory(backend_url, stack)
    if directory is None or decision.verdict is not LockVerdict.STALE:
        return []
    removed = []
    for lock in decision.stale:
        try:
            (directory / lock.name).unlink()
            # the blob library's sidecar of the file (gocloud fileblob), which the CLI skips when listing
            (directory / f"{lock.name}.attrs").unlink(missing_ok=True)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise StateUnavailableError(f"stack lock: cannot remove {directory / lock.name}: {error.strerror}") from None
        removed.append(lock.name)
    return removed
