"""make_plan with fakes of the ports: masters renamed by the naming rule, and the deletion guard that counts them."""

from __future__ import annotations

import pytest

from kecs_secrets.config import parse_config
from kecs_secrets.errors import DeletionGuardError
from kecs_secrets.model import StackState, StateObject
from kecs_secrets.planning import make_plan
from tests.unit.test_inventory import FakeSource, sm

STACK = "kecs-secrets/dev"


class FakeCluster:
    def __init__(self, objects):
        self._objects = objects  # (kind, namespace, name) -> metadata

    def namespaces(self):
        return {"kecs-system": {}, "web-us-east-1": {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": "web", "kecs.dev/region": "us-east-1"}}

    def pods(self):
        return []

    def objects(self, kind, namespace):
        return [{"metadata": {"name": n, **meta}} for (k, ns, n), meta in self._objects.items() if k == kind and ns == namespace]


class StateOf:
    """StateReader: the previous run made (and recorded) exactly these objects."""

    def __init__(self, objects):
        self._objects = objects

    def read(self):
        return StackState(tuple(StateObject(k, ns, n, f"urn:{k}:{n}") for k, ns, n in self._objects))


class NoFiles:
    def documents(self, pattern):
        return []


def old_master(source, source_name):
    return {
        "labels": {"kecs.io/managed-by": "kecs", "kecs.io/source": source},
        "annotations": {"kecs-secrets.io/stack": STACK, "kecs.io/source-name": source_name},
    }


def test_masters_renamed_by_the_new_naming_count_against_the_deletion_guard():
    # Under the old rule every run of separators collapsed: 'svc-<i>/db--main' was 'sm-svc-<i>-db-main'.
    names = [f"svc-{i}/db--main" for i in range(12)]
    old = {("Secret", "kecs-system", f"sm-svc-{i}-db-main"): old_master("secretsmanager", n) for i, n in enumerate(names)}
    old[("Secret", "kecs-system", "sm-gone")] = old_master("secretsmanager", "gone")
    # A rename deletes the old master and its replicas: 12 renames and one gone item are 13 deletions.
    with pytest.raises(DeletionGuardError, match=r"delete 13 masters \(limit 12\), 12 of them renamed"):
        make_plan(parse_config({"maxMasterDeletions": 12}), STACK, FakeSource([sm(n) for n in names]), FakeCluster(old), NoFiles(),
                  dry_run=False, state=StateOf(old))
    settings = parse_config({"maxMasterDeletions": 13})
    plan = make_plan(settings, STACK, FakeSource([sm(n) for n in names]), FakeCluster(old), NoFiles(), dry_run=False, state=StateOf(old))
    assert sorted(plan.renamed) == sorted((f"sm-svc-{i}-db-main", f"sm-svc-{i}-db--main") for i in range(12))
    assert "sm-gone" in plan.deletions and len(plan.deletions) == 13


def test_a_configmap_master_that_becomes_a_secret_is_not_a_deletion():
    old = {("ConfigMap", "kecs-system", "ssm-app-host"): old_master("ssm", "/app/host")}
    source = FakeSource(parameters=[{"Name": "/app/host", "Type": "String", "Version": 1, "LastModifiedDate": 1755005925.0}])
    plan = make_plan(parse_config({"maxMasterDeletions": 0}), STACK, source, FakeCluster(old), NoFiles(), dry_run=False, state=StateOf(old))
    assert [(m.kind, m.name) for m in plan.layout.masters] == [("Secret", "ssm-app-host")]
    assert plan.deletions == () and plan.renamed == ()
