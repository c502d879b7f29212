"""An object never holds data older than the version its annotations name: the stamp (last change to the microsecond)
tells a recreated item from the one before it, and an object whose new value could not be used keeps naming the
version whose data it holds."""

from __future__ import annotations

import dataclasses

from kecs_secrets.config import LayoutSettings
from kecs_secrets.freshness import annotations_holding, held_versions, kept_data
from kecs_secrets.layout import Layout, plan_layout
from kecs_secrets.model import (
    ANNOTATION_LAST_CHANGED,
    ANNOTATION_LAST_REPLICATED,
    ANNOTATION_SOURCE_ARN,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_VERSION,
    StateObject,
    StateValue,
)
from tests.unit.conftest import REGION, parameter, ref

MASTER_NS = "kecs-system"
WEB = "web-us-east-1"
FIRST, AGAIN = "2025-08-12T13:38:45.233000Z", "2025-08-12T13:38:45.871000Z"  # the same second


def layout(stamp: str) -> Layout:
    item = dataclasses.replace(parameter("/app/token", version="1", changed="2025-08-12T13:38:45Z"), stamp=stamp)
    return plan_layout([item], [ref(WEB, "/app/token")], LayoutSettings(stack="kecs-secrets/dev"), REGION)


def state_of(plan: Layout) -> tuple[list[StateObject], dict]:
    objects = [StateObject(m.kind, MASTER_NS, m.name, annotations=dict(m.annotations), has_data=True) for m in plan.masters]
    objects += [StateObject(r.kind, r.namespace, r.name, annotations=dict(r.annotations), has_data=True) for r in plan.replicas]
    live = {o.key: {"name": o.name, "annotations": dict(o.annotations)} for o in objects}
    return objects, live


def reader(plan: Layout, stamp: str | None) -> list[StateValue]:
    return [StateValue(m.item.arn, m.item.version, ("value",), m.name, stamp) for m in plan.masters]


def test_a_parameter_made_again_at_the_same_version_in_the_same_second_takes_the_readers_value():
    before = layout(FIRST)
    objects, live = state_of(before)
    assert len(kept_data(before, MASTER_NS, objects, live, reader(before, FIRST))) == 2
    again = layout(AGAIN)
    assert [m.annotations for m in again.masters] == [m.annotations for m in before.masters], "the annotations cannot tell"
    assert kept_data(again, MASTER_NS, objects, live, reader(before, FIRST)) == frozenset()


def test_a_state_without_stamps_keeps_what_it_kept():
    """States made before stamps were recorded: the upgrade changes nothing and reads nothing."""
    plan = layout(FIRST)
    objects, live = state_of(plan)
    assert len(kept_data(plan, MASTER_NS, objects, live, reader(plan, None))) == 2


def test_an_object_holding_an_older_version_names_that_version():
    plan = layout(AGAIN)
    master, replica = plan.masters[0], plan.replicas[0]
    held = ["arn:aws:ssm:us-east-1:000000000000:parameter/app/token", "7", FIRST]
    named = annotations_holding(master.annotations, held)
    assert named == {
        **master.annotations, ANNOTATION_SOURCE_ARN: held[0], ANNOTATION_SOURCE_VERSION: "7", ANNOTATION_LAST_CHANGED: "2025-08-12T13:38:45Z",
    }
    named = annotations_holding(replica.annotations, held)
    assert named == {**replica.annotations, ANNOTATION_SOURCE_VERSION: "7", ANNOTATION_LAST_REPLICATED: "2025-08-12T13:38:45Z"}
    assert ANNOTATION_SOURCE_ARN not in named
    assert annotations_holding(master.annotations, None) == master.annotations


def test_an_object_holding_no_data_names_no_version():
    master = layout(FIRST).masters[0]
    named = annotations_holding(master.annotations, ["", "", ""])
    assert named[ANNOTATION_SOURCE_VERSION] == "" and named[ANNOTATION_LAST_CHANGED] == "" and named[ANNOTATION_SOURCE_ARN] == ""
    assert named[ANNOTATION_SOURCE_NAME] == "/app/token"


def test_an_object_that_keeps_an_earlier_version_keeps_its_data_and_annotations_while_the_same_version_is_planned():
    """The reader could not use version 2 and kept version 1: while the run plans version 2 again, the reader will not
    read it again, so the master and its replica keep their data (no dependency on the reader: an exact preview) and
    keep naming version 1; a run that plans yet another version takes them from the reader."""
    earlier = dataclasses.replace(layout(FIRST).masters[0].item, version="1")
    planned = dataclasses.replace(earlier, version="2", stamp=AGAIN)
    demand = [ref(WEB, "/app/token")]
    plan = plan_layout([planned], demand, LayoutSettings(stack="kecs-secrets/dev"), REGION)
    master = plan.masters[0]
    held = [earlier.arn, "1", FIRST]
    # What the problem run left: objects naming version 1, a reader holding version 1 for the asked version 2.
    objects = [StateObject(master.kind, MASTER_NS, master.name, annotations=annotations_holding(master.annotations, held), has_data=True)]
    objects += [StateObject(r.kind, r.namespace, r.name, annotations=annotations_holding(r.annotations, held), has_data=True)
                for r in plan.replicas]
    live = {o.key: {"name": o.name, "annotations": dict(o.annotations)} for o in objects}
    values = [StateValue(earlier.arn, "1", ("value",), master.name, FIRST, (planned.arn, "2", AGAIN))]
    assert held_versions(plan, values) == {master.name: held}
    assert kept_data(plan, MASTER_NS, objects, live, values) == {o.key for o in objects}

    newer = plan_layout([dataclasses.replace(planned, version="3")], demand, LayoutSettings(stack="kecs-secrets/dev"), REGION)
    assert held_versions(newer, values) == {}
    assert kept_data(newer, MASTER_NS, objects, live, values) == frozenset()
