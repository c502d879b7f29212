"""The pack accepts exactly what the program makes: the real components, registered under Pulumi mocks, give
no violation from any policy (resource policies on every custom resource, stack policies on all of them).

The additional_secret_outputs each resource declares are taken from the registration request itself, so
kecs-secret-data-is-secret judges what the program really declares.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from components.centralized_secrets import CentralizedSecrets, CentralizedSecretsArgs
from kecs_secrets.config import LayoutSettings
from kecs_secrets.layout import plan_layout
from kecs_secrets.model import SECRETSMANAGER, SSM, Reference, SourceItem
from tests.policies.conftest import Resource, assert_no_canary, names, run_resource_policies, run_stack_policies

REGION, ACCOUNT, STACK = "us-east-1", "000000000000", "kecs-secrets/test"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-creds-A1b2C3"


def _secret(name: str, suffix: str) -> SourceItem:
    return SourceItem(
        SECRETSMANAGER, name, f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{suffix}", "v-1", "2025-08-12T13:38:45Z", "secret"
    )


def _parameter(name: str, item_type: str) -> SourceItem:
    return SourceItem(SSM, name, f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}", "1", "2025-08-12T13:38:45Z", item_type)


ITEMS = [
    _secret("db-creds", "A1b2C3"),
    _secret("myapp/prod/db.v2", "Xy12Zq"),
    _parameter("/app/db/password", "SecureString"),
    _parameter("/app/feature-flags", "StringList"),
    _parameter("app-param", "String"),
    # A collision: both map to ssm-app-db-pass, so both get the disambiguated form.
    _parameter("/App/DB_pass", "String"),
    _parameter("app/db-pass", "String"),
]
DEMAND = [
    Reference("default-us-east-1", f"{SECRET_ARN}:username::", "td web.json"),
    Reference("default-us-east-1", "/app/db/password", "td web.json"),
    Reference("default-us-east-1", "app-param", "td web.json"),
    Reference("default-us-east-1", "/App/DB_pass", "td web.json"),
    Reference("batch-us-east-1", f"{SECRET_ARN}:password::", "config"),
    Reference("batch-us-east-1", "/app/feature-flags", "config"),
    Reference("batch-us-east-1", "app/db-pass", "config"),
]


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Resource] = []
        self.secret_outputs: dict[tuple[str, str], tuple[str, ...]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.custom and not args.typ.startswith("pulumi:providers:"):
            self.resources.append(Resource(args.typ, dict(args.inputs), name=args.name))
        outputs = dict(args.inputs)
        if args.typ == "pulumi-python:dynamic/kecs:SourceValues":
            names = list(args.inputs["items"])
            outputs.update({"values": {n: {"value": "ZmFrZQ=="} for n in names}, "fingerprints": {n: "0" * 64 for n in names},
                            "keys": {n: ["value"] for n in names}, "fingerprint_key": "ab" * 32})
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    original = pulumi_mocks.MockMonitor.RegisterResource

    def register(self: pulumi_mocks.MockMonitor, request: Any) -> Any:
        recording.secret_outputs[(request.type, request.name)] = tuple(request.additionalSecretOutputs)
        return original(self, request)

    monkeypatch.setattr(pulumi_mocks.MockMonitor, "RegisterResource", register)
    pulumi.runtime.set_mocks(recording, project="kecs-secrets", stack="test", preview=False)
    return recording


def _register(settings: LayoutSettings) -> None:
    @pulumi.runtime.test
    def run() -> None:
        layout = plan_layout(ITEMS, DEMAND, settings, REGION)
        CentralizedSecrets(
            "kecs-secrets", CentralizedSecretsArgs(layout, settings.master_namespace, "http://localhost:4566", REGION)
        )

    run()


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(LayoutSettings(stack=STACK), id="cluster-role"),
        pytest.param(LayoutSettings(stack=STACK, rbac_mode="need-to-know"), id="need-to-know"),
        pytest.param(LayoutSettings(stack=STACK, ssm_kind="by-sensitivity"), id="ssm-by-sensitivity"),
        pytest.param(LayoutSettings(stack=STACK, master_namespace="hub"), id="other master namespace"),
    ],
)
def test_the_program_passes_every_policy(recorder: Recorder, settings: LayoutSettings) -> None:
    _register(settings)
    resources = recorder.resources
    for resource in resources:
        resource.secret_outputs = recorder.secret_outputs[(resource.type, resource.name)]
    kinds = {r.type for r in resources}
    assert {
        "kubernetes:core/v1:Secret",
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "pulumi-python:dynamic/kecs:SourceValues",
    } <= kinds
    assert ("kubernetes:core/v1:ConfigMap" in kinds) is (settings.ssm_kind == "by-sensitivity")

    config = {
        name: {"masterNamespace": settings.master_namespace}
        for name in ("kecs-replica-metadata", "kecs-master-placement", "kecs-reader-binding", "kecs-replica-coverage")
    }
    config["kecs-no-secret-in-configmap"] = {"ssmKind": settings.ssm_kind}
    violations = [v for r in resources for v in run_resource_policies(r, config)]
    violations += run_stack_policies(resources, config)
    assert names(violations) == [], violations
    assert_no_canary(violations)


def test_a_broken_copy_of_the_program_output_is_caught(recorder: Recorder) -> None:
    """The same objects with one replica renamed: the stack policy sees its master is missing."""
    _register(LayoutSettings(stack=STACK))
    resources = recorder.resources
    for resource in resources:
        resource.secret_outputs = recorder.secret_outputs[(resource.type, resource.name)]
    replica = next(r for r in resources if "kecs.io/replicated-from" in r.props.get("metadata", {}).get("labels", {}))
    replica.props["metadata"]["name"] = "sm-renamed"  # type: ignore[index]
    assert names(run_stack_policies(resources)) == ["kecs-replica-coverage"]
