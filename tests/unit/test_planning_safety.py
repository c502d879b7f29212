"""``make_plan`` with fakes of every port: who may ask, what an update needs, what is deleted and whose it is."""

from __future__ import annotations

import pytest

from kecs_secrets.config import parse_config
from kecs_secrets.errors import (
    ConfigError,
    DeletionGuardError,
    LayoutError,
    OwnershipError,
    ReferenceResolutionError,
    UnmanagedObjectError,
)
from kecs_secrets.model import StackState, StateObject, StateValue
from kecs_secrets.ownership import ANNOTATION_MARK, MARK_HEX_LENGTH
from kecs_secrets.planning import make_plan
from tests.unit.test_inventory import FakeSource, param, sm

STACK = "kecs-secrets/dev"
OURS = {"kecs-secrets.io/stack": STACK}
MARK = "0" * MARK_HEX_LENGTH  # the program cannot tell a valid mark from another: only the sweep, with the key, can
MARKED = {**OURS, ANNOTATION_MARK: MARK}
ECS = {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": "web", "kecs.dev/region": "us-east-1"}
DB_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"


class FakeCluster:
    """The ClusterReader port over a dict of objects: {(kind, namespace or ""): [object, ...]}."""

    def __init__(self, namespaces=None, objects=None, pods=()):
        self._namespaces = namespaces if namespaces is not None else {"kecs-system": {}, "web-us-east-1": ECS, "attacker": {}}
        self._objects = objects or {}
        self._pods = list(pods)

    def namespaces(self):
        return self._namespaces

    def pods(self):
        return self._pods

    def objects(self, kind, namespace):
        return self._objects.get((kind, namespace or ""), [])


class FakeFiles:
    def documents(self, pattern):
        return []


class FakeState:
    def __init__(self, objects=(), values=()):
        self.state = StackState(tuple(objects), tuple(values))

    def read(self):
        return self.state


def obj(name, uid="u-1", annotations=None):
    return {"metadata": {"name": name, "uid": uid, "annotations": OURS if annotations is None else annotations}}


SOURCE = FakeSource(secrets=[sm("db"), sm("api")], parameters=[param("/app/pw", "SecureString")])


def plan(config, cluster=None, state=None, dry_run=False, source=SOURCE):
    settings = parse_config({"demand": {"web-us-east-1": ["db"]}, **config})
    return make_plan(settings, STACK, source, cluster if cluster is not None else FakeCluster(), FakeFiles(),
                     dry_run=dry_run, state=state if state is not None else FakeState(), warn=lambda _: None)


def test_check_cluster_false_makes_only_an_offline_preview():
    with pytest.raises(ConfigError, match="checkCluster=false only allows an offline preview"):
        make_plan(parse_config({"checkCluster": False}), STACK, SOURCE, None, FakeFiles(), dry_run=False, state=FakeState())
    preview = make_plan(parse_config({"checkCluster": False}), STACK, SOURCE, None, FakeFiles(), dry_run=True, state=FakeState())
    assert [m.name for m in preview.layout.masters] == ["sm-api", "sm-db", "ssm-app-pw"]


def test_config_demand_for_a_namespace_without_kecs_labels_is_refused_unless_allowed():
    with pytest.raises(LayoutError, match=r"namespace 'attacker' \(from config kecs-secrets:demand.attacker\[0\]\) is not an ECS cluster"):
        plan({"demand": {"attacker": ["db"]}})
    allowed = plan({"demand": {"attacker": ["db"]}, "allowedNamespaces": ["attacker"]})
    assert [r.namespace for r in allowed.layout.replicas] == ["attacker"]


def test_pod_demand_counts_only_in_ecs_cluster_namespaces():
    pods = [
        {"metadata": {"namespace": "attacker", "name": "evil", "annotations": {"kecs.dev/secret-0-arn": "c:E:api"}}},
        {"metadata": {"namespace": "web-us-east-1", "name": "ok", "annotations": {"kecs.dev/secret-0-arn": "c:E:/app/pw"}}},
        {"metadata": {"namespace": "web-us-east-1", "name": "bad", "annotations": {"kecs.dev/secret-0-arn": "nonsense"}}},
    ]
    result = plan({"podDemand": True}, FakeCluster(pods=pods))
    assert {(r.namespace, r.name) for r in result.layout.replicas} == {("web-us-east-1", "sm-db"), ("web-us-east-1", "ssm-app-pw")}
    assert any(w.startswith("pod attacker/evil ignored") for w in result.warnings)
    assert any("pod web-us-east-1/bad annotation" in w for w in result.warnings)


def test_an_object_in_state_recreated_by_someone_else_stops_the_run_naming_it():
    state = FakeState([StateObject("Secret", "web-us-east-1", "sm-api", "urn:pulumi:dev::p::kubernetes:core/v1:Secret::web/sm-api", "u-1")])
    theirs = FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-api", "u-2", annotations={})]})
    with pytest.raises(OwnershipError) as caught:
        plan({}, theirs, state)
    message = str(caught.value)
    assert message.startswith("Secret web-us-east-1/sm-api: in this stack's state and due for deletion, but the live object is not")
    assert "pulumi state delete 'urn:pulumi:dev::p::kubernetes:core/v1:Secret::web/sm-api' --yes" in message
    # Recreated with our annotation copied but another uid: not provably ours either.
    copied = FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-api", "u-2")]})
    with pytest.raises(OwnershipError):
        plan({}, copied, state)
    # Ours (same uid), or already gone: deleted as planned.
    plan({}, FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-api", "u-1")]}), state)
    plan({}, FakeCluster(), state)


def test_leftovers_of_an_interrupted_run_are_deleted_and_counted_but_not_other_stacks_objects():
    state = FakeState([StateObject("Secret", "kecs-system", "sm-db", "urn:db", "u-db")])
    cluster = FakeCluster(objects={
        ("Secret", "kecs-system"): [
            obj("sm-db", "u-db"), obj("sm-gone", "u-gone", MARKED), obj("sm-api", "u-api", MARKED),
            obj("sm-theirs", "u-t", annotations={"kecs-secrets.io/stack": "kecs-secrets/prod", ANNOTATION_MARK: MARK}),
            obj("unrelated", "u-x", annotations={}),
        ],
        ("ServiceAccount", "web-us-east-1"): [obj("kecs-secret-reader-web-us-east-1-old", "u-sa", MARKED)],
        ("ServiceAccount", "kecs-system"): [obj("kecs-secret-reader-kecs-system", "u-sa2", MARKED)],
        ("ClusterRole", ""): [obj("kecs-system-secret-reader", "u-cr", MARKED)],
    })
    result = plan({}, cluster, state)
    # The sweep verifies each candidate's mark under the stack's key; the program hands over names its naming makes.
    assert result.leftovers == (
        ("Secret", "kecs-system", "sm-gone", "u-gone", MARK),
    )
    assert result.deletions == ("sm-gone",)  # a master this run really deletes; sm-api is wanted, so it is taken back


def test_the_sweep_never_gets_a_name_the_naming_cannot_make_nor_an_object_without_a_mark():
    """A cloned ClusterRole or a copied replica YAML carries the stack annotation (and maybe a mark): left alone, named."""
    cluster = FakeCluster(objects={
        ("Secret", "kecs-system"): [obj("sm-copied", "u-1"), obj("my-app-config", "u-2", MARKED)],
        ("Secret", "web-us-east-1"): [obj("sm-db-copy", "u-3", MARKED)],
        ("ConfigMap", "web-us-east-1"): [obj("settings", "u-4", MARKED)],
        ("ClusterRole", ""): [obj("cloned-reader", "u-5", MARKED)],
        ("RoleBinding", "kecs-system"): [obj("admin-binding", "u-7", MARKED)],
        ("ServiceAccount", "web-us-east-1"): [obj("default", "u-8", MARKED)],
    })
    result = plan({}, cluster)
    # Only a name the naming can make, with a mark, is a candidate (the sweep then verifies the mark itself).
    assert result.leftovers == (("Secret", "web-us-east-1", "sm-db-copy", "u-3", MARK),)
    assert result.deletions == ()
    (stray,) = [w for w in result.warnings if "left alone" in w]
    for shown in ("Secret kecs-system/sm-copied", "Secret kecs-system/my-app-config", "ConfigMap web-us-east-1/settings",
                  "ClusterRole cloned-reader", "RoleBinding kecs-system/admin-binding", "ServiceAccount web-us-east-1/default"):
        assert shown in stray


REPLICA = ("Secret", "web-us-east-1", "sm-db")


def skipped(result, key=REPLICA):
    """The replica is not made, and one warning names the object in its way."""
    replicas = {(r.kind, r.namespace, r.name) for r in result.layout.replicas}
    return key not in replicas and any(f"{key[0]} {key[1]}/{key[2]} already exists" in w for w in result.warnings)


def test_adoption_never_takes_an_object_another_stack_marks_as_its_own():
    theirs = {"kecs-secrets.io/stack": "kecs-secrets/prod", ANNOTATION_MARK: MARK}
    cluster = FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-db", "u-t", theirs)]})
    # In a tenant namespace it skips that replica only (isolation); adoption refuses it.
    assert skipped(plan({}, cluster))
    with pytest.raises(OwnershipError, match=r"another stack marks them as its own: Secret web-us-east-1/sm-db \(stack kecs-secrets/prod\)"):
        plan({"adoptExisting": True}, cluster)
    # Under a master's name it stops the run, adoption or not.
    in_masters = FakeCluster(objects={("Secret", "kecs-system"): [obj("sm-db", "u-t", theirs)]})
    for adopt in (False, True):
        with pytest.raises(OwnershipError, match=r"another stack marks them as its own: Secret kecs-system/sm-db \(stack kecs-secrets/prod\)"):
            plan({"adoptExisting": adopt}, in_masters)
    # Unmarked (another stack's annotation alone, which anyone can write): adoptExisting may take it, as before.
    unmarked = FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-db", "u-t", {"kecs-secrets.io/stack": "x/y"})]})
    assert skipped(plan({}, unmarked))
    assert plan({"adoptExisting": True}, unmarked).adopt == frozenset({REPLICA})


def test_our_annotation_alone_does_not_make_a_wanted_object_ours_outside_the_state():
    """A copy (annotation, no mark) under a wanted name is someone else's object: in the way unless adopted."""
    cluster = FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-db", "u-c")]})
    assert skipped(plan({}, cluster))
    with pytest.raises(UnmanagedObjectError, match="Secret kecs-system/sm-db"):
        plan({}, FakeCluster(objects={("Secret", "kecs-system"): [obj("sm-db", "u-c")]}))
    # In the state (a stack made before marks): its own, and the upgrade run marks it.
    state = FakeState([StateObject("Secret", "web-us-east-1", "sm-db", "urn:x", "u-c")])
    result = plan({}, cluster, state)
    assert (result.adopt, result.claims) == (frozenset(), {})
    # With a mark, outside the state (an interrupted run's, or a copy): a claim, taken over only if the mark verifies.
    marked = FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-db", "u-c", MARKED)]})
    result = plan({}, marked)
    assert (result.adopt, result.claims) == (frozenset(), {REPLICA: MARK})


def test_a_copy_carrying_the_mark_the_state_records_for_another_object_is_in_the_way_not_a_claim():
    """A tenant copies a replica of its own namespace (its mark included) under a name the stack comes to want: the mark
    is provably another object's, so the copy skips that replica only and never reaches the update."""
    recorded = {**OURS, ANNOTATION_MARK: MARK}
    state = FakeState([StateObject("Secret", "web-us-east-1", "sm-api", "urn:api", "u-1", annotations=recorded)])
    cluster = FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-api", "u-1", recorded), obj("sm-db", "u-c", recorded)]})
    result = plan({"demand": {"web-us-east-1": ["db", "api"]}}, cluster, state)
    assert skipped(result) and result.claims == {}
    assert ("Secret", "web-us-east-1", "sm-api") in {(r.kind, r.namespace, r.name) for r in result.layout.replicas}


def test_the_deletion_check_compares_the_live_mark_with_the_one_the_state_recorded():
    recorded = {"kecs-secrets.io/stack": STACK, ANNOTATION_MARK: MARK}
    state = FakeState([StateObject("Secret", "web-us-east-1", "sm-api", "urn:api", "u-1", annotations=recorded)])
    other_mark = {**recorded, ANNOTATION_MARK: "1" * MARK_HEX_LENGTH}
    with pytest.raises(OwnershipError, match="Secret web-us-east-1/sm-api: in this stack's state and due for deletion"):
        plan({}, FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-api", "u-1", other_mark)]}), state)
    plan({}, FakeCluster(objects={("Secret", "web-us-east-1"): [obj("sm-api", "u-1", recorded)]}), state)


def test_the_plan_gives_each_object_in_the_state_the_mark_it_recorded():
    recorded = {"kecs-secrets.io/stack": STACK, ANNOTATION_MARK: MARK}
    state = FakeState([StateObject("Secret", "kecs-system", "sm-db", "urn:db", "u-1", annotations=recorded),
                       StateObject("Secret", "kecs-system", "sm-api", "urn:api", "u-2", annotations={"kecs-secrets.io/stack": STACK})])
    result = plan({}, FakeCluster(objects={("Secret", "kecs-system"): [obj("sm-db", "u-1", recorded), obj("sm-api", "u-2")]}), state)
    assert result.marks == {("Secret", "kecs-system", "sm-db"): MARK}


def test_the_guard_counts_what_the_state_will_delete():
    state = FakeState([StateObject("Secret", "kecs-system", f"sm-old-{i}", f"urn:{i}") for i in range(3)])
    with pytest.raises(DeletionGuardError, match="would delete 3 masters"):
        plan({"maxMasterDeletions": 2}, FakeCluster(), state)
    assert plan({"maxMasterDeletions": 3}, FakeCluster(), state).deletions == ("sm-old-0", "sm-old-1", "sm-old-2")


def test_a_json_key_the_recorded_version_lacks_fails_naming_the_reference_without_reading_it():
    state = FakeState(values=[StateValue(DB_ARN, "v2", ("password", "user", "value"))])
    with pytest.raises(ReferenceResolutionError) as caught:
        plan({"demand": {"web-us-east-1": [f"{DB_ARN}:nokey::"]}}, state=state, dry_run=True)
    assert str(caught.value) == (
        f"reference '{DB_ARN}:nokey::' from config kecs-secrets:demand.web-us-east-1[0]: secret 'db' has no JSON field 'nokey' "
        "at its current version"
    )
    assert plan({"demand": {"web-us-east-1": [f"{DB_ARN}:user::"]}}, state=state).layout.masters[1].json_keys == ("user",)
    # Another version than the recorded one: not known here (the provider's check reads it).
    other = FakeState(values=[StateValue(DB_ARN, "v1", ("value",))])
    assert plan({"demand": {"web-us-east-1": [f"{DB_ARN}:nokey::"]}}, state=other).layout.masters[1].selected_by == {
        "nokey": f"reference '{DB_ARN}:nokey::' from config kecs-secrets:demand.web-us-east-1[0]"
    }


def test_a_copied_master_is_never_announced_as_renamed():
    """A copy of a master carries its source label and annotation: it is a sweep candidate, not the item's old name."""
    state = FakeState([StateObject("Secret", "kecs-system", "sm-db", "urn:db", "u-db")])
    copy = obj("sm-db-x", "u-x", {**MARKED, "kecs.io/source-name": "db"})
    copy["metadata"]["labels"] = {"kecs.io/source": "secretsmanager"}
    result = plan({}, FakeCluster(objects={("Secret", "kecs-system"): [obj("sm-db", "u-db"), copy]}), state)
    assert result.renamed == ()
    assert result.leftovers == (("Secret", "kecs-system", "sm-db-x", "u-x", MARK),)
