"""kecs-no-secret-in-configmap: no kecs ConfigMap under ssmKind 'secret' (the default); under 'by-sensitivity' only
String/StringList parameters become ConfigMaps; no credential-like keys anywhere."""

from __future__ import annotations

import pytest

from tests.policies.conftest import (
    CANARY,
    CONFIG_MAP,
    UNKNOWN_OBJECT,
    Resource,
    assert_no_canary,
    config_map,
    master,
    master_annotations,
    master_labels,
    names,
    replica,
    replica_annotations,
    run_resource_policies,
)

POLICY = "kecs-no-secret-in-configmap"
BY_SENSITIVITY = {POLICY: {"ssmKind": "by-sensitivity"}}

# Judged with ssmKind 'by-sensitivity' (the stack's explicit ADR 21 setting).
CASES = [
    ("String parameter master", master("ssm-app-flags", "/app/flags", kind=CONFIG_MAP, source="ssm", item_type="String"), []),
    ("StringList parameter master", master("ssm-app-hosts", "/app/hosts", kind=CONFIG_MAP, source="ssm", item_type="StringList"), []),
    ("String parameter replica", replica("ssm-app-flags", "team-a", kind=CONFIG_MAP, source="ssm"), []),
    ("plain application ConfigMap", config_map("settings", "team-a", {"LOG_LEVEL": "debug", "feature.x": "on"}), []),
    (
        "SecureString parameter master",
        master("ssm-app-db-password", "/app/db/password", kind=CONFIG_MAP, source="ssm", item_type="SecureString"),
        [POLICY],
    ),
    ("Secrets Manager master as ConfigMap", master("sm-app-db", "app/db", kind=CONFIG_MAP), [POLICY]),
    ("Secrets Manager replica as ConfigMap", replica("sm-app-db", "team-a", kind=CONFIG_MAP), [POLICY]),
    (
        "SecureString replica",
        replica(
            "ssm-app-db-password",
            "team-a",
            kind=CONFIG_MAP,
            source="ssm",
            annotations={**replica_annotations(), "kecs.io/source-type": "SecureString"},
        ),
        [POLICY],
    ),
    (
        "master without source-type",
        master("ssm-app-flags", "/app/flags", kind=CONFIG_MAP, source="ssm", annotations={"kecs.io/source-name": "/app/flags"}),
        [POLICY],
    ),
    ("credential-like key in an application ConfigMap", config_map("settings", "team-a", {"db_password": CANARY}), [POLICY]),
    (
        "several credential-like keys, one report",
        config_map("settings", "team-a", {"API_KEY": CANARY, "auth-token": CANARY, "privateKey": CANARY}),
        [POLICY],
    ),
    (
        "credential-like key in binaryData",
        Resource(CONFIG_MAP, {"metadata": {"name": "blob", "namespace": "team-a"}, "binaryData": {"client-secret.bin": "AAEC"}}),
        [POLICY],
    ),
    (
        "JSON key of a String parameter that looks like a password",
        master("ssm-app-conf", "/app/conf", kind=CONFIG_MAP, source="ssm", item_type="String", data={"value": "x", "password": CANARY}),
        [POLICY],
    ),
    (
        "SecureString and credential key: two reports",
        master("ssm-app-db", "/app/db", kind=CONFIG_MAP, source="ssm", item_type="SecureString", data={"PASSWORD": CANARY}),
        [POLICY, POLICY],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_configmaps(resource: Resource, expected: list[str]) -> None:
    violations = run_resource_policies(resource, BY_SENSITIVITY)
    assert names(violations) == expected
    assert_no_canary(violations)


def test_message_names_keys_never_values() -> None:
    [violation] = run_resource_policies(config_map("settings", "team-a", {"db_password": CANARY, "LOG_LEVEL": "debug"}))
    assert "['db_password']" in violation.message
    assert CANARY not in violation.message and "debug" not in violation.message


def test_secrets_are_not_configmaps() -> None:
    resource = Resource("kubernetes:core/v1:Secret", {"metadata": {"name": "db", "namespace": "team-a"}, "data": {"password": "eA=="}})
    assert names(run_resource_policies(resource)) == []


def test_unknown_data_in_preview_is_not_judged() -> None:
    resource = master("ssm-app-flags", "/app/flags", kind=CONFIG_MAP, source="ssm", item_type="String")
    resource.props["data"] = UNKNOWN_OBJECT  # type: ignore[index]
    assert names(run_resource_policies(resource, BY_SENSITIVITY)) == []


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        pytest.param(master("ssm-app-flags", "/app/flags", kind=CONFIG_MAP, source="ssm", item_type="String"), [POLICY], id="String master"),
        pytest.param(replica("ssm-app-flags", "team-a", kind=CONFIG_MAP, source="ssm"), [POLICY], id="String replica"),
        pytest.param(master("sm-app-db", "app/db", kind=CONFIG_MAP), [POLICY], id="Secrets Manager master"),
        pytest.param(config_map("settings", "team-a", {"LOG_LEVEL": "debug"}), [], id="application ConfigMap"),
        pytest.param(master("ssm-app-flags", "/app/flags", source="ssm", item_type="String"), [], id="String master as a Secret"),
    ],
)
def test_default_ssm_kind_secret_allows_no_kecs_configmap(resource: Resource, expected: list[str]) -> None:
    """The program's default makes every SSM parameter a Secret (what KECS pods read): a kecs ConfigMap is a mistake."""
    violations = run_resource_policies(resource)
    assert names(violations) == expected
    if violations:
        assert "KECS pods read SSM parameters through secretKeyRef only" in violations[0].message
    assert names(run_resource_policies(resource, {POLICY: {"ssmKind": "secret"}})) == expected


@pytest.mark.parametrize(
    ("config", "data", "expected"),
    [
        pytest.param(None, {"token_endpoint": "https://idp"}, [POLICY], id="default pattern matches token"),
        pytest.param({"allowedKeys": ["token_endpoint"]}, {"token_endpoint": "https://idp"}, [], id="allowed key"),
        pytest.param({"allowedKeys": ["token_endpoint"]}, {"token_endpoint": "x", "token": "y"}, [POLICY], id="only the exact key allowed"),
        pytest.param({"credentialKeyPattern": "(?i)^pin$"}, {"PIN": "1234"}, [POLICY], id="custom pattern matches"),
        pytest.param({"credentialKeyPattern": "(?i)^pin$"}, {"password": "x"}, [], id="custom pattern replaces default"),
        pytest.param({"credentialKeyPattern": "("}, {"x": "y"}, [POLICY], id="invalid pattern is reported"),
    ],
)
def test_config(config: dict | None, data: dict[str, str], expected: list[str]) -> None:
    resource = config_map("settings", "team-a", data)
    assert names(run_resource_policies(resource, {POLICY: config} if config else None)) == expected


def test_kecs_labels_alone_make_a_master() -> None:
    resource = config_map(
        "ssm-app-x",
        "kecs-system",
        {"value": "v"},
        labels=master_labels("ssm"),
        annotations={**master_annotations("/app/x"), "kecs.io/source-type": "String"},
    )
    resource.props["metadata"]["annotations"]["kecs.io/source-name"] = "app-x"  # type: ignore[index]
    assert names(run_resource_policies(resource, BY_SENSITIVITY)) == []
