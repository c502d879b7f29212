"""kecs-replica-coverage (stack): replicas have masters and readers, and sit only where they may."""

from __future__ import annotations

import pytest

from tests.policies.conftest import (
    CONFIG_MAP,
    MASTER_NS,
    Resource,
    assert_no_canary,
    cluster_role,
    healthy_stack,
    master,
    names,
    read_rule,
    replica,
    replica_annotations,
    replica_labels,
    role,
    role_binding,
    run_stack_policies,
    service_account,
)

POLICY = "kecs-replica-coverage"


def drop(resources: list[Resource], type_suffix: str, name: str) -> list[Resource]:
    return [r for r in resources if not (r.type.endswith(type_suffix) and r.props.get("metadata", {}).get("name") == name)]


def with_reader(namespace: str) -> list[Resource]:
    return [service_account(namespace), role_binding(namespace)]


def with_cluster_role(*rules: dict) -> list[Resource]:
    """The healthy stack with other rules on its reader ClusterRole."""
    return [*drop(healthy_stack(), ":ClusterRole", "kecs-system-secret-reader"), cluster_role(rules=list(rules))]


NEED_TO_KNOW = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kecs-secret-reader-team-a"}


CASES = [
    ("healthy stack", healthy_stack(), []),
    ("masters alone need nothing", [master("sm-app-db", "app/db")], []),
    ("replica without a master", [*healthy_stack(), replica("sm-orphan", "team-a")], [POLICY]),
    (
        "replica whose master is another kind",
        [*healthy_stack(), master("sm-other", "other"), replica("sm-other", "team-a", kind=CONFIG_MAP)],
        [POLICY],
    ),
    (
        "master outside the master namespace does not count",
        [*healthy_stack(), master("sm-x", "x", namespace="team-b"), replica("sm-x", "team-a")],
        [POLICY],
    ),
    ("namespace without its RoleBinding", drop(healthy_stack(), ":RoleBinding", "kecs-secret-reader-team-a"), [POLICY]),
    ("namespace without its ServiceAccount", drop(healthy_stack(), ":ServiceAccount", "kecs-secret-reader-team-a"), [POLICY]),
    ("a new namespace with nothing", [*healthy_stack(), replica("sm-app-db", "team-b")], [POLICY, POLICY]),
    ("a new namespace with its reader", [*healthy_stack(), replica("sm-app-db", "team-b"), *with_reader("team-b")], []),
    # The reader may read what its namespace receives, and nothing in the master namespace that is not a master.
    ("reader ClusterRole does not name a replica's master", with_cluster_role(read_rule()), [POLICY]),
    (
        "reader ClusterRole names a Secret that is not a master",
        with_cluster_role(*cluster_role().props["rules"], read_rule(resourceNames=["kecs-internal-token"])),
        [POLICY],
    ),
    (
        "a ConfigMap master named under secrets",
        with_cluster_role(read_rule(resourceNames=["sm-app-db", "ssm-app-flags"])),
        [POLICY, POLICY],
    ),
    (
        "need-to-know Role naming its namespace's masters",
        [
            *drop(drop(healthy_stack(), ":ClusterRole", "kecs-system-secret-reader"), ":RoleBinding", "kecs-secret-reader-team-a"),
            role("team-a", rules=cluster_role().props["rules"]),
            role_binding("team-a", role_ref=NEED_TO_KNOW),
        ],
        [],
    ),
    (
        "need-to-know Role missing one",
        [
            *drop(drop(healthy_stack(), ":ClusterRole", "kecs-system-secret-reader"), ":RoleBinding", "kecs-secret-reader-team-a"),
            role("team-a"),
            role_binding("team-a", role_ref=NEED_TO_KNOW),
        ],
        [POLICY],
    ),
    ("replica in the master namespace", [*healthy_stack(), replica("sm-app-db-copy", MASTER_NS)], [POLICY]),
    ("replica in a denied namespace", [*healthy_stack(), replica("sm-app-db", "kube-system"), *with_reader("kube-system")], [POLICY]),
    (
        "replica in default via the provider's default namespace",
        [
            *healthy_stack(),
            Resource(
                replica("sm-app-db", "x").type,
                {
                    **replica("sm-app-db", "x").props,
                    "metadata": {"name": "sm-app-db", "labels": replica_labels(), "annotations": replica_annotations()},
                },
            ),
            *with_reader("default"),
        ],
        [POLICY],
    ),
]


@pytest.mark.parametrize(("resources", "expected"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_replica_coverage(resources: list[Resource], expected: list[str]) -> None:
    violations = run_stack_policies(resources)
    assert names(violations) == expected
    assert_no_canary(violations)


def test_violations_point_at_the_replica() -> None:
    orphan = replica("sm-orphan", "team-a")
    [violation] = run_stack_policies([*healthy_stack(), orphan])
    assert violation.urn == orphan.urn
    assert "sm-orphan" in violation.message


@pytest.mark.parametrize(
    ("config", "namespace", "expected"),
    [
        pytest.param(None, "default", [POLICY], id="default deny list"),
        pytest.param({"deniedNamespaces": []}, "default", [], id="empty deny list"),
        pytest.param({"deniedNamespaces": ["team-b"]}, "team-b", [POLICY], id="custom deny list"),
        pytest.param({"deniedNamespaces": ["team-b"]}, "kube-system", [], id="custom list replaces the default"),
    ],
)
def test_denied_namespaces_config(config: dict | None, namespace: str, expected: list[str]) -> None:
    resources = [*healthy_stack(), replica("sm-app-db", namespace), *with_reader(namespace)]
    assert names(run_stack_policies(resources, {POLICY: config} if config else None)) == expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(None, [], id="default master namespace"),
        # Masters and the RoleBinding in kecs-system do not count any more: two replicas without a master,
        # two names on the reader ClusterRole that are no masters in hub, one namespace without its RoleBinding.
        pytest.param({"masterNamespace": "hub"}, [POLICY] * 5, id="masters and bindings elsewhere"),
    ],
)
def test_master_namespace_config(config: dict | None, expected: list[str]) -> None:
    assert names(run_stack_policies(healthy_stack(), {POLICY: config} if config else None)) == expected
