"""kecs-master-placement: masters only in the master namespace, named by kecs_secrets.naming (KECS's name or a hashed form)."""

from __future__ import annotations

import pytest
from kecs_policies.masters import expected_names

from kecs_secrets.naming import MAX_ROUNDS, assign_names, kubernetes_name, possible_names
from tests.policies.conftest import (
    MASTER_NS,
    Resource,
    assert_no_canary,
    master,
    master_annotations,
    master_labels,
    names,
    run_resource_policies,
)

POLICY = "kecs-master-placement"
COLLIDING = assign_names([("ssm", "/App/DB_pass"), ("ssm", "app/db-pass")])
SQUATTED = assign_names([("ssm", "/App/DB_pass"), ("ssm", "app/db-pass"), ("ssm", COLLIDING[("ssm", "/App/DB_pass")][len("ssm-"):])])

CASES = [
    ("secret master", master("sm-app-db", "app/db"), []),
    ("ssm String master", master("ssm-app-flags", "/app/flags", source="ssm", item_type="String"), []),
    ("dots kept, uppercase lowered", master("sm-myapp-prod-db.v2", "MyApp/prod/db.v2"), []),
    ("KECS keeps runs of '-'", master("sm-svc-db--main", "svc/db--main"), []),
    ("runs collapsed is not KECS's name", master("sm-svc-db-main", "svc/db--main"), [POLICY]),
    ("'+' mended, with a hash", master(kubernetes_name("secretsmanager", "a+b"), "a+b"), []),
    (
        "a further round after the collision form was taken",
        master(SQUATTED[("ssm", "/App/DB_pass")], "/App/DB_pass", source="ssm", item_type="SecureString"),
        [],
    ),
    (
        "disambiguated name on a collision",
        master(COLLIDING[("ssm", "/App/DB_pass")], "/App/DB_pass", source="ssm", item_type="SecureString"),
        [],
    ),
    (
        "a round beyond the third (squatters held rounds 1 to 3 when it was named; it keeps the name)",
        master(kubernetes_name("ssm", "/App/DB_pass", round=4), "/App/DB_pass", source="ssm", item_type="SecureString"),
        [],
    ),
    (
        "the last round a new item may take",
        master(kubernetes_name("ssm", "/App/DB_pass", round=MAX_ROUNDS), "/App/DB_pass", source="ssm", item_type="SecureString"),
        [],
    ),
    (
        "another item's hashed name",
        master(kubernetes_name("ssm", "app/db-pass", round=1), "/App/DB_pass", source="ssm", item_type="SecureString"),
        [POLICY],
    ),
    ("long name cut with a hash", master(kubernetes_name("secretsmanager", "x" * 400), "x" * 400), []),
    ("KECS bug 1: dot sanitised away", master("sm-myapp-prod-db-v2", "myapp/prod/db.v2"), [POLICY]),
    ("KECS bug 2: suffix stripped", master("sm-app", "app-config"), [POLICY]),
    ("wrong prefix for the source", master("ssm-app-db", "app/db"), [POLICY]),
    ("outside the master namespace", master("sm-app-db", "app/db", namespace="team-a"), [POLICY]),
    ("namespace left to the provider default", master("sm-app-db", "app/db", namespace=None), [POLICY]),
    ("no source-name annotation", master("sm-app-db", "app/db", annotations={}), [POLICY]),
    ("no source-name and a foreign prefix", master("app-db", "app/db", annotations={}), [POLICY, POLICY]),
    ("source label unknown", master("sm-app-db", "app/db", labels={**master_labels(), "kecs.io/source": "vault"}), [POLICY]),
    (
        "managed-by someone else",
        master("sm-app-db", "app/db", labels={"kecs.io/managed-by": "helm", "kecs.io/source": "secretsmanager"}),
        [POLICY],
    ),
    ("a random hash suffix is not the collision form", master("sm-app-db-0123abcd", "app/db"), [POLICY]),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_master_placement(resource: Resource, expected: list[str]) -> None:
    violations = run_resource_policies(resource)
    assert names(violations) == expected
    assert_no_canary(violations)


def test_unlabelled_objects_are_not_masters() -> None:
    resource = Resource("kubernetes:core/v1:Secret", {"metadata": {"name": "tls", "namespace": "team-a"}, "type": "kubernetes.io/tls"})
    assert names(run_resource_policies(resource)) == []


def test_expected_names_come_from_the_program_naming_function() -> None:
    assert expected_names("secretsmanager", "myapp/prod/db.v2") == possible_names("secretsmanager", "myapp/prod/db.v2")
    # Written out: KECS's name, then sha256("secretsmanager:myapp/prod/db.v2"), the same with ":2", with ":3".
    assert expected_names("secretsmanager", "myapp/prod/db.v2")[:4] == (
        "sm-myapp-prod-db.v2", "sm-myapp-prod-db.v2-9bab55e4", "sm-myapp-prod-db.v2-781ce648", "sm-myapp-prod-db.v2-9f7bcb1b",
    )
    assert len(expected_names("secretsmanager", "myapp/prod/db.v2")) == 1 + 16  # KECS's name and 16 hashed rounds
    assert expected_names("secretsmanager", "myapp/prod/db.v2") == tuple(
        kubernetes_name("secretsmanager", "myapp/prod/db.v2", round=r) for r in range(MAX_ROUNDS + 1)
    )


def test_provider_default_namespace_counts() -> None:
    resource = master("sm-app-db", "app/db", namespace=None)
    resource.provider_props = {"namespace": MASTER_NS}
    assert names(run_resource_policies(resource)) == []


@pytest.mark.parametrize(
    ("config", "namespace", "expected"),
    [
        pytest.param(None, MASTER_NS, [], id="default"),
        pytest.param({"masterNamespace": "hub"}, "hub", [], id="configured"),
        pytest.param({"masterNamespace": "hub"}, MASTER_NS, [POLICY], id="default rejected once configured"),
    ],
)
def test_master_namespace_config(config: dict | None, namespace: str, expected: list[str]) -> None:
    resource = master("sm-app-db", "app/db", namespace=namespace)
    assert names(run_resource_policies(resource, {POLICY: config} if config else None)) == expected


def test_message_names_the_expected_name() -> None:
    [violation] = run_resource_policies(
        master("sm-myapp-prod-db-v2", "myapp/prod/db.v2", annotations=master_annotations("myapp/prod/db.v2"))
    )
    assert "'sm-myapp-prod-db.v2'" in violation.message
