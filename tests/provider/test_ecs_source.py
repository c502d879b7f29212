"""The ECS demand adapter against a real ECS API (moto's server) with AWS's page and batch limits enforced by a proxy.

Counts every call: pages of 100, DescribeServices by 10, DescribeTasks by 100, each task definition described once.
"""

from __future__ import annotations

import math

import pytest

from kecs_secrets.config import EcsDemandSettings
from kecs_secrets.ecs_demand import ecs_references, read_ecs_demand
from kecs_secrets.errors import ConfigError, SourceUnavailableError
from providers.ecs_source import EcsSource
from tests.support.ecs import ECS, ecs_api, register, run_tasks
from tests.support.moto import moto_server
from tests.support.real import free_ports

REGION = "us-east-1"
SERVICES, TASKS = 150, 230
ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"


@pytest.fixture(scope="module")
def world():
    with moto_server(account="000000000000") as moto, ecs_api(moto) as api:
        ecs = api.client
        for cluster in ("big", "small", "empty"):
            ecs.create_cluster(clusterName=cluster)
        web = [register(ecs, "web", [{"name": "DB", "valueFrom": f"{ARN}db-AbCdEf:password::"}]) for _ in range(3)]
        job = register(ecs, "job", [{"name": "P", "valueFrom": "/app/param"}],
                       repositoryCredentials={"credentialsParameter": f"{ARN}registry-AbCdEf"},
                       logConfiguration={"logDriver": "awsfirelens", "secretOptions": [{"name": "K", "valueFrom": "/app/log-key"}]})
        for index in range(SERVICES):
            ecs.create_service(cluster="big", serviceName=f"svc{index:03d}", taskDefinition=web[index % 2], desiredCount=1)
        run_tasks(ecs, "big", job, TASKS)
        ecs.create_service(cluster="small", serviceName="one", taskDefinition=web[0], desiredCount=1)
        # Another family whose name starts with "web": never an ACTIVE revision of "web".
        register(ecs, "web-other", [{"name": "X", "valueFrom": "/other"}])
        api.calls()
        yield api, web, job


def test_services_come_in_pages_of_100_and_are_described_10_at_a_time(world):
    api = world[0]
    services = EcsSource(api.endpoint, REGION).services("big")
    assert sorted(s["serviceName"] for s in services) == [f"svc{i:03d}" for i in range(SERVICES)]
    sizes = dict(api.limits.sizes)
    assert api.calls() == {"ListServices": math.ceil(SERVICES / 100), "DescribeServices": math.ceil(SERVICES / 10)}
    assert max(sizes["DescribeServices"]) == 10 and sum(sizes["DescribeServices"]) == SERVICES


def test_tasks_come_in_pages_of_100_and_are_described_100_at_a_time(world):
    api, _, job = world
    tasks = EcsSource(api.endpoint, REGION).tasks("big")
    assert len(tasks) == TASKS and {t["taskDefinitionArn"] for t in tasks} == {job}
    sizes = dict(api.limits.sizes)
    assert api.calls() == {"ListTasks": math.ceil(TASKS / 100), "DescribeTasks": math.ceil(TASKS / 100)}
    assert sizes["DescribeTasks"] == [100, 100, 30]


def test_a_run_describes_each_task_definition_once_and_counts_every_secret_field(world):
    api, web, job = world
    demand = read_ecs_demand(EcsSource(api.endpoint, REGION), EcsDemandSettings(enabled=True, region=REGION))
    calls = api.calls()
    # 3 clusters: ListServices and ListTasks once each at least; big: 2 + 15 + 3 + 3; small: 1 + 1 + 1 + 0.
    assert calls == {
        "ListClusters": 1, "ListServices": 2 + 1 + 1, "DescribeServices": 15 + 1, "ListTasks": 3 + 1 + 1, "DescribeTasks": 3,
        "DescribeTaskDefinition": 3,  # web:1, web:2 (services) and job (tasks): each distinct ARN once
    }
    refs, warnings = ecs_references(demand)
    assert warnings == []
    assert sorted({(r.namespace, r.value_from) for r in refs}) == [
        ("big-us-east-1", "/app/log-key"), ("big-us-east-1", "/app/param"), ("big-us-east-1", f"{ARN}db-AbCdEf:password::"),
        ("big-us-east-1", f"{ARN}registry-AbCdEf"), ("small-us-east-1", f"{ARN}db-AbCdEf:password::"),
    ]
    first_task = min(u.name for u in demand.users if u.kind == "task")
    assert {r.origin for r in refs if r.value_from == f"{ARN}registry-AbCdEf"} == {
        f"ECS task big/{first_task} and {TASKS - 1} more, task definition {job}, container app, repositoryCredentials.credentialsParameter"
    }
    assert {r.origin for r in refs if r.namespace == "small-us-east-1"} == {
        f"ECS service small/one, task definition {web[0]}, container app, secrets[0].valueFrom (DB)"
    }


def test_all_revisions_adds_the_active_revisions_of_the_families_in_use_only(world):
    api, web, _ = world
    settings = EcsDemandSettings(enabled=True, region=REGION, clusters=("small",), all_revisions=True)
    demand = read_ecs_demand(EcsSource(api.endpoint, REGION), settings)
    assert sorted({u.task_definition for u in demand.users}) == sorted(web)
    calls = api.calls()
    assert calls["ListTaskDefinitions"] == 1 and calls["DescribeTaskDefinition"] == 3
    assert "ListClusters" not in calls  # the clusters are named


def test_a_failing_call_fails_the_read_in_one_line_naming_the_call_and_the_endpoint(world):
    api = world[0]
    api.proxy.fail = {f"{ECS}DescribeServices": (400, "AccessDeniedException")}
    try:
        with pytest.raises(SourceUnavailableError) as caught:
            read_ecs_demand(EcsSource(api.endpoint, REGION), EcsDemandSettings(enabled=True, region=REGION))
    finally:
        api.proxy.fail = {}
    assert str(caught.value) == f"cannot read ECS DescribeServices (cluster big) from {api.endpoint}: AccessDeniedException"


def test_an_unreachable_api_fails_the_read_and_never_reads_as_no_demand():
    (port,) = free_ports(1)
    with pytest.raises(SourceUnavailableError, match=rf"cannot read ECS ListClusters from http://127.0.0.1:{port}: EndpointConnectionError"):
        read_ecs_demand(EcsSource(f"http://127.0.0.1:{port}", REGION), EcsDemandSettings(enabled=True, region=REGION))


def test_a_named_cluster_the_api_does_not_have_is_a_config_error(world):
    api = world[0]
    with pytest.raises(ConfigError, match="ListServices \\(cluster nope\\).*no such cluster"):
        read_ecs_demand(EcsSource(api.endpoint, REGION), EcsDemandSettings(enabled=True, region=REGION, clusters=("nope",)))
