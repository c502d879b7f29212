"""Whether a stack's file-backend lock may be taken over: only when it is provably our own stale one.

Pulumi's file (DIY) backend locks a stack with one file per holder,
``.pulumi/locks/<org>/<project>/<stack>/<lockID>.json`` holding ``{pid, username, hostname, timestamp}``
(pkg/backend/diy/lock.go), and has no lease and no staleness check (pulumi/pulumi#9253): a process killed
mid-update leaves its lock forever, and ``pulumi cancel`` removes every lock of the stack, live ones too.
So the watch decides lock by lock. A lock written on this host whose pid is gone, or is now a process that
is not Pulumi, or a process that started after the lock was written (the pid was reused), is stale and
provably safe to remove. Anything else (another host, a live Pulumi process, a file that cannot be read)
is held: reported and waited on, never removed. While any lock is held nothing is removed at all.

The facts about processes are passed in; an adapter gathers them (providers/pulumi_lock.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["LockDecision", "LockFile", "LockVerdict", "ProcessFacts", "decide_lock", "lock_file"]

# A process's start time and a lock's timestamp come from the same clock; the start time is known to a
# clock tick (10 ms on Linux), the lock's to the nanosecond. One second more is ample and still proves reuse.
START_SLACK_SECONDS = 1.0


@dataclass(frozen=True)
class LockFile:
    """One lock file of the stack. ``pid`` is None when the file could not be read as a lock."""

    name: str  # the file's name, for messages (``<lockID>.json``)
    pid: int | None
    username: str = ""
    hostname: str = ""
    timestamp: float | None = None  # seconds since the epoch, None when absent or unreadable


@dataclass(frozen=True)
class ProcessFacts:
    """What this host knows of a pid: whether it runs, whether it is a Pulumi CLI, when it started (epoch s)."""

    alive: bool
    pulumi: bool = False
    started: float | None = None


class LockVerdict(enum.Enum):
    FREE = "free"  # no lock: an update may start
    STALE = "stale"  # only our own dead locks: remove them, then start
    HELD = "held"  # a live or foreign lock: report it and wait


@dataclass(frozen=True)
class LockDecision:
    verdict: LockVerdict
    stale: tuple[LockFile, ...] = ()  # provably dead locks of this host (removed only when verdict is STALE)
    held: tuple[LockFile, ...] = ()  # locks to report and wait on
    reasons: Mapping[str, str] | None = None  # lock name -> why it is stale or held, for the log line

    def report(self) -> str:
        """One line naming every lock and why (no values are in a lock: pid, user, host, time)."""
        locks = self.held + self.stale
        if not locks:
            return "stack lock: none"
        reasons = self.reasons or {}
        parts = [f"{lock.name} ({lock.username}@{lock.hostname} pid {lock.pid}): {reasons.get(lock.name, '')}" for lock in locks]
        return f"stack lock {self.verdict.value}: " + "; ".join(parts)


def lock_file(name: str, document: object) -> LockFile:
    """A lock file from its parsed JSON document; anything not in the CLI's format gives ``pid`` None."""
    if not isinstance(document, Mapping):
        return LockFile(name, None)
    pid, username, hostname = document.get("pid"), document.get("username"), document.get("hostname")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or not isinstance(hostname, str) or not hostname:
        return LockFile(name, None)
    return LockFile(name, pid, username if isinstance(username, str) else "", hostname, _epoch(document.get("timestamp")))


def _epoch(value: object) -> float | None:
    """Go's RFC 3339 time (``2026-12-04T23:14:01.123456789+00:00`` or ``...Z``) in epoch seconds, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)  # reads Go's nanoseconds (to microseconds) and Z
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _why_stale(lock: LockFile, hostname: str, facts: ProcessFacts | None) -> str | None:
    """Why ``lock`` is provably dead, or None when it may be live (or is not ours to judge)."""
    if lock.pid is None or lock.hostname != hostname:
        return None
    if facts is None or not facts.alive:
        return "its process is gone"
    if not facts.pulumi:
        return "its pid now belongs to a process that is not Pulumi"
    if facts.started is not None and lock.timestamp is not None and facts.started > lock.timestamp + START_SLACK_SECONDS:
        return "its pid now belongs to a Pulumi process started after the lock"
    return None


def _why_held(lock: LockFile, hostname: str) -> str:
    if lock.pid is None:
        return "not a lock file this can read"
    if lock.hostname != hostname:
        return "taken on another host"
    return "its Pulumi process is running"


def decide_lock(locks: Iterable[LockFile], hostname: str, processes: Mapping[int, ProcessFacts]) -> LockDecision:
    """Decide what to do about a stack's lock files, given this host's name and the facts of the pids on it."""
    stale: list[LockFile] = []
    held: list[LockFile] = []
    reasons: dict[str, str] = {}
    for lock in sorted(locks, key=lambda lock: lock.name):
        why = _why_stale(lock, hostname, processes.get(lock.pid) if lock.pid is not None else None)
        if why is None:
            held.append(lock)
            reasons[lock.name] = _why_held(lock, hostname)
        else:
            stale.append(lock)
            reasons[lock.name] = why
    if held:
        verdict = LockVerdict.HELD
    else:
        verdict = LockVerdict.STALE if stale else LockVerdict.FREE
    return LockDecision(verdict, tuple(stale), tuple(held), reasons)
