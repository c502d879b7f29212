"""The pack as a whole: names and shapes of the policies, the config schema and its example file, and the
analyzer gRPC server started exactly as `pulumi-analyzer-policy-python` starts it (no Pulumi CLI needed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from kecs_policies import DEFAULT_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, plugin_pb2
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from tests.policies.conftest import ALL_POLICY_NAMES, CANARY, CANARY_B64, POLICIES_DIR, ROOT, config_map, healthy_stack, replica

RESOURCE_POLICIES = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
STACK_POLICIES = [p for p in POLICIES if isinstance(p, StackValidationPolicy)]
EXPECTED_NAMES = ALL_POLICY_NAMES


def test_policy_names_are_prefixed_kebab_case_and_unique() -> None:
    found = [p.name for p in POLICIES]
    assert len(found) == len(set(found))
    assert set(found) == EXPECTED_NAMES
    assert all(re.fullmatch(r"kecs-[a-z0-9]+(-[a-z0-9]+)*", name) for name in found)


def test_stack_level_policies() -> None:
    assert {p.name for p in STACK_POLICIES} == {"kecs-no-cluster-wide-secret-read", "kecs-replica-coverage"}


def test_every_policy_has_a_named_validator_function() -> None:
    for policy in POLICIES:
        attr = "_ResourceValidationPolicy__validate" if policy in RESOURCE_POLICIES else "_StackValidationPolicy__validate"
        validate = getattr(policy, attr)
        assert validate.__name__.endswith("_validator"), policy.name
        assert validate.__module__.startswith("kecs_policies."), policy.name


def test_level_is_left_to_the_pack_so_config_can_set_it() -> None:
    assert DEFAULT_ENFORCEMENT_LEVEL.value == "mandatory"
    assert all(p.enforcement_level is None for p in POLICIES)


def test_every_config_property_has_a_type_default_and_description() -> None:
    for policy in POLICIES:
        assert policy.config_schema is not None, policy.name
        for key, schema in policy.config_schema.properties.items():
            assert {"type", "default", "description"} <= set(schema), (policy.name, key)


def test_example_config_file_lists_every_policy_with_its_defaults() -> None:
    with open(os.path.join(POLICIES_DIR, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    assert set(config) == EXPECTED_NAMES
    for policy in POLICIES:
        assert policy.config_schema is not None
        defaults = {key: schema["default"] for key, schema in policy.config_schema.properties.items()}
        assert config[policy.name] == {"enforcementLevel": "mandatory", **defaults}, policy.name


def test_policy_project_file_names_the_packs_own_venv() -> None:
    """The pack runs in its own virtualenv inside its directory (made from requirements.txt), never the project's."""
    with open(os.path.join(POLICIES_DIR, "PulumiPolicy.yaml"), encoding="utf-8") as handle:
        project = yaml.safe_load(handle)
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert os.path.isfile(os.path.join(POLICIES_DIR, "venv", "bin", "python")), "make venv makes policies/venv"


def test_pack_reuses_the_program_naming_code() -> None:
    import kecs_policies.masters as masters

    from kecs_secrets import naming

    assert masters.possible_names is naming.possible_names


# ---- the analyzer server, started like the CLI's pulumi-analyzer-policy-python does ----


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [os.path.join(ROOT, ".venv", "bin", "python"), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=POLICIES_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().decode().strip()
        if not port.isdigit():
            process.kill()
            _, err = process.communicate(timeout=10)
            pytest.fail(f"the pack did not start: {err.decode()[-2000:]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.communicate(timeout=10)


def _struct(value: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def _configure(stub: analyzer_pb2_grpc.AnalyzerStub, levels: dict[str, int], properties: dict[str, dict] | None = None) -> None:
    names = set(levels) | set(properties or {})
    config = {
        name: analyzer_pb2.PolicyConfig(
            enforcementLevel=levels.get(name, analyzer_pb2.MANDATORY), properties=_struct((properties or {}).get(name, {}))
        )
        for name in names
    }
    stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))


def _request(resource) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        properties=_struct(dict(resource.props)),
        urn=resource.urn,
        name=resource.name or "r",
        options=analyzer_pb2.AnalyzerResourceOptions(additionalSecretOutputs=list(resource.secret_outputs)),
    )


def test_analyzer_describes_every_policy_with_its_schema(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    assert info.supportsConfig
    assert {p.name for p in info.policies} == EXPECTED_NAMES
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}
    by_name = {p.name: p for p in info.policies}
    assert by_name["kecs-replica-coverage"].policy_type == analyzer_pb2.POLICY_TYPE_STACK
    assert "deniedNamespaces" in by_name["kecs-replica-coverage"].configSchema.properties
    assert analyzer.GetPluginInfo(empty_pb2.Empty()) != plugin_pb2.PluginInfo()


def test_analyzer_reports_by_policy_name_without_values(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer, {})
    response = analyzer.Analyze(_request(config_map("settings", "team-a", {"db_password": CANARY})))
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [("kecs-no-secret-in-configmap", analyzer_pb2.MANDATORY)]
    assert CANARY not in str(response)


def test_enforcement_levels_and_properties_come_from_config(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    bad = config_map("settings", "team-a", {"db_password": CANARY})
    _configure(analyzer, {"kecs-no-secret-in-configmap": analyzer_pb2.ADVISORY})
    assert [d.enforcementLevel for d in analyzer.Analyze(_request(bad)).diagnostics] == [analyzer_pb2.ADVISORY]
    _configure(analyzer, {"kecs-no-secret-in-configmap": analyzer_pb2.DISABLED})
    assert list(analyzer.Analyze(_request(bad)).diagnostics) == []
    _configure(analyzer, {}, {"kecs-no-secret-in-configmap": {"allowedKeys": ["db_password"]}})
    assert list(analyzer.Analyze(_request(bad)).diagnostics) == []
    _configure(analyzer, {})


def test_stack_analysis(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer, {})
    resources = [*healthy_stack(), replica("sm-orphan", "team-a")]
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=_struct(dict(r.props)),
                urn=r.urn,
                name=r.name or "r",
                options=analyzer_pb2.AnalyzerResourceOptions(additionalSecretOutputs=list(r.secret_outputs)),
            )
            for r in resources
        ]
    )
    response = analyzer.AnalyzeStack(request)
    assert [(d.policyName, d.urn) for d in response.diagnostics] == [("kecs-replica-coverage", resources[-1].urn)]
    assert CANARY_B64 not in str(response)


def test_remediate_level_fixes_replica_metadata(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer, {"kecs-replica-metadata": analyzer_pb2.REMEDIATE})
    resource = replica("sm-app-db", "team-a")
    del resource.props["metadata"]["labels"]["kecs.io/managed-by"]  # type: ignore[attr-defined]
    response = analyzer.Remediate(_request(resource))
    [remediation] = response.remediations
    assert remediation.policyName == "kecs-replica-metadata"
    assert remediation.properties["metadata"]["labels"]["kecs.io/managed-by"] == "kecs"
    _configure(analyzer, {})
