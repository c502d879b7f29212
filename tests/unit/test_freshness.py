"""kept_data: which masters and replicas keep the data their state holds (and so need no value read)."""

from __future__ import annotations

from kecs_secrets.config import LayoutSettings
from kecs_secrets.freshness import kept_data
from kecs_secrets.layout import Layout, plan_layout
from kecs_secrets.model import ANNOTATION_SOURCE_VERSION, StateObject
from tests.unit.conftest import REGION, parameter, ref, secret

MASTER_NS = "kecs-system"
WEB, BATCH = "web-us-east-1", "batch-us-east-1"


def layout(db_version: str = "v-1") -> Layout:
    items = [secret("db", version=db_version), parameter("/app/flag", "String")]
    demand = [ref(WEB, "db"), ref(BATCH, "db"), ref(WEB, "/app/flag")]
    return plan_layout(items, demand, LayoutSettings(stack="kecs-secrets/dev"), REGION)


def recorded(plan: Layout, *, has_data: bool = True) -> list[StateObject]:
    """The state an `up` of ``plan`` leaves: every master and replica with its annotations and data."""
    objects = [StateObject(m.kind, MASTER_NS, m.name, annotations=dict(m.annotations), has_data=has_data) for m in plan.masters]
    objects += [StateObject(r.kind, r.namespace, r.name, annotations=dict(r.annotations), has_data=has_data) for r in plan.replicas]
    return objects


def live(plan: Layout) -> dict:
    objects = {(m.kind, MASTER_NS, m.name): {"name": m.name, "annotations": dict(m.annotations)} for m in plan.masters}
    objects.update({(r.kind, r.namespace, r.name): {"name": r.name, "annotations": dict(r.annotations)} for r in plan.replicas})
    return objects


def every_key(plan: Layout) -> frozenset:
    return frozenset({(m.kind, MASTER_NS, m.name) for m in plan.masters} | {(r.kind, r.namespace, r.name) for r in plan.replicas})


def test_nothing_changed_every_master_and_replica_keeps_its_data():
    plan = layout()
    assert kept_data(plan, MASTER_NS, recorded(plan), live(plan)) == every_key(plan)
    assert kept_data(plan, MASTER_NS, recorded(plan)) == every_key(plan)  # without a cluster listing too


def test_a_new_version_takes_that_master_and_its_replicas_from_the_reader_and_nothing_else():
    before, after = layout("v-1"), layout("v-2")
    kept = kept_data(after, MASTER_NS, recorded(before), live(before))
    db = {("Secret", ns, "sm-db") for ns in (MASTER_NS, WEB, BATCH)}
    assert every_key(after) - kept == db


def test_an_empty_state_keeps_nothing():
    plan = layout()
    assert kept_data(plan, MASTER_NS, [], live(plan)) == frozenset()


def test_an_object_recorded_without_data_keeps_nothing():
    plan = layout()
    assert kept_data(plan, MASTER_NS, recorded(plan, has_data=False), live(plan)) == frozenset()


def test_an_object_missing_from_the_cluster_or_of_another_version_there_takes_the_readers_value():
    plan = layout()
    cluster = live(plan)
    del cluster[("Secret", WEB, "sm-db")]
    cluster[("Secret", BATCH, "sm-db")]["annotations"] = {ANNOTATION_SOURCE_VERSION: "someone-else"}
    kept = kept_data(plan, MASTER_NS, recorded(plan), cluster)
    assert every_key(plan) - kept == {("Secret", WEB, "sm-db"), ("Secret", BATCH, "sm-db")}


def test_a_replica_keeps_its_data_only_with_its_master():
    plan = layout()
    cluster = live(plan)
    del cluster[("Secret", MASTER_NS, "sm-db")]
    kept = kept_data(plan, MASTER_NS, recorded(plan), cluster)
    assert every_key(plan) - kept == {("Secret", ns, "sm-db") for ns in (MASTER_NS, WEB, BATCH)}


def test_a_new_replica_of_an_unchanged_master_takes_the_readers_value_alone():
    before = layout()
    after = plan_layout(
        [secret("db"), parameter("/app/flag", "String")],
        [ref(WEB, "db"), ref(BATCH, "db"), ref(WEB, "/app/flag"), ref(BATCH, "/app/flag")],
        LayoutSettings(stack="kecs-secrets/dev"),
        REGION,
    )
    kept = kept_data(after, MASTER_NS, recorded(before), live(before))
    assert every_key(after) - kept == {("Secret", BATCH, "ssm-app-flag")}


def test_a_changed_value_annotation_in_state_is_not_trusted():
    plan = layout()
    state = recorded(plan)
    state[0] = StateObject(state[0].kind, state[0].namespace, state[0].name, annotations={}, has_data=True)
    assert (state[0].kind, MASTER_NS, state[0].name) not in kept_data(plan, MASTER_NS, state, live(plan))
