"""AWS-side policies: credential-like SSM parameters are SecureString; no zero recovery window outside disposable stacks."""

from __future__ import annotations

import pytest
from kecs_policies.aws import secret_recovery_window, secret_recovery_window_remediation
from pulumi_policy.deserialize import serialize_properties

from tests.policies.conftest import CANARY, Resource, assert_no_canary, names, resource_args, run_resource_policies

SECURE = "kecs-aws-credential-parameter-securestring"
RECOVERY = "kecs-aws-secret-recovery-window"
PARAMETER = "aws:ssm/parameter:Parameter"
SECRET = "aws:secretsmanager/secret:Secret"


def parameter(name: str | None, kind: str, resource_name: str = "param") -> Resource:
    props = {"type": kind, "value": CANARY}
    if name is not None:
        props["name"] = name
    return Resource(PARAMETER, props, name=resource_name)


def aws_secret(window: object = None, stack: str = "dev") -> Resource:
    props: dict[str, object] = {"name": "app/db"}
    if window is not None:
        props["recoveryWindowInDays"] = window
    return Resource(SECRET, props, name="db", stack=stack)


PARAMETER_CASES = [
    ("password as SecureString", parameter("/app/db/password", "SecureString"), []),
    ("plain setting as String", parameter("/app/feature-flags", "String"), []),
    ("hosts as StringList", parameter("/app/hosts", "StringList"), []),
    ("password as String", parameter("/app/db/password", "String"), [SECURE]),
    ("api key as StringList", parameter("/svc/API_KEY", "StringList"), [SECURE]),
    ("token, any case", parameter("GitHubToken", "String"), [SECURE]),
    ("autonamed from the resource name", parameter(None, "String", resource_name="db-password"), [SECURE]),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=i) for i, r, e in PARAMETER_CASES])
def test_credential_parameters_are_securestring(resource: Resource, expected: list[str]) -> None:
    violations = run_resource_policies(resource)
    assert names(violations) == expected
    assert_no_canary(violations)


@pytest.mark.parametrize(
    ("config", "name", "expected"),
    [
        pytest.param(None, "/app/pin", [], id="default pattern"),
        pytest.param({"credentialNamePattern": "(?i)pin"}, "/app/pin", [SECURE], id="custom pattern"),
        pytest.param({"credentialNamePattern": "(?i)pin"}, "/app/password", [], id="custom pattern replaces default"),
        pytest.param({"credentialNamePattern": "[unclosed"}, "/app/x", [SECURE], id="invalid pattern reported"),
    ],
)
def test_credential_pattern_config(config: dict | None, name: str, expected: list[str]) -> None:
    resource = parameter(name, "String")
    assert names(run_resource_policies(resource, {SECURE: config} if config else None)) == expected


RECOVERY_CASES = [
    ("default window", aws_secret(), []),
    ("explicit 7 days", aws_secret(7), []),
    ("zero", aws_secret(0), [RECOVERY]),
    ("zero as float", aws_secret(0.0), [RECOVERY]),
    ("zero as string", aws_secret("0"), [RECOVERY]),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=i) for i, r, e in RECOVERY_CASES])
def test_recovery_window(resource: Resource, expected: list[str]) -> None:
    assert names(run_resource_policies(resource)) == expected


@pytest.mark.parametrize(
    ("config", "stack", "tags", "expected"),
    [
        pytest.param(None, "dev", None, [RECOVERY], id="not disposable by default"),
        pytest.param({"disposableStacks": ["ci"]}, "ci", None, [], id="listed stack"),
        pytest.param({"disposableStacks": ["kecs-secrets/ci"]}, "ci", None, [], id="listed project/stack"),
        pytest.param({"disposableStacks": ["ci"]}, "dev", None, [RECOVERY], id="other stack listed"),
        pytest.param({"disposableStacks": ["other/ci"]}, "ci", None, [RECOVERY], id="other project listed"),
        pytest.param(None, "dev", {"disposable": "true"}, [], id="stack tag"),
        pytest.param(None, "dev", {"disposable": "TRUE"}, [], id="stack tag any case"),
        pytest.param(None, "dev", {"disposable": "false"}, [RECOVERY], id="stack tag false"),
        pytest.param({"disposableStackTag": "kecs:ephemeral"}, "dev", {"kecs:ephemeral": "true"}, [], id="custom tag"),
        pytest.param({"disposableStackTag": "kecs:ephemeral"}, "dev", {"disposable": "true"}, [RECOVERY], id="default tag replaced"),
    ],
)
def test_disposable_stacks(config: dict | None, stack: str, tags: dict | None, expected: list[str]) -> None:
    resource = aws_secret(0, stack=stack)
    assert names(run_resource_policies(resource, {RECOVERY: config} if config else None, stack_tags=tags)) == expected


@pytest.mark.parametrize(
    ("config", "days"),
    [pytest.param(None, 7, id="default 7 days"), pytest.param({"recoveryWindowInDays": 30}, 30, id="configured")],
)
def test_remediation_sets_a_window(config: dict | None, days: int) -> None:
    fixed = secret_recovery_window_remediation(resource_args(aws_secret(0), config, keep_secrets=True))
    assert fixed is not None
    wire = serialize_properties(fixed)
    assert wire == {"name": "app/db", "recoveryWindowInDays": days}
    assert names(run_resource_policies(Resource(SECRET, wire, name="db"))) == []


@pytest.mark.parametrize(
    ("resource", "tags"),
    [
        pytest.param(aws_secret(7), None, id="already has a window"),
        pytest.param(aws_secret(0), {"disposable": "true"}, id="disposable stack keeps 0"),
        pytest.param(parameter("/x", "String"), None, id="not a secret"),
    ],
)
def test_remediation_leaves_alone(resource: Resource, tags: dict | None) -> None:
    assert secret_recovery_window_remediation(resource_args(resource, None, tags, keep_secrets=True)) is None


def test_recovery_policy_is_remediable() -> None:
    assert secret_recovery_window.has_remediation()
