"""Demand from a live ECS API, and services restarted when a value they read changed (issue: the ECS demand source).

Real Pulumi CLI, real LocalStack (the values), moto's server as the ECS API (LocalStack community has none;
behind a proxy that enforces AWS's page and batch limits and counts every call), real kube-apiserver. One
scenario on one stack, step by step; each step starts from the state the previous one left.
"""

from __future__ import annotations

import json
import secrets as random

import pytest

from components.outputs import OUTPUT_RESTARTED
from tests.support.counting_proxy import VALUE_READS, CountingProxy
from tests.support.ecs import ecs_api, register, run_tasks
from tests.support.moto import moto_server
from tests.support.stack import ProjectStack

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
STACK_ANNOTATION = "kecs-secrets.io/stack"
K8S = ("kubernetes:core/v1:", "kubernetes:rbac")


def ours(kube, namespace):
    found = kube.get(f"/api/v1/namespaces/{namespace}/secrets") or {"items": []}
    return {o["metadata"]["name"] for o in found["items"] if STACK_ANNOTATION in (o["metadata"].get("annotations") or {})}


def k8s_changes(log):
    return sorted((op, urn.rsplit("::", 1)[1]) for urn, op in log.changed().items() if urn.split("::")[2].rsplit("$", 1)[-1].startswith(K8S))


@pytest.fixture
def scene(tmp_path_factory, endpoint, kubeconfig, kube, aws):
    p = f"e2e{random.token_hex(3)}"
    sm = aws("secretsmanager")
    made = []
    namespaces = [f"{p}-system", f"web-{p}-{REGION}", f"jobs-{p}-{REGION}"]
    kube.create_namespace(namespaces[0])
    kube.create_ecs_namespace(f"web-{p}", REGION)
    kube.create_ecs_namespace(f"jobs-{p}", REGION)
    stack = None
    try:
        with moto_server(account="000000000000") as moto, ecs_api(moto) as ecs, CountingProxy(endpoint) as values:
            arns = {}
            for name, value in (("db", json.dumps({"user": "admin", "password": "pw-1"})), ("token", "tok-1"), ("new", "new-1")):
                arns[name] = sm.create_secret(Name=f"{p}/{name}", SecretString=value)["ARN"]
                made.append(arns[name])
            client = ecs.client
            for cluster in (f"web-{p}", f"jobs-{p}"):
                client.create_cluster(clusterName=cluster)
            web1 = register(client, f"web-{p}", [{"name": "DB_PASSWORD", "valueFrom": f"{arns['db']}:password::"}])
            reporter = register(client, f"rep-{p}", [{"name": "DB_USER", "valueFrom": f"{arns['db']}:user::"}])
            job = register(client, f"job-{p}", [{"name": "TOKEN", "valueFrom": arns["token"]}])
            client.create_service(cluster=f"web-{p}", serviceName="api", taskDefinition=web1, desiredCount=1)
            client.create_service(cluster=f"web-{p}", serviceName="reporter", taskDefinition=reporter, desiredCount=1)
            client.create_service(cluster=f"jobs-{p}", serviceName="worker", taskDefinition=job, desiredCount=1)
            tasks = run_tasks(client, f"jobs-{p}", job, 2)
            config = {
                "endpoint": values.endpoint,
                "region": REGION,
                "masterNamespace": namespaces[0],
                "namePrefixes": [f"{p}/"],
                "kubeconfig": kubeconfig,
                "ecsDemand": {"enabled": True, "endpoint": ecs.endpoint, "restartOnChange": True},
            }
            stack = ProjectStack(tmp_path_factory.mktemp("ecs"), f"ecs-{p}", config)
            yield {"p": p, "stack": stack, "ecs": ecs, "values": values, "sm": sm, "arns": arns, "kube": kube, "tasks": tasks,
                   "web": namespaces[1], "jobs": namespaces[2]}
    finally:
        try:
            if stack is not None:
                stack.remove()
        finally:
            for ns in namespaces:
                kube.delete_namespace(ns)
            for arn in made:
                sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def deployments(s, cluster, names):
    found = s["ecs"].client.describe_services(cluster=cluster, services=list(names))["services"]
    return {service["serviceName"]: service["deployments"][0]["id"] for service in found}


def test_ecs_demand_follows_what_runs_and_restarts_exactly_the_services_reading_a_changed_key(scene):
    s = scene
    p, stack, kube, ecs, values = s["p"], s["stack"], s["kube"], s["ecs"], s["values"]
    db, token, new = f"sm-{p}-db", f"sm-{p}-token", f"sm-{p}-new"

    # 1. The first up serves what the services and tasks read, and restarts nothing.
    result, _ = stack.up()
    assert ours(kube, s["web"]) == {db} and ours(kube, s["jobs"]) == {token}
    assert result.outputs[OUTPUT_RESTARTED].value == []
    first_calls = ecs.calls()
    assert "UpdateService" not in first_calls and first_calls["DescribeTaskDefinition"] == 3

    # 2. Nothing changed: no change, no value read, no UpdateService.
    values.take()
    _, log = stack.up()
    assert log.changed() == {}
    assert not set(values.take()) & VALUE_READS
    assert "UpdateService" not in ecs.calls()

    # 3. A new revision with a new secret, and the service moved to it: the next up adds exactly that replica.
    web2 = register(ecs.client, f"web-{p}", [
        {"name": "DB_PASSWORD", "valueFrom": f"{s['arns']['db']}:password::"}, {"name": "NEW", "valueFrom": s["arns"]["new"]},
    ])
    ecs.client.update_service(cluster=f"web-{p}", service="api", taskDefinition=web2)
    _, log = stack.up()
    # The new replica, and the reader ClusterRole, which names exactly the masters some namespace receives.
    assert k8s_changes(log) == [("create", f"{s['web']}/{new}"), ("update", f"{p}-system-secret-reader")]
    assert ours(kube, s["web"]) == {db, new} and ours(kube, s["jobs"]) == {token}
    assert "UpdateService" not in ecs.calls()

    # 4. One JSON key rotated: the preview lists the services reading that secret and calls nothing; the up restarts
    #    exactly the service reading that key (api reads "password", reporter reads "user"), one call.
    before = deployments(s, f"web-{p}", ["api", "reporter"]) | deployments(s, f"jobs-{p}", ["worker"])
    s["sm"].put_secret_value(SecretId=s["arns"]["db"], SecretString=json.dumps({"user": "admin", "password": "pw-2"}))
    _, preview = stack.preview()
    assert any(f"restartOnChange: ECS services restarted if the value (or JSON key) they read changed: "
               f"['web-{p}/api', 'web-{p}/reporter']" in line for line in preview.text), preview.text
    assert "UpdateService" not in ecs.calls()
    result, _ = stack.up()
    assert result.outputs[OUTPUT_RESTARTED].value == [f"web-{p}/api"]
    assert ecs.calls().get("UpdateService") == 1
    after = deployments(s, f"web-{p}", ["api", "reporter"]) | deployments(s, f"jobs-{p}", ["worker"])
    assert {name for name in before if before[name] != after[name]} == {"api"}

    # ... and the other key: exactly the other service.
    s["sm"].put_secret_value(SecretId=s["arns"]["db"], SecretString=json.dumps({"user": "root", "password": "pw-2"}))
    result, _ = stack.up()
    assert result.outputs[OUTPUT_RESTARTED].value == [f"web-{p}/reporter"]
    assert ecs.calls().get("UpdateService") == 1

    # 5. The jobs cluster's service and tasks deleted: the next up removes the replicas nobody needs any more.
    ecs.client.update_service(cluster=f"jobs-{p}", service="worker", desiredCount=0)
    ecs.client.delete_service(cluster=f"jobs-{p}", service="worker")
    for task in s["tasks"]:
        ecs.client.stop_task(cluster=f"jobs-{p}", task=task)
    _, log = stack.up()
    assert ours(kube, s["jobs"]) == set() and ours(kube, s["web"]) == {db, new}
    assert ("delete", f"{s['jobs']}/{token}") in k8s_changes(log)
    assert not [change for change in k8s_changes(log) if s["web"] in change[1]]
