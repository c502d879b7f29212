"""The KECS stand-in (`kecs-secrets kecs-pods`, kecs_cli/commands/kecs_pods.py): pods as KECS's task converter makes them, and the resolution check."""

from __future__ import annotations

import pytest

from kecs_cli.commands.kecs_pods import check_pods, kecs_pod, secret_key_ref
from kecs_secrets.naming import kecs_secret_key_ref
from tests.unit.test_kecs_compatibility import corpus, items_of, value_froms
from tests.unit.test_kecs_compatibility import kecs_secret_key_ref as compat_reading

ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-AbC123"
TASK = {
    "family": "web",
    "containerDefinitions": [
        {"name": "app", "secrets": [
            {"name": "DB_USER", "valueFrom": f"{ARN}:username::"},
            {"name": "PARAM", "valueFrom": "/app/param"},  # a bare name: annotated, but KECS makes no variable
        ]},
        {"name": "sidecar", "secrets": [{"name": "HOST", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/app/db.host"}]},
        {"name": "plain"},
    ],
}


def test_annotations_count_from_zero_across_containers_and_env_holds_secret_key_refs():
    pod = kecs_pod(TASK, "web-us-east-1", "web-task", "web")
    assert pod["metadata"]["annotations"] == {
        "kecs.dev/secret-0-arn": f"app:DB_USER:{ARN}:username::",
        "kecs.dev/secret-1-arn": "app:PARAM:/app/param",
        "kecs.dev/secret-2-arn": "sidecar:HOST:arn:aws:ssm:us-east-1:000000000000:parameter/app/db.host",
        "kecs.dev/secret-count": "3",
    }
    env = {c["name"]: c["env"] for c in pod["spec"]["containers"]}
    assert env == {
        "app": [{"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "sm-db-creds", "key": "username"}}}],
        "sidecar": [{"name": "HOST", "valueFrom": {"secretKeyRef": {"name": "ssm-app-db.host", "key": "value"}}}],
        "plain": [],
    }


def test_check_names_the_missing_secret_or_key():
    pod = kecs_pod(TASK, "web-us-east-1", "web-task", "web")
    refs = check_pods([pod], {("web-us-east-1", "sm-db-creds"): ["value"]})
    assert [(r.env, r.problem) for r in refs] == [
        ("DB_USER", "Secret web-us-east-1/sm-db-creds has no key 'username'"),
        ("HOST", "no Secret 'ssm-app-db.host' in web-us-east-1"),
    ]
    refs = check_pods([pod], {("web-us-east-1", "sm-db-creds"): ["username", "value"], ("web-us-east-1", "ssm-app-db.host"): ["value"]})
    assert all(r.resolves for r in refs)


def test_pods_without_kecs_annotations_are_not_checked():
    assert check_pods([{"metadata": {"name": "x", "namespace": "n"}, "spec": {"containers": []}}], {}) == []


@pytest.mark.parametrize("source", ["secretsmanager", "ssm"])
def test_three_readings_of_kecs_rule_agree_over_the_corpus(source):
    """The stand-in, the compatibility test's own reading and the project's model of KECS give the same reference."""
    import random

    secret_names, parameter_names = corpus()
    items = [i for i in items_of(secret_names, parameter_names, random.Random(7)) if i.source == source]
    for item in items:
        for _form, value_from in value_froms(item):
            project = kecs_secret_key_ref(value_from)
            assert secret_key_ref(value_from) == compat_reading(value_from) == (project.name, project.key), value_from
