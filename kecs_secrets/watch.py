"""When the watch mode runs an update: triggers in, one update at a time out, backoff after failures.

The watchers (pod watch, source poll, files, resync timer, a person) only report triggers; this decides.
Triggers that arrive while an update runs coalesce into exactly one next update; an update never starts
while another runs; after a failure the triggers it was serving are pending again and the next attempt
waits an exponential backoff with bounded jitter (reset by the first success). A ``manual`` trigger (a
person asked) and a ``recovered`` one (a source answers again) do not wait for the backoff.
Time is always passed in (seconds on a monotonic clock) and
the jitter comes from an injected source of numbers in [0, 1), so every decision is reproducible.

A trigger may carry a focus (kecs_secrets/focus.py): the part of the layout it concerns. Focused triggers
coalesce into one focused update of the union of their focuses; any trigger without a focus makes the next
update a full one (which serves the focused triggers too).

Staleness is the age of the oldest demand trigger (not the periodic or follow-up full updates) no successful
update has served yet, including the ones the running update is serving: it is what a pod waiting for its
replica, or a replica waiting for a rotated value, experiences.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kecs_secrets.focus import Focus

__all__ = ["Backoff", "Cycle", "Outcome", "Scheduler", "Trigger"]


class Trigger(enum.Enum):
    """Why an update is wanted."""

    POD_DEMAND = "pod-demand"  # a pod names a replica its namespace lacks
    SOURCE_CHANGE = "source-change"  # the source's metadata shows a new, changed or deleted item
    ECS_DEMAND = "ecs-demand"  # the ECS API's services and tasks reference other secrets than before
    FILES = "files"  # the task definition files or the stack config changed
    RESYNC = "resync"  # the periodic full converge (drift)
    FOLLOW_UP = "follow-up"  # the full converge after focused updates
    RECOVERED = "recovered"  # a source that did not answer answers again
    MANUAL = "manual"  # a person asked (``--once``, a signal)


# What staleness measures: demand and changes waiting to be served, not the periodic full converges.
_BOOKKEEPING = frozenset({Trigger.RESYNC, Trigger.FOLLOW_UP, Trigger.RECOVERED})
# Triggers that do not wait for the backoff: a person asked, or what the failures were waiting for is back.
IMMEDIATE = frozenset({Trigger.MANUAL, Trigger.RECOVERED})


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n + 1`` after ``n`` failures in a row: ``min(cap, base * factor**(n-1))``, shortened
    by up to ``jitter`` of itself (so retries of many watches spread out, never past the cap)."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not (self.base > 0 and self.factor >= 1 and self.cap >= self.base and 0 <= self.jitter < 1):
            raise ValueError("backoff: base > 0, factor >= 1, cap >= base and 0 <= jitter < 1")

    def ceiling(self, failures: int) -> float:
        """The delay after ``failures`` failures before jitter (0 when there was none)."""
        if failures <= 0:
            return 0.0
        # Past the cap the exponent stops growing, so a long outage never overflows the float.
        steps = 0 if self.factor == 1 else math.ceil(math.log(self.cap / self.base, self.factor))
        return min(self.cap, self.base * self.factor ** min(failures - 1, steps))

    def delay(self, failures: int, unit: float) -> float:
        """The delay for ``failures`` failures given ``unit`` in [0, 1) from the jitter source."""
        if not 0 <= unit < 1:
            raise ValueError("backoff: the jitter source must give numbers in [0, 1)")
        return self.ceiling(failures) * (1 - self.jitter * unit)


@dataclass(frozen=True)
class Cycle:
    """One update: the triggers it serves (each with its oldest unserved arrival), when it started, and its focus
    (None: a full update)."""

    triggers: Mapping[Trigger, float]
    started: float
    focus: Focus | None = None

    @property
    def oldest(self) -> float:
        return min(self.triggers.values())


@dataclass(frozen=True)
class Outcome:
    """How an update ended: its triggers, duration, result, and the earliest next attempt after a failure."""

    cycle: Cycle
    finished: float
    succeeded: bool
    failures: int  # failures in a row, this one included (0 after a success)
    retry_at: float | None  # None after a success

    @property
    def duration(self) -> float:
        return self.finished - self.cycle.started


@dataclass
class Scheduler:
    """The watch's decisions about one stack. Call ``trigger`` for every event, ``due`` to ask whether an update
    may start now, ``start`` and ``finish`` around each update."""

    random: Callable[[], float]
    backoff: Backoff = field(default_factory=Backoff)
    _pending: dict[Trigger, float] = field(default_factory=dict)
    _focuses: dict[Trigger, Focus | None] = field(default_factory=dict)  # per pending kind: its focus, None for full
    _running: Cycle | None = None
    _failures: int = 0
    _retry_at: float | None = None

    def trigger(self, kind: Trigger, now: float, focus: Focus | None = None) -> None:
        """Record that ``kind`` happened at ``now`` (about ``focus``, or the whole layout); triggers of one kind
        coalesce, keeping the oldest time and the union of their focuses. A time in the future (the follow-up
        and periodic full updates) waits until then, and no earlier update takes it."""
        pending = kind in self._pending
        self._pending[kind] = min(now, self._pending.get(kind, now))
        earlier = self._focuses.get(kind) if pending else Focus()
        self._focuses[kind] = None if earlier is None or not focus else earlier | focus

    @property
    def pending(self) -> Mapping[Trigger, float]:
        """Triggers no update has taken yet (those arriving during an update wait here for the next one)."""
        return MappingProxyType(dict(self._pending))

    def waiting(self, now: float) -> int:
        """How many triggers have happened and wait for an update: the pending ones whose time has come (a
        follow-up or periodic full update scheduled for later is not waiting yet)."""
        return sum(1 for since in self._pending.values() if since <= now)

    @property
    def running(self) -> Cycle | None:
        return self._running

    @property
    def failures(self) -> int:
        return self._failures

    def next_start(self) -> float | None:
        """The earliest time an update may start, or None while one runs or nothing is pending."""
        if self._running is not None or not self._pending:
            return None
        earliest = min(self._pending.values())
        if self._retry_at is None or IMMEDIATE & self._pending.keys():
            return earliest
        return max(self._retry_at, earliest)

    def due(self, now: float) -> bool:
        """Whether an update should start at ``now``."""
        start = self.next_start()
        return start is not None and start <= now

    def start(self, now: float) -> Cycle:
        """Begin an update serving every trigger pending at ``now``; refused while another runs or before it is due.
        Its focus is the union of theirs, or None (a full update) when one of them has none; except that focused
        demand is served first, alone, when the only full triggers due are periodic ones (they run next)."""
        if not self.due(now):
            raise RuntimeError("watch: no update is due (one is running, nothing is pending or the backoff runs)")
        taken = {kind: since for kind, since in self._pending.items() if since <= now}
        demand = {kind for kind in taken if self._focuses[kind] is not None}
        if demand and all(kind in _BOOKKEEPING for kind in taken if self._focuses[kind] is None):
            # Demand first: a pod waiting for its replica does not wait for a periodic full update too.
            taken = {kind: taken[kind] for kind in demand}
        focuses = [self._focuses.pop(kind) for kind in taken]
        for kind in taken:
            del self._pending[kind]
        focus: Focus | None = Focus()
        for one in focuses:
            focus = None if focus is None or one is None else focus | one
        self._running = Cycle(MappingProxyType(taken), now, focus)
        return self._running

    def widen(self) -> Cycle:
        """Make the running update a full one (its focused attempt failed; the full attempt serves the same triggers)."""
        if self._running is None:
            raise RuntimeError("watch: no update is running")
        self._running = Cycle(self._running.triggers, self._running.started, None)
        return self._running

    def finish(self, now: float, succeeded: bool) -> Outcome:
        """End the running update. After a failure its triggers are pending again (with their first times)."""
        cycle = self._running
        if cycle is None:
            raise RuntimeError("watch: no update is running")
        self._running = None
        if succeeded:
            self._failures, self._retry_at = 0, None
            if cycle.focus is None:  # a full update: the periodic and follow-up ones still waiting for their time are served
                for kind in [k for k in _BOOKKEEPING & self._pending.keys() if self._pending[k] > now]:
                    del self._pending[kind]
                    del self._focuses[kind]
        else:
            for kind, since in cycle.triggers.items():
                self.trigger(kind, since, cycle.focus)
            self._failures += 1
            self._retry_at = now + self.backoff.delay(self._failures, self.random())
        return Outcome(cycle, now, succeeded, self._failures, self._retry_at)

    def staleness(self, now: float) -> float:
        """Seconds since the oldest trigger no successful update has served (0 when there is none)."""
        running = self._running.triggers.items() if self._running else ()
        times = [since for kind, since in (*self._pending.items(), *running) if kind not in _BOOKKEEPING]
        return max(0.0, now - min(times)) if times else 0.0
