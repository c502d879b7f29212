import pytest

from kecs_secrets.demand import (
    ecs_cluster_namespace,
    merge,
    references_from_config,
    references_from_pod,
    references_from_task_definition,
)
from kecs_secrets.errors import ConfigError
from kecs_secrets.model import Reference

ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:username::"


def test_cluster_namespace_follows_kecs():
    assert ecs_cluster_namespace("default", "us-east-1") == "default-us-east-1"


def test_config_demand_records_origin():
    refs = references_from_config({"ns": ["a", "b"]}, "kecs-secrets:demand")
    assert refs == [Reference("ns", "a", "config kecs-secrets:demand.ns[0]"), Reference("ns", "b", "config kecs-secrets:demand.ns[1]")]


def test_task_definition_secrets_become_references():
    document = {
        "family": "web",
        "containerDefinitions": [
            {"name": "app", "secrets": [{"name": "DB_USER", "valueFrom": ARN}, {"name": "P", "valueFrom": "/app/db/password"}]},
            {"name": "sidecar"},
        ],
    }
    refs = references_from_task_definition(document, "default-us-east-1", "task definition web.json")
    assert [r.value_from for r in refs] == [ARN, "/app/db/password"]
    assert refs[0].origin == "task definition web.json (family web, container app, secret DB_USER)"


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ([], "must be a JSON object"),
        ({}, "'containerDefinitions' must be a list"),
        ({"containerDefinitions": ["x"]}, r"containerDefinitions\[0\] must be an object"),
        ({"containerDefinitions": [{"secrets": {}}]}, "secrets must be a list"),
        ({"containerDefinitions": [{"secrets": [{"name": "X"}]}]}, "needs a string 'valueFrom'"),
    ],
)
def test_malformed_task_definition_names_the_file(document, why):
    with pytest.raises(ConfigError, match=f"td.json: .*{why}"):
        references_from_task_definition(document, "ns", "td.json")


def test_pod_annotations_become_references_and_keep_colons_of_arns():
    pod = {
        "metadata": {
            "name": "web-1",
            "namespace": "default-us-east-1",
            "annotations": {
                "kecs.dev/secret-count": "2",
                "kecs.dev/secret-2-arn": "app:P:/app/db/password",
                "kecs.dev/secret-1-arn": f"app:DB_USER:{ARN}",
                "other": "x",
            },
        }
    }
    refs = references_from_pod(pod)
    assert [r.value_from for r in refs] == [ARN, "/app/db/password"]
    assert refs[0].origin == "pod default-us-east-1/web-1 annotation kecs.dev/secret-1-arn"


def test_malformed_pod_annotation_names_the_pod():
    pod = {"metadata": {"name": "p", "namespace": "n", "annotations": {"kecs.dev/secret-1-arn": "no-colons"}}}
    with pytest.raises(ConfigError, match="pod n/p annotation kecs.dev/secret-1-arn"):
        references_from_pod(pod)


def test_merge_dedupes_and_sorts():
    a = Reference("n", "x", "o")
    assert merge([a], [a], [Reference("m", "y", "o")]) == [Reference("m", "y", "o"), a]
