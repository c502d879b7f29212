"""The stack settings as the program reads them: Pulumi's typed getters over the config map the CLI hands it."""

from __future__ import annotations

import os

import pulumi.runtime
import pytest

from kecs_secrets.errors import ConfigError
from providers.stack_config import load_settings, read_stack_file
from tests.support.real import ROOT


@pytest.fixture
def stack_config(monkeypatch):
    """Set the program's config map (what the language host fills from PULUMI_CONFIG)."""
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)

    def put(values: dict[str, str]) -> None:
        pulumi.runtime.set_all_config(values)

    yield put
    pulumi.runtime.set_all_config({})


def test_dev_stack_config_is_valid(stack_config):
    stack_config(read_stack_file(os.path.join(ROOT, "Pulumi.dev.yaml")))
    settings = load_settings()
    assert settings.max_master_deletions == 10  # written as the text "10" in Pulumi.dev.yaml
    # The demo's demand comes from its ECS API (moto's server on port 4599), where `make seed` registers it.
    assert settings.task_definitions == ()
    assert (settings.ecs_demand.enabled, settings.ecs_demand.endpoint, settings.ecs_demand.region) == (True, "http://127.0.0.1:4599", "us-east-1")


def test_staging_stack_config_is_valid(stack_config):
    """The second environment: another endpoint, region and master namespace."""
    stack_config(read_stack_file(os.path.join(ROOT, "Pulumi.staging.yaml")))
    settings = load_settings()
    assert (settings.endpoint, settings.region, settings.master_namespace) == ("http://127.0.0.1:5000", "eu-west-1", "kecs-staging")


def test_text_values_are_read_by_the_getter_of_their_type(stack_config):
    stack_config({
        "kecs-secrets:maxMasterDeletions": "3",
        "kecs-secrets:podDemand": "true",
        "kecs-secrets:demand": '{"ns": ["a"]}',
        "kecs-secrets:namePrefixes": '["p/"]',
    })
    settings = load_settings()
    assert (settings.max_master_deletions, settings.pod_demand, settings.demand) == (3, True, {"ns": ["a"]})
    assert settings.name_prefixes == ("p/",)


@pytest.mark.parametrize(
    ("key", "text", "line"),
    [
        ("maxMasterDeletions", "ten", "config kecs-secrets:maxMasterDeletions must be of type integer"),
        ("podDemand", "yes", "config kecs-secrets:podDemand must be of type boolean"),
        ("demand", "{ns: [a", "config kecs-secrets:demand must be of type object"),
        ("namePrefixes", '{"a": 1}', "config kecs-secrets:namePrefixes must be of type array of string"),
    ],
)
def test_wrong_type_names_the_key_and_the_type_never_the_value(stack_config, key, text, line):
    stack_config({f"kecs-secrets:{key}": text})
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == line


def test_unknown_key_in_the_namespace_is_an_error_other_namespaces_are_not_ours(stack_config):
    stack_config({"kecs-secrets:podDemnd": "true", "kubernetes:context": "x", "aws:region": "us-east-1"})
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == "unknown config key kecs-secrets:podDemnd (closest known key: kecs-secrets:podDemand)"


def test_unknown_key_from_the_environment_map_is_an_error(stack_config, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", '{"kecs-secrets:rbacmode": "need-to-know"}')
    with pytest.raises(ConfigError, match=r"kecs-secrets:rbacmode \(closest known key: kecs-secrets:rbacMode\)"):
        load_settings()
