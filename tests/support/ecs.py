"""An ECS API for tests: moto's server (which serves ECS; LocalStack community does not), behind a proxy that
enforces AWS's page and batch limits, which moto does not, and counts every call and its batch size.

    with moto_server(account="000000000000") as moto, ecs_api(moto) as api:
        api.client.create_cluster(...)          # straight to moto
        EcsSource(api.endpoint, REGION)         # through the limits, counted in api.proxy / api.sizes
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from tests.support.counting_proxy import CountingProxy

__all__ = ["BATCHES", "ECS", "PAGE_MAX", "AwsEcsLimits", "EcsApi", "ecs_api", "ecs_client", "register", "run_tasks"]

ECS = "AmazonEC2ContainerServiceV20141113."
# What AWS allows: List* pages (maxResults, default 100) and Describe* batches.
PAGED = {"ListClusters": "clusterArns", "ListServices": "serviceArns", "ListTasks": "taskArns", "ListTaskDefinitions": "taskDefinitionArns"}
BATCHES = {"DescribeServices": ("services", 10), "DescribeTasks": ("tasks", 100)}
PAGE_MAX = 100


@dataclass
class AwsEcsLimits:
    """The ``limits`` hook of CountingProxy for ECS: pages and batches as AWS has them; ``sizes`` per API."""

    sizes: dict[str, list[int]] = field(default_factory=lambda: collections.defaultdict(list))

    def __call__(self, target: str, body: bytes | None) -> tuple[tuple[int, str] | None, bytes | None, Any]:
        api = target[len(ECS):] if target.startswith(ECS) else ""
        request = json.loads(body or b"{}") if api else {}
        if api in BATCHES:
            key, limit = BATCHES[api]
            self.sizes[api].append(len(request.get(key) or []))
            if len(request.get(key) or []) > limit:
                return (400, "InvalidParameterException"), body, None
        if api not in PAGED:
            return None, body, None
        page = request.pop("maxResults", PAGE_MAX)
        start = int(request.pop("nextToken", "0") or "0")
        if page > PAGE_MAX:
            return (400, "InvalidParameterException"), body, None
        self.sizes[api].append(page)

        def reshape(data: bytes) -> bytes:
            answer = json.loads(data)
            found = answer.get(PAGED[api]) or []
            answer[PAGED[api]] = found[start : start + page]
            answer.pop("nextToken", None)
            if start + page < len(found):
                answer["nextToken"] = str(start + page)
            return json.dumps(answer).encode()

        return None, json.dumps(request).encode(), reshape


@dataclass
class EcsApi:
    endpoint: str  # the proxy (limits enforced, calls counted)
    proxy: CountingProxy
    limits: AwsEcsLimits
    client: Any  # straight to moto, for setting the scene

    def calls(self) -> dict[str, int]:
        """ECS calls since the last look (by API name), and reset."""
        self.limits.sizes.clear()
        return {k[len(ECS):]: v for k, v in self.proxy.take().items() if k.startswith(ECS)}


def ecs_client(endpoint: str, region: str = "us-east-1") -> Any:
    return boto3.client("ecs", endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test")


@contextmanager
def ecs_api(moto: str, region: str = "us-east-1") -> Iterator[EcsApi]:
    limits = AwsEcsLimits()
    with CountingProxy(moto, limits=limits) as proxy:
        yield EcsApi(proxy.endpoint, proxy, limits, ecs_client(moto, region))


def register(client: Any, family: str, secrets: list[dict[str, str]], **container: Any) -> str:
    """Register a revision of ``family`` with one container ``app`` reading ``secrets``; its ARN."""
    definition = {"name": "app", "image": "busybox", "memory": 64, "secrets": secrets, **container}
    return client.register_task_definition(family=family, containerDefinitions=[definition])["taskDefinition"]["taskDefinitionArn"]


def run_tasks(client: Any, cluster: str, task_definition: str, count: int) -> list[str]:
    """Start ``count`` tasks (moto runs FARGATE tasks without container instances); their ARNs."""
    arns: list[str] = []
    while len(arns) < count:
        started = client.run_task(cluster=cluster, taskDefinition=task_definition, launchType="FARGATE", count=min(10, count - len(arns)))
        arns += [task["taskArn"] for task in started["tasks"]]
    return arns
