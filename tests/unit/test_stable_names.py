"""Stable names: a master keeps its name while its item exists; new items are named around the existing ones.

make_plan runs on fakes of the ports as two consecutive runs would: the first run's masters are recorded in the
stack's state (with the annotations the program gave them) and exist in the cluster, then the source changes.
"""

from __future__ import annotations

import pytest

from kecs_secrets.config import parse_config
from kecs_secrets.errors import DeletionGuardError
from kecs_secrets.incumbents import held_names
from kecs_secrets.layout import plan_layout
from kecs_secrets.model import ANNOTATION_SOURCE_ARN, ANNOTATION_SOURCE_NAME, Reference, StackState, StateObject
from kecs_secrets.naming import MAX_ROUNDS, assign_names, kubernetes_name
from kecs_secrets.planning import make_plan
from tests.unit.test_inventory import FakeSource, sm
from tests.unit.test_planning_renames import STACK, FakeCluster, NoFiles

MASTER_NS = "kecs-system"
WEB = "web-us-east-1"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:{}-AbCdEf"


class RecordedState:
    """StateReader: what Pulumi recorded of the previous run's objects (names, and the annotations it asked for)."""

    def __init__(self, objects):
        self.objects = tuple(sorted(objects))

    def read(self):
        return StackState(self.objects)


def run(names, previous=None, config=None):
    """One `up` over Secrets Manager items ``names``, after ``previous`` (the plan of the run before), if any."""
    objects, recorded = {}, []
    if previous is not None:
        for m in previous.layout.masters:
            labels = {"kecs.io/managed-by": "kecs", "kecs.io/source": m.item.source}
            objects[(m.kind, MASTER_NS, m.name)] = {"labels": labels, "annotations": dict(m.annotations)}
            recorded.append(StateObject(m.kind, MASTER_NS, m.name, f"urn:{m.name}", annotations=dict(m.annotations)))
        for r in previous.layout.replicas:
            objects[(r.kind, r.namespace, r.name)] = {"labels": dict(r.labels), "annotations": dict(r.annotations)}
            recorded.append(StateObject(r.kind, r.namespace, r.name, f"urn:{r.namespace}/{r.name}", annotations=dict(r.annotations)))
    settings = parse_config({"demand": {WEB: [ARN.format(n) for n in names if "/" in n]}, **(config or {})})
    return make_plan(settings, STACK, FakeSource([sm(n) for n in names]), FakeCluster(objects), NoFiles(), dry_run=False,
                     state=RecordedState(recorded))


def named(plan):
    return {m.item.name: m.name for m in plan.layout.masters}


def test_look_alikes_created_beside_existing_masters_move_none_of_them():
    """12 look-alikes (app<i>_db beside app<i>/db) once renamed 12 masters away from what KECS pods reference."""
    real = [f"app{i}/db" for i in range(12)]
    first = run(real)
    assert named(first) == {name: f"sm-app{i}-db" for i, name in enumerate(real)}
    second = run(real + [f"app{i}_db" for i in range(12)], previous=first)
    kept = named(second)
    for i in range(12):
        assert kept[f"app{i}/db"] == f"sm-app{i}-db", "the existing master keeps the name KECS pods reference"
        assert kept[f"app{i}_db"] == kubernetes_name("secretsmanager", f"app{i}_db", round=1)
    assert second.deletions == () and second.renamed == ()
    assert {(r.namespace, r.name) for r in second.layout.replicas} == {(WEB, f"sm-app{i}-db") for i in range(12)}
    # Each newcomer gets one line naming the KECS reference it cannot serve and who holds it.
    line = next(w for w in second.warnings if "'app0_db'" in w)
    assert line == (
        "KECS pods cannot be served secretsmanager item 'app0_db': they reference 'sm-app0-db', which secretsmanager item "
        "'app0/db' already holds (a master keeps its name while its item exists), so such a pod reads that item instead; "
        f"it is served as {kubernetes_name('secretsmanager', 'app0_db', round=1)!r}"
    )
    assert len(set(kept.values())) == 24


def test_a_squatter_on_an_existing_hashed_name_gets_a_hashed_name_of_its_own():
    """An item named exactly like another item's hashed name never takes it from the master that holds it."""
    pair = ["App/DB_pass", "app/db-pass"]
    first = run(pair)
    hashed = named(first)["App/DB_pass"]
    assert hashed == kubernetes_name("secretsmanager", "App/DB_pass", round=1)
    squatter = hashed.removeprefix("sm-")
    second = run([*pair, squatter], previous=first)
    assert named(second)["App/DB_pass"] == hashed
    assert named(second)["app/db-pass"] == named(first)["app/db-pass"]
    assert named(second)[squatter] == kubernetes_name("secretsmanager", squatter, round=1)
    assert second.deletions == ()
    assert any(w.startswith(f"KECS pods cannot be served secretsmanager item {squatter!r}: they reference {hashed!r}, "
                            "which secretsmanager item 'App/DB_pass' already holds") for w in second.warnings)


def test_an_existing_master_keeps_its_name_when_a_look_alike_of_it_comes_and_goes():
    first = run(["app/db"])
    second = run(["app/db", "app_db"], previous=first)
    third = run(["app/db"], previous=second)
    assert named(first)["app/db"] == named(second)["app/db"] == named(third)["app/db"] == "sm-app-db"
    assert third.deletions == (kubernetes_name("secretsmanager", "app_db", round=1),)


def _squatters(item, rounds):
    """Items named exactly like ``item``'s hashed names of rounds 1..rounds: they hold them on a fresh stack."""
    return [("secretsmanager", kubernetes_name(*item, round=r).removeprefix("sm-")) for r in range(1, rounds + 1)]


def test_four_and_more_colliding_items_never_raise():
    upper, lower = ("secretsmanager", "App/DB_pass"), ("secretsmanager", "app/db-pass")
    names = assign_names([upper, lower, *_squatters(upper, 3)])  # 3 rounds taken: once a NameCollisionError
    assert names[upper] == kubernetes_name(*upper, round=4)
    assert len(set(names.values())) == len(names) == 5


def test_an_item_with_every_round_taken_is_skipped_with_a_warning_and_the_rest_converges():
    upper, lower = ("secretsmanager", "App/DB_pass"), ("secretsmanager", "app/db-pass")
    squatters = _squatters(upper, MAX_ROUNDS)
    items = [upper, lower, *squatters]
    names = assign_names(items)
    assert upper not in names and set(names) == {lower, *squatters}
    arn = ARN.format("App/DB_pass")
    sources = [sm(name) for _, name in items]
    from kecs_secrets.inventory import read_inventory

    inventory, _ = read_inventory(FakeSource(sources), region="us-east-1")
    layout = plan_layout(inventory, [Reference(WEB, arn, "config"), Reference(WEB, "app/db-pass", "config")],
                         parse_config({}).layout_settings(STACK), "us-east-1")
    assert {m.item.name for m in layout.masters} == {name for _, name in items} - {"App/DB_pass"}
    assert [r.name for r in layout.replicas] == [names[lower]]
    assert (
        f"secretsmanager item 'App/DB_pass' skipped: other items hold every name it could have (KECS's 'sm-app-db-pass' "
        f"and {MAX_ROUNDS} hashed forms), so KECS pods referencing it are not served"
    ) in layout.warnings
    assert f"reference {arn!r} from config is not served: secretsmanager item 'App/DB_pass' has no name (skipped)" in layout.warnings


def test_existing_masters_keep_even_a_hashed_name_in_the_policy_s_set():
    """A held name is kept only if the naming rule can give it to that item: an earlier rule's name moves."""
    key = ("secretsmanager", "svc/db--main")
    assert assign_names([key], {key: "sm-svc-db-main"}) == {key: "sm-svc-db--main"}  # earlier rule: collapsed runs
    hashed = kubernetes_name(*key, round=5)
    assert assign_names([key], {key: hashed}) == {key: hashed}
    assert assign_names([key], {key: "sm-something-else"}) == {key: "sm-svc-db--main"}


def test_the_guard_counts_renamed_masters():
    """Masters renamed from an earlier naming rule (runs of separators collapsed) are deletions like any other."""
    names = [f"svc-{i}/db--main" for i in range(3)]
    objects = {}
    for i, n in enumerate(names):
        notes = {"kecs-secrets.io/stack": STACK, ANNOTATION_SOURCE_NAME: n, ANNOTATION_SOURCE_ARN: ARN.format(n)}
        objects[("Secret", MASTER_NS, f"sm-svc-{i}-db-main")] = {"labels": {"kecs.io/source": "secretsmanager"}, "annotations": notes}
    state = RecordedState(StateObject(k, ns, n, f"urn:{n}", annotations=m["annotations"]) for (k, ns, n), m in objects.items())
    with pytest.raises(DeletionGuardError, match=r"delete 3 masters \(limit 2\), 3 of them renamed"):
        make_plan(parse_config({"maxMasterDeletions": 2}), STACK, FakeSource([sm(n) for n in names]), FakeCluster(objects),
                  NoFiles(), dry_run=False, state=state)
    plan = make_plan(parse_config({"maxMasterDeletions": 3}), STACK, FakeSource([sm(n) for n in names]), FakeCluster(objects),
                     NoFiles(), dry_run=False, state=state)
    assert len(plan.renamed) == 3 and len(plan.deletions) == 3


def test_held_names_come_from_the_state_s_own_record_only():
    notes = {ANNOTATION_SOURCE_NAME: "app/db", ANNOTATION_SOURCE_ARN: ARN.format("app/db")}
    objects = [
        StateObject("Secret", MASTER_NS, "sm-app-db", annotations=notes),
        StateObject("Secret", WEB, "sm-other", annotations={**notes, ANNOTATION_SOURCE_NAME: "other"}),  # a replica
        StateObject("Secret", MASTER_NS, "sm-x", annotations={ANNOTATION_SOURCE_NAME: "x"}),  # no ARN: holds nothing
        StateObject("ConfigMap", MASTER_NS, "ssm-p", annotations={ANNOTATION_SOURCE_NAME: "/p",
                                                                  ANNOTATION_SOURCE_ARN: "arn:aws:ssm:us-east-1:1:parameter/p"}),
    ]
    assert held_names(objects, MASTER_NS) == {("secretsmanager", "app/db"): "sm-app-db", ("ssm", "/p"): "ssm-p"}


def test_a_hashed_name_is_kept_after_the_look_alike_is_gone_and_the_warning_says_why():
    """Neither of two look-alikes on a fresh stack gets their KECS name; the survivor keeps its hashed name."""
    first = run(["App/DB_pass", "app/db-pass"])
    hashed = named(first)["App/DB_pass"]
    second = run(["App/DB_pass"], previous=first)
    assert named(second) == {"App/DB_pass": hashed}
    assert second.deletions == (named(first)["app/db-pass"],)
    assert (
        "KECS pods cannot be served secretsmanager item 'App/DB_pass': they reference 'sm-app-db-pass' and its master "
        f"keeps the name it was given earlier (a master keeps its name while its item exists); it is served as {hashed!r}"
    ) in second.warnings
