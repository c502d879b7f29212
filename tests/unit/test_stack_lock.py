"""The file-backend lock decision: only our own provably dead locks are taken over; anything else is waited on."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kecs_secrets.stack_lock import LockFile, LockVerdict, ProcessFacts, decide_lock, lock_file

HOST = "builder-1"
LOCKED_AT = "2026-12-04T23:14:01.123456789Z"
LOCKED_EPOCH = 1796426041.123456


def lock(name: str = "a.json", pid: int | None = 4242, hostname: str = HOST, timestamp: float | None = LOCKED_EPOCH) -> LockFile:
    return LockFile(name, pid, "ci", hostname, timestamp)


def test_no_lock_is_free() -> None:
    decision = decide_lock([], HOST, {})
    assert (decision.verdict, decision.stale, decision.held) == (LockVerdict.FREE, (), ())
    assert decision.report() == "stack lock: none"


@pytest.mark.parametrize(
    ("facts", "why"),
    [
        (None, "its process is gone"),
        (ProcessFacts(alive=False), "its process is gone"),
        (ProcessFacts(alive=True, pulumi=False, started=LOCKED_EPOCH - 100), "not Pulumi"),
        (ProcessFacts(alive=True, pulumi=True, started=LOCKED_EPOCH + 60), "started after the lock"),
    ],
)
def test_our_own_lock_whose_holder_is_provably_gone_is_stale(facts: ProcessFacts | None, why: str) -> None:
    decision = decide_lock([lock()], HOST, {} if facts is None else {4242: facts})
    assert decision.verdict is LockVerdict.STALE and decision.stale == (lock(),) and decision.held == ()
    assert why in decision.report() and "a.json (ci@builder-1 pid 4242)" in decision.report()


@pytest.mark.parametrize(
    ("the_lock", "facts", "why"),
    [
        (lock(), ProcessFacts(alive=True, pulumi=True, started=LOCKED_EPOCH - 0.5), "its Pulumi process is running"),
        (lock(), ProcessFacts(alive=True, pulumi=True, started=LOCKED_EPOCH + 0.5), "its Pulumi process is running"),  # within the clock's tick
        (lock(), ProcessFacts(alive=True, pulumi=True, started=None), "its Pulumi process is running"),
        (lock(timestamp=None), ProcessFacts(alive=True, pulumi=True, started=LOCKED_EPOCH + 60), "its Pulumi process is running"),
        (lock(hostname="builder-2"), None, "another host"),  # its pid means nothing here, even when gone
        (lock(hostname="builder-2"), ProcessFacts(alive=False), "another host"),
        (lock(pid=None), None, "not a lock file"),
    ],
)
def test_a_live_foreign_or_unreadable_lock_is_held(the_lock: LockFile, facts: ProcessFacts | None, why: str) -> None:
    decision = decide_lock([the_lock], HOST, {} if facts is None else {4242: facts})
    assert decision.verdict is LockVerdict.HELD and decision.held == (the_lock,) and decision.stale == ()
    assert why in decision.report()


def test_nothing_is_taken_over_while_any_lock_is_held() -> None:
    dead, live = lock("dead.json", pid=1), lock("live.json", pid=2)
    decision = decide_lock([live, dead], HOST, {2: ProcessFacts(alive=True, pulumi=True)})
    assert decision.verdict is LockVerdict.HELD and decision.stale == (dead,) and decision.held == (live,)


def test_lock_files_are_read_in_the_cli_format_and_anything_else_is_unreadable() -> None:
    document = {"pid": 4242, "username": "ci", "hostname": HOST, "timestamp": LOCKED_AT}
    assert lock_file("a.json", document) == lock()
    assert lock_file("a.json", {**document, "timestamp": "2026-12-04T23:14:01.123456789+00:00"}) == lock()
    assert lock_file("a.json", {**document, "timestamp": "yesterday"}).timestamp is None
    assert lock_file("a.json", {**document, "timestamp": "2026-12-04T23:14:01"}).timestamp is None  # no zone: unknown
    for bad in (None, [], "x", {**document, "pid": "4242"}, {**document, "pid": True}, {**document, "pid": 0}, {**document, "hostname": ""}, {"pid": 1}):
        assert lock_file("a.json", bad).pid is None


_LOCKS = st.lists(
    st.builds(
        LockFile,
        name=st.text("abc", min_size=1, max_size=3),
        pid=st.none() | st.integers(1, 6),
        hostname=st.sampled_from([HOST, "other"]),
        timestamp=st.none() | st.floats(0, 100),
    ),
    unique_by=lambda the_lock: the_lock.name,
    max_size=6,
)
_FACTS = st.dictionaries(
    st.integers(1, 6),
    st.builds(ProcessFacts, alive=st.booleans(), pulumi=st.booleans(), started=st.none() | st.floats(0, 100)),
)


@settings(derandomize=True, max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(locks=_LOCKS, facts=_FACTS)
def test_only_this_hosts_locks_of_no_running_pulumi_holder_are_ever_stale(locks: list[LockFile], facts: dict) -> None:
    decision = decide_lock(locks, HOST, facts)
    assert sorted(decision.stale + decision.held, key=lambda the_lock: the_lock.name) == sorted(locks, key=lambda the_lock: the_lock.name)
    for the_lock in decision.stale:
        holder = facts.get(the_lock.pid)
        assert the_lock.hostname == HOST and the_lock.pid is not None
        assert holder is None or not holder.alive or not holder.pulumi or (
            holder.started is not None and the_lock.timestamp is not None and holder.started > the_lock.timestamp
        )
    expected = LockVerdict.HELD if decision.held else LockVerdict.STALE if locks else LockVerdict.FREE
    assert decision.verdict is expected
