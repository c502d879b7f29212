"""The watch mode's scheduling decisions: coalescing, never two updates at once, backoff with jitter, staleness."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kecs_secrets.focus import Focus
from kecs_secrets.watch import IMMEDIATE, Backoff, Scheduler, Trigger

PROPERTY = settings(derandomize=True, max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def scheduler(seed: int = 7, **backoff: float) -> Scheduler:
    return Scheduler(random.Random(seed).random, Backoff(**backoff))


def test_triggers_during_an_update_coalesce_into_exactly_one_next_update() -> None:
    watch = scheduler()
    watch.trigger(Trigger.POD_DEMAND, 0.0)
    first = watch.start(0.5)
    assert dict(first.triggers) == {Trigger.POD_DEMAND: 0.0}
    for at, kind in [(1.0, Trigger.POD_DEMAND), (1.5, Trigger.SOURCE_CHANGE), (2.0, Trigger.POD_DEMAND), (2.5, Trigger.RESYNC)]:
        watch.trigger(kind, at)
        assert not watch.due(at)  # the running update is never joined by a second one
    assert watch.finish(3.0, succeeded=True).succeeded
    second = watch.start(3.0)
    assert dict(second.triggers) == {Trigger.POD_DEMAND: 1.0, Trigger.SOURCE_CHANGE: 1.5, Trigger.RESYNC: 2.5}
    watch.finish(4.0, succeeded=True)
    assert not watch.pending and watch.next_start() is None and not watch.due(100.0)


def test_start_is_refused_while_an_update_runs_or_nothing_is_pending() -> None:
    watch = scheduler()
    with pytest.raises(RuntimeError, match="no update is due"):
        watch.start(0.0)
    with pytest.raises(RuntimeError, match="no update is running"):
        watch.finish(0.0, succeeded=True)
    watch.trigger(Trigger.MANUAL, 0.0)
    watch.start(0.0)
    watch.trigger(Trigger.MANUAL, 1.0)
    with pytest.raises(RuntimeError, match="no update is due"):
        watch.start(1.0)


def test_a_failure_puts_its_triggers_back_and_waits_the_backoff_which_a_success_resets() -> None:
    watch = scheduler(base=2.0, factor=2.0, cap=60.0, jitter=0.0)
    watch.trigger(Trigger.SOURCE_CHANGE, 0.0)
    watch.start(0.0)
    watch.trigger(Trigger.POD_DEMAND, 1.0)
    failed = watch.finish(3.0, succeeded=False)
    assert (failed.failures, failed.retry_at, failed.duration) == (1, 5.0, 3.0)
    assert dict(watch.pending) == {Trigger.SOURCE_CHANGE: 0.0, Trigger.POD_DEMAND: 1.0}
    assert watch.next_start() == 5.0 and not watch.due(4.9) and watch.due(5.0)
    watch.trigger(Trigger.POD_DEMAND, 4.0)  # a new trigger does not cut the backoff short
    assert not watch.due(4.5)
    watch.start(5.0)
    assert watch.finish(6.0, succeeded=False).retry_at == 6.0 + 4.0  # base * factor
    watch.start(10.0)
    ok = watch.finish(11.0, succeeded=True)
    assert (ok.failures, ok.retry_at, watch.failures) == (0, None, 0)
    watch.trigger(Trigger.FILES, 12.0)
    assert watch.due(12.0)  # no backoff left after a success


def test_a_manual_trigger_does_not_wait_for_the_backoff() -> None:
    watch = scheduler(base=30.0, jitter=0.0)
    watch.trigger(Trigger.RESYNC, 0.0)
    watch.start(0.0)
    watch.finish(1.0, succeeded=False)
    assert not watch.due(2.0)
    watch.trigger(Trigger.MANUAL, 2.0)
    assert watch.due(2.0) and watch.next_start() == 0.0


def test_staleness_counts_from_the_oldest_unserved_trigger_until_a_success_serves_it() -> None:
    watch = scheduler(jitter=0.0)
    assert watch.staleness(5.0) == 0.0
    watch.trigger(Trigger.POD_DEMAND, 10.0)
    watch.trigger(Trigger.POD_DEMAND, 12.0)
    assert watch.staleness(13.0) == 3.0
    watch.start(13.0)
    watch.trigger(Trigger.SOURCE_CHANGE, 14.0)
    assert watch.staleness(15.0) == 5.0  # the running update has not served the pod yet
    watch.finish(16.0, succeeded=False)
    assert watch.staleness(16.0) == 6.0  # nor has a failed one
    watch.start(17.0)
    watch.finish(18.0, succeeded=True)
    assert watch.staleness(20.0) == 0.0


def test_backoff_rejects_settings_that_would_not_back_off() -> None:
    for bad in ({"base": 0.0}, {"factor": 0.5}, {"cap": 0.5}, {"jitter": 1.0}, {"jitter": -0.1}):
        with pytest.raises(ValueError, match="backoff"):
            Backoff(**bad)
    with pytest.raises(ValueError, match="jitter source"):
        Backoff().delay(1, 1.0)


@PROPERTY
@given(
    failures=st.integers(min_value=1, max_value=5000),
    unit=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    base=st.floats(min_value=0.01, max_value=10.0),
    factor=st.floats(min_value=1.0, max_value=4.0),
    jitter=st.floats(min_value=0.0, max_value=0.99),
)
def test_backoff_grows_within_its_bounds(failures: int, unit: float, base: float, factor: float, jitter: float) -> None:
    backoff = Backoff(base=base, factor=factor, cap=100.0, jitter=jitter)
    # min(cap, base * factor**(failures-1)) computed in logarithms, where it cannot overflow
    ceiling = 100.0 if (failures - 1) * math.log(factor) >= math.log(100.0 / base) else base * factor ** (failures - 1)
    delay = backoff.delay(failures, unit)
    assert ceiling * (1 - jitter) <= delay * (1 + 1e-9) and delay <= ceiling * (1 + 1e-9)
    assert backoff.ceiling(failures) <= backoff.ceiling(failures + 1)


_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("trigger"), st.sampled_from(list(Trigger))),
        st.tuples(st.just("run"), st.booleans()),
        st.tuples(st.just("wait"), st.floats(min_value=0.0, max_value=50.0)),
    ),
    max_size=60,
)


@PROPERTY
@given(steps=_STEPS, seed=st.integers(min_value=0, max_value=2**32))
def test_any_sequence_serves_every_trigger_once_never_overlaps_and_backs_off(steps: list, seed: int) -> None:
    """Whatever arrives when: at most one update runs, each trigger is served by exactly the next update that
    starts after it, a retry after n failures waits within the backoff's bounds, and staleness is the age of the
    oldest trigger no successful update served."""
    backoff = Backoff(base=1.0, factor=2.0, cap=20.0, jitter=0.5)
    watch = Scheduler(random.Random(seed).random, backoff)
    now, unserved, failures, last_failure = 0.0, {}, 0, None
    for step, arg in steps:
        if step == "trigger":
            watch.trigger(arg, now)
            unserved.setdefault(arg, now)
        elif step == "wait":
            now += arg
        elif watch.due(now):
            assert watch.running is None
            if last_failure is not None and not IMMEDIATE & watch.pending.keys():
                ceiling = backoff.ceiling(failures)
                assert last_failure + ceiling * (1 - backoff.jitter) <= watch.next_start() <= last_failure + ceiling + 1e-9
            cycle = watch.start(now)
            assert dict(cycle.triggers) == unserved and not watch.pending
            assert watch.staleness(now) == _staleness(now, unserved)
            with pytest.raises(RuntimeError):
                watch.start(now)
            now += 1.0
            outcome = watch.finish(now, succeeded=arg)
            failures = 0 if arg else failures + 1
            last_failure = None if arg else now
            assert outcome.failures == watch.failures == failures
            if arg:
                unserved = {}
        else:
            assert not unserved or watch.next_start() > now
        assert dict(watch.pending) == unserved
        assert watch.staleness(now) == _staleness(now, unserved)


def _staleness(now: float, unserved: dict) -> float:
    """The age of the oldest unserved demand trigger (the periodic and follow-up full updates are not demand)."""
    demand = [since for kind, since in unserved.items() if kind not in (Trigger.RESYNC, Trigger.FOLLOW_UP, Trigger.RECOVERED)]
    return now - min(demand) if demand else 0.0


def test_focused_triggers_coalesce_into_one_focused_update_and_any_full_trigger_makes_it_full() -> None:
    watch = Scheduler(lambda: 0.0)
    watch.trigger(Trigger.POD_DEMAND, 1.0, Focus(namespaces=frozenset({"a"})))
    watch.trigger(Trigger.SOURCE_CHANGE, 2.0, Focus(masters=frozenset({"sm-x"})))
    watch.trigger(Trigger.POD_DEMAND, 3.0, Focus(namespaces=frozenset({"b"})))
    cycle = watch.start(3.0)
    assert cycle.focus == Focus(frozenset({"a", "b"}), frozenset({"sm-x"}))
    watch.trigger(Trigger.POD_DEMAND, 4.0, Focus(namespaces=frozenset({"c"})))
    watch.finish(5.0, succeeded=False)  # the failed update's focus is pending again, with the new one
    watch.trigger(Trigger.FILES, 6.0)
    retry = watch.start(watch.next_start())
    assert retry.focus is None, "a trigger without a focus (files) makes the update full"
    watch.finish(8.0, succeeded=True)
    watch.trigger(Trigger.POD_DEMAND, 9.0, Focus(namespaces=frozenset({"d"})))
    assert watch.start(9.0).focus == Focus(namespaces=frozenset({"d"})), "a full update leaves no focus behind"


def test_a_follow_up_due_later_waits_and_is_not_staleness() -> None:
    watch = Scheduler(lambda: 0.0)
    watch.trigger(Trigger.FOLLOW_UP, 60.0)
    assert not watch.due(30.0) and watch.next_start() == 60.0
    assert watch.staleness(70.0) == 0.0
    watch.trigger(Trigger.POD_DEMAND, 65.0, Focus(namespaces=frozenset({"a"})))
    assert watch.staleness(70.0) == 5.0
    assert watch.start(70.0).focus == Focus(namespaces=frozenset({"a"})), "the pod first"
    watch.finish(71.0, succeeded=True)
    assert watch.start(71.0).focus is None and watch.staleness(71.0) == 0.0


def test_waiting_triggers_are_those_that_happened_not_the_full_updates_scheduled_for_later() -> None:
    watch = Scheduler(lambda: 0.0)
    watch.trigger(Trigger.RESYNC, 600.0)
    watch.trigger(Trigger.FOLLOW_UP, 60.0)
    assert watch.waiting(30.0) == 0
    watch.trigger(Trigger.POD_DEMAND, 31.0, Focus(namespaces=frozenset({"a"})))
    watch.trigger(Trigger.POD_DEMAND, 32.0, Focus(namespaces=frozenset({"b"})))  # coalesces with the first
    assert watch.waiting(33.0) == 1 and watch.waiting(61.0) == 2
    assert watch.start(61.0).focus == Focus(namespaces=frozenset({"a", "b"}))  # the pods first
    assert watch.waiting(62.0) == 1  # the follow-up waits for the next update


def test_a_future_full_update_is_not_taken_by_an_earlier_focused_one_and_a_full_one_serves_it() -> None:
    watch = Scheduler(lambda: 0.0)
    watch.trigger(Trigger.RESYNC, 600.0)
    watch.trigger(Trigger.SOURCE_CHANGE, 10.0, Focus(masters=frozenset({"sm-x"})))
    cycle = watch.start(10.0)
    assert dict(cycle.triggers) == {Trigger.SOURCE_CHANGE: 10.0} and cycle.focus == Focus(masters=frozenset({"sm-x"}))
    watch.finish(12.0, succeeded=True)
    assert dict(watch.pending) == {Trigger.RESYNC: 600.0}, "a focused update leaves the periodic one waiting"
    watch.trigger(Trigger.FILES, 20.0)
    assert watch.start(20.0).focus is None
    watch.finish(22.0, succeeded=True)
    assert not watch.pending, "a full update serves the periodic one still waiting"


def test_focused_demand_goes_before_a_periodic_full_update_due_at_the_same_time_but_not_before_files() -> None:
    watch = Scheduler(lambda: 0.0)
    watch.trigger(Trigger.FOLLOW_UP, 5.0)
    watch.trigger(Trigger.POD_DEMAND, 6.0, Focus(namespaces=frozenset({"a"})))
    first = watch.start(7.0)
    assert dict(first.triggers) == {Trigger.POD_DEMAND: 6.0} and first.focus == Focus(namespaces=frozenset({"a"}))
    watch.finish(8.0, succeeded=True)
    assert watch.due(8.0) and watch.start(8.0).focus is None, "the periodic full update runs right after"
    watch.finish(9.0, succeeded=True)
    watch.trigger(Trigger.POD_DEMAND, 10.0, Focus(namespaces=frozenset({"b"})))
    watch.trigger(Trigger.FILES, 10.0)
    assert watch.start(10.0).focus is None, "a changed file is a full update that serves the pod too"
