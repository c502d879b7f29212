"""``make_plan`` with fakes of every port (no LocalStack, no cluster, no files): what a run decides before it registers anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from kecs_secrets.config import parse_config
from kecs_secrets.errors import (
    ClusterAuthError,
    ClusterRequestError,
    ClusterUnavailableError,
    ConfigError,
    DeletionGuardError,
    LayoutError,
    ReferenceResolutionError,
    SourceUnavailableError,
    UnmanagedObjectError,
)
from kecs_secrets.model import ANNOTATION_STACK, StackState, StateObject
from kecs_secrets.ownership import ANNOTATION_MARK, MARK_HEX_LENGTH
from kecs_secrets.planning import make_plan

REGION = "us-east-1"
ACCOUNT = "000000000000"
STACK = "kecs-secrets/test"
MASTER_NS = "kecs-system"
WHEN = dt.datetime(2025, 8, 12, 13, 38, 45, tzinfo=dt.UTC)


def secret(name: str, version: str = "v-1") -> dict[str, Any]:
    return {
        "Name": name,
        "ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf",
        "SecretVersionsToStages": {version: ["AWSCURRENT"]},
        "LastChangedDate": WHEN,
    }


def parameter(name: str, kind: str = "SecureString") -> dict[str, Any]:
    return {"Name": name, "Type": kind, "Version": 1, "LastModifiedDate": WHEN}


class FakeSource:
    """MetadataSource: a fixed listing, or unreachable."""

    def __init__(self, secrets=(), parameters=(), *, unreachable: bool = False) -> None:
        self.secrets, self.parameters, self.unreachable = list(secrets), list(parameters), unreachable

    def _check(self, what: str) -> None:
        if self.unreachable:
            raise SourceUnavailableError(f"cannot read {what} from http://fake: EndpointConnectionError")

    def list_secrets(self, prefixes=()):
        self._check("Secrets Manager ListSecrets")
        return self.secrets

    def describe_parameters(self, path, prefixes=()):
        self._check(f"SSM DescribeParameters {path}")
        return [p for p in self.parameters if p["Name"].startswith(path) or path == "/"]

    def parameter_tags(self, name):
        return {}

    def account(self):
        return ACCOUNT


class FakeCluster:
    """ClusterReader: namespaces, objects (metadata and kind) and pods; unreachable on request; records what was read."""

    def __init__(self, namespaces=(MASTER_NS, "web-us-east-1"), objects=(), pods=(), *, unreachable: bool = False) -> None:
        self._namespaces = set(namespaces)
        self._objects = list(objects)  # (kind, namespace, metadata)
        self._pods = list(pods)
        self.unreachable = unreachable
        self.reads: list[str] = []

    def _check(self) -> None:
        if self.unreachable:
            raise ClusterUnavailableError("cannot reach the Kubernetes API at https://fake: connection refused")

    def namespaces(self):
        self.reads.append("namespaces")
        self._check()
        return {name: ecs_labels(name) for name in self._namespaces}

    def pods(self):
        self.reads.append("pods")
        self._check()
        return list(self._pods)

    def objects(self, kind, namespace):
        self.reads.append(f"{kind}/{namespace}")
        self._check()
        return [{"metadata": {"name": name, "namespace": ns, **meta}} for k, ns, name, meta in self._objects
                if k == kind and (namespace is None or ns == namespace)]


def ecs_labels(name: str) -> dict[str, str]:
    """KECS's labels for an ECS cluster namespace ``<cluster>-us-east-1``; none for any other namespace."""
    if not name.endswith(f"-{REGION}"):
        return {}
    return {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": name.removesuffix(f"-{REGION}"), "kecs.dev/region": REGION}


class FakeState:
    """StateReader: the stack's state (empty: a stack that has not made anything yet)."""

    def __init__(self, state: StackState | None = None) -> None:
        self.state = state or StackState()

    def read(self):
        return self.state


class FakeFiles:
    """DocumentSource: task definition documents by pattern."""

    def __init__(self, documents: Mapping[str, list[tuple[str, Any]]] | None = None) -> None:
        self.documents_by_pattern = dict(documents or {})

    def documents(self, pattern):
        return self.documents_by_pattern.get(pattern, [])


def ours(**annotations: str) -> dict[str, Any]:
    """Metadata of an object this stack made: its annotation and an ownership mark (which only the sweep can verify)."""
    return {"annotations": {ANNOTATION_STACK: STACK, ANNOTATION_MARK: "0" * MARK_HEX_LENGTH, **annotations}}


def settings(**raw: Any):
    return parse_config({"masterNamespace": MASTER_NS, **raw})


SOURCE = FakeSource(
    [secret("app/db"), secret("app/token")],
    [parameter("/app/password"), parameter("/app/flags", "StringList")],
)


def plan(config: Mapping[str, Any], source=SOURCE, cluster=None, files=None, *, dry_run: bool = False, warn=None):
    warnings: list[str] = []
    result = make_plan(settings(**config), STACK, source, cluster, files or FakeFiles(), dry_run=dry_run,
                       state=FakeState(), warn=warn or warnings.append)
    return result, warnings


def test_plan_from_config_and_task_definition_demand():
    task_definition = {"containerDefinitions": [{"name": "app", "secrets": [{"name": "PW", "valueFrom": "/app/password"}]}]}
    files = FakeFiles({"td/*.json": [("td/web.json", task_definition)]})
    config = {"demand": {"web-us-east-1": ["app/db"]}, "taskDefinitions": [{"path": "td/*.json", "cluster": "web"}]}
    result, warnings = plan(config, cluster=FakeCluster(), files=files)
    assert [m.name for m in result.layout.masters] == ["sm-app-db", "sm-app-token", "ssm-app-flags", "ssm-app-password"]
    assert result.layout.replicas_by_namespace() == {"web-us-east-1": ["sm-app-db", "ssm-app-password"]}
    assert [r.namespace for r in result.layout.rbac] == ["web-us-east-1"]
    assert (result.adopt, result.deletions, result.warnings, warnings) == (frozenset(), (), (), [])


def test_unreachable_source_fails_before_anything_else_is_read():
    cluster = FakeCluster()
    with pytest.raises(SourceUnavailableError, match="cannot read Secrets Manager ListSecrets from http://fake"):
        plan({}, source=FakeSource(unreachable=True), cluster=cluster)
    assert cluster.reads == []


def test_empty_source_is_never_read_as_delete_everything():
    cluster = FakeCluster(objects=[("Secret", MASTER_NS, "sm-app-db", ours()), ("ConfigMap", MASTER_NS, "ssm-app-flags", ours())])
    with pytest.raises(DeletionGuardError, match="the source lists no items, so this run would delete all 2 masters"):
        plan({}, source=FakeSource(), cluster=cluster)
    result, _ = plan({"allowMassDeletion": True}, source=FakeSource(), cluster=cluster)
    assert result.deletions == ("sm-app-db", "ssm-app-flags")


def test_deletion_guard_counts_only_this_stacks_masters_against_the_limit():
    gone = [("Secret", MASTER_NS, f"sm-old-{i}", ours()) for i in range(3)]
    theirs = [("Secret", MASTER_NS, "sm-someone-else", {"annotations": {ANNOTATION_STACK: "other/stack"}})]
    cluster = FakeCluster(objects=gone + theirs)
    with pytest.raises(DeletionGuardError, match=r"this run would delete 3 masters \(limit 2\)"):
        plan({"maxMasterDeletions": 2}, cluster=cluster)
    result, _ = plan({"maxMasterDeletions": 3}, cluster=cluster)
    assert result.deletions == ("sm-old-0", "sm-old-1", "sm-old-2")
    result, _ = plan({"maxMasterDeletions": 0, "allowMassDeletion": True}, cluster=cluster)
    assert result.deletions == ("sm-old-0", "sm-old-1", "sm-old-2")


def test_cluster_unreachable_in_preview_warns_and_still_plans():
    result, warnings = plan({"demand": {"web-us-east-1": ["app/db"]}}, cluster=FakeCluster(unreachable=True), dry_run=True)
    assert warnings == ["cluster checks skipped in preview: cannot reach the Kubernetes API at https://fake: connection refused"]
    assert result.layout.replicas_by_namespace() == {"web-us-east-1": ["sm-app-db"]}
    assert (result.adopt, result.deletions) == (frozenset(), ())


def test_cluster_unreachable_in_up_fails():
    with pytest.raises(ClusterUnavailableError, match="cannot reach the Kubernetes API"):
        plan({"demand": {"web-us-east-1": ["app/db"]}}, cluster=FakeCluster(unreachable=True), dry_run=False)


class RefusingCluster(FakeCluster):
    """A cluster that answers, but refuses every read with ``error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def _check(self) -> None:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [ClusterAuthError("HTTP 401, the server refused the credentials of user 'u' of context 'c'"), ClusterRequestError("HTTP 404")],
    ids=["credentials refused", "other refusal"],
)
@pytest.mark.parametrize("dry_run", [True, False], ids=["preview", "up"])
def test_a_cluster_that_refuses_fails_preview_and_up(error, dry_run):
    """Only an unreachable API server lets a preview go on without the cluster checks."""
    warnings: list[str] = []
    with pytest.raises(type(error), match=str(error)):
        plan({"demand": {"web-us-east-1": ["app/db"]}}, cluster=RefusingCluster(error), dry_run=dry_run, warn=warnings.append)
    assert warnings == []


@pytest.mark.parametrize("dry_run", [True, False], ids=["preview", "up"])
def test_pod_demand_needs_the_cluster_even_in_preview(dry_run):
    with pytest.raises(ClusterUnavailableError, match="cannot reach the Kubernetes API"):
        plan({"podDemand": True}, cluster=FakeCluster(unreachable=True), dry_run=dry_run)
    # Without cluster checks an update is refused anyway (checkCluster=false only makes an offline preview).
    error, match = (ClusterUnavailableError, "podDemand needs the cluster, but cluster checks are off") if dry_run else (
        ConfigError, "checkCluster=false only allows an offline preview")
    with pytest.raises(error, match=match):
        plan({"podDemand": True, "checkCluster": False}, cluster=None, dry_run=dry_run)


def test_without_cluster_checks_nothing_is_read_from_the_cluster():
    result, _ = plan({"checkCluster": False, "demand": {"nowhere-us-east-1": ["app/db"]}}, cluster=None, dry_run=True)
    assert result.layout.replicas_by_namespace() == {"nowhere-us-east-1": ["sm-app-db"]}


def test_unmanaged_object_in_the_way_is_named_unless_adopted():
    """In the master namespace (the stack's own) an object the stack did not make stops the run; in a namespace
    receiving replicas it only skips what it blocks (tests/unit/test_planning_isolation.py)."""
    theirs = ("Secret", MASTER_NS, "sm-app-db", {})
    config = {"demand": {"web-us-east-1": ["app/db"]}}
    with pytest.raises(UnmanagedObjectError, match=f"not made by this stack: Secret {MASTER_NS}/sm-app-db. Rename or remove"):
        plan(config, cluster=FakeCluster(objects=[theirs]))
    result, _ = plan({**config, "adoptExisting": True}, cluster=FakeCluster(objects=[theirs]))
    assert result.adopt == frozenset({("Secret", MASTER_NS, "sm-app-db")})
    in_tenant_namespace = ("Secret", "web-us-east-1", "sm-app-db", {})
    result, _ = plan({**config, "adoptExisting": True}, cluster=FakeCluster(objects=[in_tenant_namespace]))
    assert result.adopt == frozenset({("Secret", "web-us-east-1", "sm-app-db")})
    assert result.layout.replicas_by_namespace() == {"web-us-east-1": ["sm-app-db"]}
    other_stack = ("ClusterRole", "", f"{MASTER_NS}-secret-reader", {"annotations": {ANNOTATION_STACK: "x/y"}})
    with pytest.raises(UnmanagedObjectError, match=f"ClusterRole {MASTER_NS}-secret-reader"):
        plan({**config, "rbacMode": "cluster-role"}, cluster=FakeCluster(objects=[other_stack]))


def test_missing_namespaces_are_named_with_where_the_demand_came_from():
    with pytest.raises(LayoutError, match=r"namespace 'gone-us-east-1' \(from config kecs-secrets:demand.gone-us-east-1\[0\]\) does not exist"):
        plan({"demand": {"gone-us-east-1": ["app/db"]}}, cluster=FakeCluster())
    with pytest.raises(LayoutError, match=f"master namespace '{MASTER_NS}' does not exist"):
        plan({}, cluster=FakeCluster(namespaces=["web-us-east-1"]))


def test_pod_demand_gives_the_pods_namespace_its_replicas():
    pods = [
        {"metadata": {"name": "task-1", "namespace": "web-us-east-1", "annotations": {
            "kecs.dev/secret-count": "2",
            "kecs.dev/secret-1-arn": f"app:DB:arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db-AbCdEf",
            "kecs.dev/secret-2-arn": "app:PW:/app/password",
        }}},
        {"metadata": {"name": "plain", "namespace": "web-us-east-1"}},
    ]
    result, _ = plan({"podDemand": True}, cluster=FakeCluster(pods=pods))
    assert result.layout.replicas_by_namespace() == {"web-us-east-1": ["sm-app-db", "ssm-app-password"]}
    assert result.layout.origins["web-us-east-1"].startswith("pod web-us-east-1/task-1 annotation kecs.dev/secret-")


def test_malformed_pod_annotation_is_named_and_that_pod_skipped_or_an_error_when_strict():
    pods = [{"metadata": {"name": "bad", "namespace": "web-us-east-1", "annotations": {"kecs.dev/secret-1-arn": "no-colons"}}}]
    result, _ = plan({"podDemand": True}, cluster=FakeCluster(pods=pods))
    assert [w for w in result.warnings if w.startswith("pod web-us-east-1/bad annotation kecs.dev/secret-1-arn")]
    with pytest.raises(ConfigError, match="pod web-us-east-1/bad annotation kecs.dev/secret-1-arn"):
        plan({"podDemand": True, "strictPodDemand": True}, cluster=FakeCluster(pods=pods))


def test_unresolved_reference_fails_or_warns_as_configured():
    config = {"demand": {"web-us-east-1": ["app/nope"]}}
    with pytest.raises(ReferenceResolutionError, match=r"reference 'app/nope' from config kecs-secrets:demand.web-us-east-1\[0\]"):
        plan(config, cluster=FakeCluster())
    result, _ = plan({**config, "unresolvedReferences": "warn"}, cluster=FakeCluster())
    assert result.warnings == ("reference 'app/nope' from config kecs-secrets:demand.web-us-east-1[0]: no SSM parameter or Secrets Manager secret with that name",)
    assert result.layout.replicas == ()


def test_task_definition_pattern_matching_nothing_is_an_error():
    with pytest.raises(ConfigError, match=r"taskDefinitions\[0\].path 'td/\*.json' matches no file"):
        plan({"taskDefinitions": [{"path": "td/*.json", "cluster": "web"}]}, cluster=FakeCluster())


def test_the_plan_keeps_the_data_of_objects_whose_state_and_cluster_hold_this_version():
    """A second run over an unchanged source: every master and replica keeps its data (no value is needed);
    one new version: exactly that master and its replica take the reader's value."""
    config = {"demand": {"web-us-east-1": ["app/db"]}}
    first, _ = plan(config, cluster=FakeCluster())
    masters, replicas = first.layout.masters, first.layout.replicas
    recorded = [StateObject(m.kind, MASTER_NS, m.name, annotations=dict(m.annotations), has_data=True) for m in masters]
    recorded += [StateObject(r.kind, r.namespace, r.name, annotations=dict(r.annotations), has_data=True) for r in replicas]
    live = [(m.kind, MASTER_NS, m.name, ours(**m.annotations)) for m in masters]
    live += [(r.kind, r.namespace, r.name, ours(**r.annotations)) for r in replicas]
    state = FakeState(StackState(tuple(sorted(recorded))))
    everything = {(m.kind, MASTER_NS, m.name) for m in masters} | {(r.kind, r.namespace, r.name) for r in replicas}

    def again(source):
        return make_plan(settings(**config), STACK, source, FakeCluster(objects=live), FakeFiles(), dry_run=True,
                         state=state, warn=lambda _: None)

    assert again(SOURCE).kept == everything
    changed = FakeSource(
        [secret("app/db", version="v-2"), secret("app/token")], [parameter("/app/password"), parameter("/app/flags", "StringList")]
    )
    assert everything - again(changed).kept == {("Secret", MASTER_NS, "sm-app-db"), ("Secret", "web-us-east-1", "sm-app-db")}
    assert first.kept == frozenset()  # nothing in the state yet
