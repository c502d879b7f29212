"""Read-only reader roles, correct reader bindings, and no cluster-wide secret read."""

from __future__ import annotations

import pytest

from tests.policies.conftest import (
    MASTER_NS,
    ROLE,
    Resource,
    assert_no_canary,
    cluster_role,
    cluster_role_binding,
    healthy_stack,
    names,
    read_rule,
    role,
    role_binding,
    run_resource_policies,
    run_stack_policies,
)

READ_ONLY = "kecs-reader-rbac-read-only"
BINDING = "kecs-reader-binding"
CLUSTER_WIDE = "kecs-no-cluster-wide-secret-read"
NEED_TO_KNOW_REF = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kecs-secret-reader-team-a"}

ROLE_CASES = [
    ("reader ClusterRole as the program makes it", cluster_role(), []),
    ("need-to-know Role with resourceNames", role("team-a"), []),
    ("only secrets", cluster_role(rules=[read_rule(resources=["secrets"], verbs=["get"])]), []),
    ("extra verb", cluster_role(rules=[read_rule(verbs=["get", "list", "watch", "update"])]), [READ_ONLY]),
    ("wildcard verb", cluster_role(rules=[read_rule(verbs=["*"])]), [READ_ONLY]),
    ("wildcard resource", cluster_role(rules=[read_rule(resources=["*"])]), [READ_ONLY]),
    ("subresource wildcard", role("team-a", rules=[read_rule(resources=["secrets/*"])]), [READ_ONLY]),
    ("other resource", role("team-a", rules=[read_rule(resources=["pods"])]), [READ_ONLY]),
    # By name only: a reader role without resourceNames reads every Secret of the master namespace (the ADR's old shape).
    (
        "the wide reader ClusterRole",
        cluster_role(rules=[{"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list", "watch"]}]),
        [READ_ONLY],
    ),
    ("empty resourceNames", role("team-a", rules=[read_rule(resourceNames=[])]), [READ_ONLY]),
    (
        "one list of names for secrets and configmaps",
        cluster_role(rules=[read_rule(resources=["secrets", "configmaps"], resourceNames=["sm-app-db", "ssm-app-flags"])]),
        [READ_ONLY],
    ),
    ("wildcard group", cluster_role(rules=[read_rule(apiGroups=["*"])]), [READ_ONLY]),
    ("non-resource URLs", cluster_role(rules=[{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]), [READ_ONLY]),
    (
        "aggregated reader ClusterRole",
        cluster_role(rules=[], aggregationRule={"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}),
        [READ_ONLY],
    ),
    (
        "every problem in two rules",
        cluster_role(rules=[read_rule(verbs=["*", "delete"], resources=["*"], apiGroups=["*"]), read_rule(resources=["nodes"])]),
        [READ_ONLY] * 5,
    ),
    (
        "reader found by its label",
        Resource(
            ROLE,
            {
                "metadata": {"name": "x", "namespace": MASTER_NS, "labels": {"kecs.io/for-namespace": "team-a"}},
                "rules": [read_rule(verbs=["create"])],
            },
        ),
        [READ_ONLY],
    ),
    (
        "other roles are not readers",
        cluster_role("ops-admin", rules=[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}], labels={}),
        [],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=i) for i, r, e in ROLE_CASES])
def test_reader_roles_read_only(resource: Resource, expected: list[str]) -> None:
    violations = run_resource_policies(resource)
    assert names(violations) == expected
    assert_no_canary(violations)


@pytest.mark.parametrize(
    ("config", "resources", "expected"),
    [
        pytest.param(None, ["secrets", "configmaps"], [], id="default resources"),
        pytest.param({"allowedResources": ["secrets"]}, ["secrets", "configmaps"], [READ_ONLY], id="narrowed"),
        pytest.param({"allowedResources": ["secrets", "configmaps", "serviceaccounts"]}, ["serviceaccounts"], [], id="widened"),
        pytest.param({"allowedResources": ["*"]}, ["*"], [READ_ONLY], id="a wildcard is never allowed"),
    ],
)
def test_read_only_config(config: dict | None, resources: list[str], expected: list[str]) -> None:
    resource = cluster_role(rules=[read_rule(resources=[name]) for name in resources])
    assert names(run_resource_policies(resource, {READ_ONLY: config} if config else None)) == expected


def test_a_violation_names_the_rule_without_resource_names() -> None:
    wide = cluster_role(rules=[read_rule(), {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}])
    [violation] = run_resource_policies(wide)
    assert violation.message.startswith("rule 1: no resourceNames: it reads every object of ['configmaps'] in the namespace")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(None, [], id="not the reader of the default master namespace"),
        pytest.param({"masterNamespace": "hub"}, [READ_ONLY], id="the reader ClusterRole of master namespace hub"),
    ],
)
def test_reader_cluster_role_named_after_the_master_namespace(config: dict | None, expected: list[str]) -> None:
    resource = cluster_role("hub-secret-reader", labels={}, rules=[read_rule(verbs=["get", "patch"])])
    assert names(run_resource_policies(resource, {READ_ONLY: config} if config else None)) == expected


BINDING_CASES = [
    ("binding to the reader ClusterRole", role_binding("team-a"), []),
    ("binding to the need-to-know Role", role_binding("team-a", role_ref=NEED_TO_KNOW_REF), []),
    ("not in the master namespace", role_binding("team-a", binding_ns="team-a"), [BINDING]),
    (
        "subject in another namespace",
        role_binding("team-b", subjects=[{"kind": "ServiceAccount", "name": "kecs-secret-reader-team-b", "namespace": "team-a"}]),
        [BINDING],
    ),
    (
        "another namespace's account",
        role_binding("team-b", subjects=[{"kind": "ServiceAccount", "name": "kecs-secret-reader-team-a", "namespace": "team-a"}]),
        [BINDING],
    ),
    (
        "an extra subject",
        role_binding(
            "team-a",
            subjects=[
                {"kind": "ServiceAccount", "name": "kecs-secret-reader-team-a", "namespace": "team-a"},
                {"kind": "Group", "name": "system:authenticated"},
            ],
        ),
        [BINDING],
    ),
    (
        "a user instead of the account",
        role_binding("team-a", subjects=[{"kind": "User", "name": "kecs-secret-reader-team-a", "namespace": "team-a"}]),
        [BINDING],
    ),
    ("no subjects", role_binding("team-a", subjects=[]), [BINDING]),
    ("named for another namespace", role_binding("team-a", name="kecs-secret-reader-team-b"), [BINDING]),
    ("no for-namespace label", role_binding("team-a", labels={"kecs.io/managed-by": "kecs"}), [BINDING]),
    (
        "bound to cluster-admin",
        role_binding("team-a", role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}),
        [BINDING],
    ),
    (
        "bound to another namespace's Role",
        role_binding("team-a", role_ref={**NEED_TO_KNOW_REF, "name": "kecs-secret-reader-team-b"}),
        [BINDING],
    ),
    (
        "found by its subject alone",
        Resource(
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
            {
                "metadata": {"name": "sneaky", "namespace": "team-a"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "ServiceAccount", "name": "kecs-secret-reader-team-a", "namespace": "team-a"}],
            },
        ),
        [BINDING, BINDING],
    ),
    (
        "unrelated binding",
        Resource(
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
            {
                "metadata": {"name": "devs", "namespace": "team-a"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"kind": "Group", "name": "devs"}],
            },
        ),
        [],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=i) for i, r, e in BINDING_CASES])
def test_reader_binding(resource: Resource, expected: list[str]) -> None:
    violations = run_resource_policies(resource)
    assert names(violations) == expected
    assert_no_canary(violations)


@pytest.mark.parametrize(
    ("config", "binding_ns", "expected"),
    [
        pytest.param(None, MASTER_NS, [], id="default"),
        pytest.param({"masterNamespace": "hub"}, "hub", [], id="configured"),
        pytest.param({"masterNamespace": "hub"}, MASTER_NS, [BINDING, BINDING], id="default rejected once configured"),
    ],
)
def test_reader_binding_config(config: dict | None, binding_ns: str, expected: list[str]) -> None:
    # The program names the reader ClusterRole after the master namespace (kecs_secrets.layout.cluster_role_name).
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{binding_ns}-secret-reader"}
    resource = role_binding("team-a", binding_ns=binding_ns, role_ref=role_ref)
    assert names(run_resource_policies(resource, {BINDING: config} if config else None)) == expected


STACK_CASES = [
    ("the program's RBAC", [], []),
    ("reader ClusterRole bound cluster-wide", [cluster_role_binding("everyone-reads", "kecs-system-secret-reader")], [CLUSTER_WIDE]),
    ("cluster-admin bound cluster-wide", [cluster_role_binding("ops", "cluster-admin")], [CLUSTER_WIDE]),
    (
        "a ClusterRole of this stack that reads secrets",
        [
            cluster_role("secret-peeker", labels={}, rules=[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
            cluster_role_binding("peek", "secret-peeker"),
        ],
        [CLUSTER_WIDE],
    ),
    (
        "a ClusterRole of this stack with wildcards",
        [
            cluster_role("god", labels={}, rules=[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
            cluster_role_binding("gods", "god"),
        ],
        [CLUSTER_WIDE],
    ),
    (
        "a reader account bound cluster-wide to anything",
        [
            cluster_role_binding(
                "reader-view", "view", subjects=[{"kind": "ServiceAccount", "name": "kecs-secret-reader-team-a", "namespace": "team-a"}]
            )
        ],
        [CLUSTER_WIDE],
    ),
    (
        "both at once",
        [
            cluster_role_binding(
                "worst",
                "kecs-system-secret-reader",
                subjects=[{"kind": "ServiceAccount", "name": "kecs-secret-reader-team-a", "namespace": "team-a"}],
            )
        ],
        [CLUSTER_WIDE, CLUSTER_WIDE],
    ),
    (
        "a harmless ClusterRoleBinding",
        [
            cluster_role("pod-reader", labels={}, rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
            cluster_role_binding("pods", "pod-reader"),
            cluster_role_binding("viewers", "view"),
        ],
        [],
    ),
]


@pytest.mark.parametrize(("extra", "expected"), [pytest.param(r, e, id=i) for i, r, e in STACK_CASES])
def test_no_cluster_wide_secret_read(extra: list[Resource], expected: list[str]) -> None:
    violations = run_stack_policies([*healthy_stack(), *extra])
    assert names(violations) == expected
    assert all(v.urn and "ClusterRoleBinding" in v.urn for v in violations)
    assert_no_canary(violations)


@pytest.mark.parametrize(
    ("config", "role_name", "expected"),
    [
        pytest.param(None, "edit", [CLUSTER_WIDE], id="edit reads secrets by default"),
        pytest.param({"secretReadingClusterRoles": ["kecs-system-secret-reader"]}, "edit", [], id="list narrowed"),
        pytest.param({"secretReadingClusterRoles": ["vault-reader"]}, "vault-reader", [CLUSTER_WIDE], id="list extended"),
        pytest.param(
            {"secretReadingClusterRoles": []},
            "kecs-system-secret-reader",
            [CLUSTER_WIDE],
            id="a role in the stack that reads secrets is found anyway",
        ),
    ],
)
def test_no_cluster_wide_secret_read_config(config: dict | None, role_name: str, expected: list[str]) -> None:
    resources = [*healthy_stack(), cluster_role_binding("b", role_name)]
    assert names(run_stack_policies(resources, {CLUSTER_WIDE: config} if config else None)) == expected
