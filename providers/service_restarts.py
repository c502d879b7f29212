"""``kecs:ServiceRestarts``: after the replicas took new values, force a new deployment of the ECS services that use them.

Inputs: the ECS ``endpoint`` and ``region``; ``services`` (service ARN -> cluster, name and the (master, data
key) pairs its current task definition reads, from :func:`kecs_secrets.restarts.restart_targets`); and
``seen`` (master -> item version and fingerprints of the keys read: ``value``'s is the master's fingerprint,
a JSON key's its own), which comes from the value reader. The resource depends on the replicas it
watches, so it runs after they were written.

An update compares ``seen`` with the one its outputs kept from the last update and calls
``UpdateService --force-new-deployment`` once for each service that reads a pair whose version and
fingerprint both changed (:func:`kecs_secrets.restarts.services_to_restart`); ``restarted`` names them.
A create restarts nothing (there was nothing before to compare with); a preview calls nothing (the
engine never runs create or update in a preview); a run in which no watched fingerprint changed is no
change of this resource, so it makes no call at all. A service gone meanwhile is skipped; any other
failure fails the update with one line per service, and the next run tries again (its outputs still
hold the fingerprints from before).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import ConfigureRequest, CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kecs_secrets.errors import KecsSecretsError, SourceUnavailableError
from kecs_secrets.restarts import services_to_restart
from providers.dynamic_errors import report_project_errors_in_one_line

__all__ = ["SERVICE_RESTARTS_ID", "ServiceRestarts", "ServiceRestartsProvider", "restart_services"]

SERVICE_RESTARTS_ID = "service-restarts"
_GONE = {"ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"}
_COMPARED = ("endpoint", "region", "services", "seen")


def restart_services(endpoint: str, region: str, services: Mapping[str, Mapping[str, Any]], arns: list[str]) -> list[str]:
    """``UpdateService --force-new-deployment`` for each of ``arns``; the names (``cluster/service``) restarted."""
    from botocore.exceptions import BotoCoreError, ClientError  # the AWS SDK only when a service is restarted

    from providers.aws import client, describe_error

    ecs = client("ecs", endpoint, region)
    restarted: list[str] = []
    errors: list[KecsSecretsError] = []
    for arn in arns:
        about = services[arn]
        shown = f"{about['cluster']}/{about['name']}"
        try:
            ecs.update_service(cluster=about["cluster"], service=about["name"], forceNewDeployment=True)
            restarted.append(shown)
        except (BotoCoreError, ClientError) as err:
            if describe_error(err) in _GONE:
                continue
            errors.append(
                SourceUnavailableError(f"cannot restart ECS service {shown} (UpdateService at {endpoint or 'AWS'}): {describe_error(err)}")
            )
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup(f"{len(errors)} ECS services could not be restarted", errors)
    return restarted


class ServiceRestartsProvider(ResourceProvider):
    """Writes nothing but ``UpdateService --force-new-deployment``; holds no state between calls."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        report_project_errors_in_one_line()

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = any(olds.get(key) != news.get(key) for key in _COMPARED)
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(SERVICE_RESTARTS_ID, {**_inputs(props), "restarted": []})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        services = news.get("services") or {}
        due = services_to_restart(
            {arn: about.get("selects") or [] for arn, about in services.items()}, olds.get("seen") or {}, news.get("seen") or {}
        )
        restarted = restart_services(news.get("endpoint") or "", news["region"], services, due) if due else []
        return UpdateResult({**_inputs(news), "restarted": restarted})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props, inputs=_inputs(props))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: a deployment that happened stays."""


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: props.get(key) for key in _COMPARED}


_PROVIDER = ServiceRestartsProvider()


class ServiceRestarts(Resource, module="kecs", name="ServiceRestarts"):
    """The ECS services restarted by this stack's last update that changed a value they read (``restarted``)."""

    restarted: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        *,
        endpoint: str,
        region: str,
        services: Mapping[str, Mapping[str, Any]],
        seen: pulumi.Input[Mapping[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"endpoint": endpoint, "region": region, "services": dict(sorted(services.items())), "seen": seen, "restarted": None}
        super().__init__(_PROVIDER, resource_name, props, opts)
