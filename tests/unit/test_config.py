import os

import pytest
import yaml

from kecs_secrets.config import DEFAULTS, NAMESPACE, SCHEMA, check_known_keys, parse_config
from kecs_secrets.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_defaults_parse():
    settings = parse_config({})
    assert (settings.allowed_namespaces, settings.strict_pod_demand, settings.check_cluster) == ((), False, True)
    assert settings.endpoint == "http://localhost:4566"
    assert settings.master_namespace == "kecs-system"
    assert settings.denied_namespaces == ("kube-system", "kube-public", "kube-node-lease", "default")


def test_pulumi_yaml_declares_every_key_with_the_same_type_and_default():
    """The schema lives in kecs_secrets/config.py and in Pulumi.yaml (which the CLI checks); they must agree."""
    with open(os.path.join(ROOT, "Pulumi.yaml"), encoding="utf-8") as handle:
        declared = yaml.safe_load(handle)["config"]
    assert set(declared) == {f"{NAMESPACE}:{k}" for k in SCHEMA}
    for name, key in SCHEMA.items():
        entry = declared[f"{NAMESPACE}:{name}"]
        assert entry["type"] == key.type, name
        assert (entry.get("items") or {}).get("type") == key.items, name
        assert entry["default"] == key.default == DEFAULTS[name], name
        assert entry.get("description"), name


@pytest.mark.parametrize(
    ("raw", "culprit"),
    [
        ({"nope": 1}, "kecs-secrets:nope"),
        ({"tags": []}, "kecs-secrets:tags must be of type object"),
        ({"taskDefinitions": {}}, "kecs-secrets:taskDefinitions must be of type array of object"),
        ({"ssmPaths": "/"}, "kecs-secrets:ssmPaths must be of type array of string"),
        ({"checkCluster": "false"}, "kecs-secrets:checkCluster must be of type boolean"),
        ({"endpoint": "localhost"}, "kecs-secrets:endpoint"),
        ({"region": "moon"}, "kecs-secrets:region"),
        ({"masterNamespace": "Kecs_System"}, "kecs-secrets:masterNamespace"),
        ({"ssmPaths": ["app"]}, "kecs-secrets:ssmPaths"),
        ({"ssmPaths": "/"}, "kecs-secrets:ssmPaths"),
        ({"tags": {"a": 1}}, "kecs-secrets:tags"),
        ({"demand": {"ns": "arn"}}, "kecs-secrets:demand"),
        ({"maxMasterDeletions": -1}, "kecs-secrets:maxMasterDeletions"),
        ({"maxMasterDeletions": True}, "kecs-secrets:maxMasterDeletions"),
        ({"rbacMode": "admin"}, "kecs-secrets:rbacMode"),
        ({"ssmKind": "configmap"}, "kecs-secrets:ssmKind"),
        ({"kubeClientQps": 0}, "kecs-secrets:kubeClientQps"),
        ({"kubeClientBurst": 1.5}, "kecs-secrets:kubeClientBurst"),
        ({"unresolvedReferences": "ignore"}, "kecs-secrets:unresolvedReferences"),
        ({"podDemand": "yes"}, "kecs-secrets:podDemand"),
        ({"taskDefinitions": [{"path": "x.json"}]}, "kecs-secrets:taskDefinitions[0]"),
        ({"taskDefinitions": [{"path": "x", "cluster": "c", "region": "mars"}]}, "kecs-secrets:taskDefinitions[0].region"),
        ({"taskDefinitions": [{"path": "x", "cluster": "Bad_Cluster"}]}, "kecs-secrets:taskDefinitions[0].cluster"),
        ({"allowedNamespaces": "tools"}, "kecs-secrets:allowedNamespaces"),
        ({"allowedNamespaces": ["Not_A_Namespace"]}, "kecs-secrets:allowedNamespaces"),
        ({"allowedNamespaces": ["kecs-system"]}, "kecs-secrets:allowedNamespaces"),
        ({"strictPodDemand": "yes"}, "kecs-secrets:strictPodDemand"),
        ({"clusters": "web"}, "kecs-secrets:clusters must be of type array of string"),
        ({"clusters": [""]}, "kecs-secrets:clusters entry ''"),
        ({"clusters": ["Web_App"]}, "kecs-secrets:clusters entry 'Web_App' gives no valid namespace name <cluster>-us-east-1"),
    ],
)
def test_invalid_config_names_the_key(raw, culprit):
    with pytest.raises(ConfigError, match=culprit.replace("[", r"\[").replace("]", r"\]")):
        parse_config(raw)


@pytest.mark.parametrize(
    ("names", "line"),
    [
        (["podDemnd"], "unknown config key kecs-secrets:podDemnd (closest known key: kecs-secrets:podDemand)"),
        (["masternamespace"], "unknown config key kecs-secrets:masternamespace (closest known key: kecs-secrets:masterNamespace)"),
        (["region", "tag", "kubeConfig"], "unknown config keys kecs-secrets:kubeConfig (closest known key: kecs-secrets:kubeconfig), "
         "kecs-secrets:tag (closest known key: kecs-secrets:tags)"),
        (["zzz"], "unknown config key kecs-secrets:zzz (closest known key: kecs-secrets:"),
    ],
)
def test_unknown_key_is_named_with_the_closest_known_key(names, line):
    with pytest.raises(ConfigError) as caught:
        check_known_keys(names)
    assert str(caught.value).startswith(line)
    with pytest.raises(ConfigError):
        parse_config(dict.fromkeys(names, ""))


def test_task_definition_region_defaults_to_stack_region():
    settings = parse_config({"region": "eu-west-1", "taskDefinitions": [{"path": "a.json", "cluster": "c"}]})
    assert settings.task_definitions[0].region == "eu-west-1"


def test_clusters_default_to_every_cluster_of_the_stacks_region():
    assert parse_config({}).clusters == ()
    assert parse_config({"region": "eu-west-1", "clusters": ["web", "batch"]}).clusters == ("web", "batch")


def test_every_ssm_parameter_is_a_secret_by_default():
    assert parse_config({}).ssm_kind == "secret"
    assert parse_config({"ssmKind": "by-sensitivity"}).layout_settings("s").ssm_kind == "by-sensitivity"


@pytest.mark.parametrize("value", [True, False, "true"])
def test_the_removed_ssm_all_secrets_is_refused_naming_its_replacement(value):
    with pytest.raises(ConfigError) as caught:
        parse_config({"ssmAllSecrets": value})
    message = str(caught.value)
    assert message.startswith("config kecs-secrets:ssmAllSecrets was removed: use kecs-secrets:ssmKind")
    assert "\n" not in message
