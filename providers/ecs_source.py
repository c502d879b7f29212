"""The EcsApi over boto3: what KECS's (or AWS's) ECS API says is in use, read the API's own way.

Calls and their limits (the API's): ListClusters, ListServices and ListTasks page 100 at a time;
DescribeServices takes 10 services per call, DescribeTasks 100 tasks; DescribeTaskDefinition one task
definition per call (the core asks for each distinct one once per run); ListTaskDefinitions (only with
``allRevisions``) pages 100 at a time. Retries with backoff are botocore's (``providers.aws``). Any
failure raises one SourceUnavailableError line naming the call and the endpoint; a cluster that the
settings name and the API does not have is the stack owner's mistake (ConfigError).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from kecs_secrets.errors import ConfigError, SourceUnavailableError
from providers.aws import client, describe_error

__all__ = ["DESCRIBE_SERVICES_BATCH", "DESCRIBE_TASKS_BATCH", "PAGE_SIZE", "EcsSource"]

PAGE_SIZE = 100
DESCRIBE_SERVICES_BATCH = 10
DESCRIBE_TASKS_BATCH = 100
T = TypeVar("T")


def _batches(names: list[str], size: int) -> list[list[str]]:
    return [names[i : i + size] for i in range(0, len(names), size)]


class EcsSource:
    """Read-only ECS API at ``endpoint`` ("" is AWS) in ``region``; holds no client (they come from providers.aws)."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint = endpoint
        self.region = region

    def _ecs(self) -> Any:
        return client("ecs", self.endpoint, self.region)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ClientError as err:
            if describe_error(err) == "ClusterNotFoundException":
                raise ConfigError(
                    f"ECS {what}: the ECS API at {self._where()} has no such cluster (config kecs-secrets:ecsDemand.clusters)"
                ) from None
            raise self._unavailable(what, err) from None
        except BotoCoreError as err:
            raise self._unavailable(what, err) from None

    def _where(self) -> str:
        return self.endpoint or f"AWS ({self.region})"

    def _unavailable(self, what: str, err: Exception) -> SourceUnavailableError:
        return SourceUnavailableError(f"cannot read ECS {what} from {self._where()}: {describe_error(err)}")

    def _pages(self, operation: str, key: str, **kwargs: Any) -> list[str]:
        pages = self._ecs().get_paginator(operation).paginate(PaginationConfig={"PageSize": PAGE_SIZE}, **kwargs)
        return [arn for page in pages for arn in page.get(key) or []]

    def clusters(self) -> list[str]:
        return self._call("ListClusters", lambda: self._pages("list_clusters", "clusterArns"))

    def _listed_and_described(
        self, cluster: str, listing: tuple[str, str, dict[str, Any]], describe: tuple[str, str, int], key: str
    ) -> list[Mapping[str, Any]]:
        """List* in pages of 100 (``listing``: API name, paginator, arguments), then Describe* in batches
        (``describe``: API name, client method, batch size); ``key`` names the items in both."""
        (list_api, paginator, arguments), (describe_api, method, size) = listing, describe
        arns = self._call(f"{list_api} (cluster {cluster})", lambda: self._pages(paginator, f"{key}Arns", cluster=cluster, **arguments))
        described: list[Mapping[str, Any]] = []
        for batch in _batches(arns, size):
            answer = self._call(
                f"{describe_api} (cluster {cluster})",
                lambda batch=batch: getattr(self._ecs(), method)(cluster=cluster, **{f"{key}s": batch}),
            )
            described += answer.get(f"{key}s") or []
        return described

    def services(self, cluster: str) -> list[Mapping[str, Any]]:
        return self._listed_and_described(
            cluster, ("ListServices", "list_services", {}), ("DescribeServices", "describe_services", DESCRIBE_SERVICES_BATCH), "service"
        )

    def tasks(self, cluster: str) -> list[Mapping[str, Any]]:
        # desiredStatus RUNNING covers pending and running tasks (ECS never sets a desired status of PENDING).
        listing = ("ListTasks", "list_tasks", {"desiredStatus": "RUNNING"})
        return self._listed_and_described(cluster, listing, ("DescribeTasks", "describe_tasks", DESCRIBE_TASKS_BATCH), "task")

    def task_definition(self, arn: str) -> Mapping[str, Any]:
        answer = self._call(f"DescribeTaskDefinition {arn}", lambda: self._ecs().describe_task_definition(taskDefinition=arn))
        return answer.get("taskDefinition") or {}

    def active_revisions(self, family: str) -> list[str]:
        arns = self._call(
            f"ListTaskDefinitions (family {family})",
            lambda: self._pages("list_task_definitions", "taskDefinitionArns", familyPrefix=family, status="ACTIVE"),
        )
        # familyPrefix matches every family that starts with it: keep this family's own revisions.
        return [arn for arn in arns if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
