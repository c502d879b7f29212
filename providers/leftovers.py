"""``kecs:LeftoverSweep``: removes objects of this stack that its state does not know and the layout does not want.

An interrupted ``up`` (SIGKILL, a lost connection) can create objects that never reach the state;
Pulumi cannot delete them, because it only deletes what its state holds. The preflight finds them (they
carry this stack's annotation, are not in the state and not wanted) and the program hands them to this
resource, which deletes each one only if it still has the uid the preflight saw (a delete precondition):
an object someone recreated in between is left alone and the run fails naming it.

It is always registered (with an empty list when there is nothing to remove) and reports a change only
when there is something to delete, so a no-change run stays a no-change run. In a preview nothing is deleted.
"""

from __future__ import annotations

from typing import Any

import pulumi
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from kecs_secrets.errors import ClusterUnavailableError, OwnershipError
from kecs_secrets.preflight import Leftover, shown
from providers.dynamic_errors import report_project_errors_in_one_line
from providers.kube import REQUEST_TIMEOUT, KubeReader

__all__ = ["KubeDeleter", "LeftoverSweep", "LeftoverSweepProvider"]

# kind -> (API group, delete method); namespaced kinds take (name, namespace), a ClusterRole (name)
_DELETES: dict[str, tuple[str, str]] = {
    "Secret": ("core", "delete_namespaced_secret"),
    "ConfigMap": ("core", "delete_namespaced_config_map"),
    "ServiceAccount": ("core", "delete_namespaced_service_account"),
    "RoleBinding": ("rbac", "delete_namespaced_role_binding"),
    "Role": ("rbac", "delete_namespaced_role"),
    "ClusterRole": ("rbac", "delete_cluster_role"),
}


class KubeDeleter(KubeReader):
    """The one write this project makes itself: delete an object only if it still has a given uid."""

    def delete_if_uid(self, kind: str, namespace: str, name: str, uid: str) -> bool:
        """Delete the object; False if it is already gone. Raises OwnershipError if another uid holds the name."""
        group, method = _DELETES[kind]
        body = client.V1DeleteOptions(propagation_policy="Background", preconditions=client.V1Preconditions(uid=uid))
        args = (name, namespace) if namespace else (name,)
        try:
            getattr(self._groups[group], method)(*args, body=body, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as err:
            if err.status == 404:
                return False
            if err.status == 409:
                raise OwnershipError(f"{shown((kind, namespace, name))} changed since the preflight (another uid): not deleted") from None
            raise self._answer_error(err, f"deleting {shown((kind, namespace, name))}") from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise ClusterUnavailableError(f"cannot reach the Kubernetes API at {self.identity.server}: {type(err).__name__}") from None
        return True


def _sweep(props: dict[str, Any]) -> dict[str, Any]:
    objects = props.get("objects") or []
    deleted: list[str] = []
    if not objects:
        return {**props, "deleted": deleted}
    deleter = KubeDeleter(props.get("kubeconfig") or "", props.get("context") or "")
    for kind, namespace, name, uid in objects:
        if deleter.delete_if_uid(kind, namespace, name, uid):
            deleted.append(shown((kind, namespace, name)))
    return {**props, "deleted": deleted}


class LeftoverSweepProvider(ResourceProvider):
    """Deletes the listed leftovers on create and update; nothing on delete (they are gone by then)."""

    def configure(self, req: ConfigureRequest) -> None:
        report_project_errors_in_one_line()

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, [])

    def diff(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Something to delete is a change; nothing to delete is none, whatever an earlier run swept.
        return DiffResult(changes=bool(news.get("objects")), replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("leftovers", _sweep(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_sweep(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the objects were deleted when this resource was created or updated."""


_PROVIDER = LeftoverSweepProvider()


class LeftoverSweep(Resource, module="kecs", name="LeftoverSweep"):
    deleted: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        *,
        objects: tuple[Leftover, ...],
        kubeconfig: str,
        context: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"objects": [list(o) for o in sorted(objects)], "kubeconfig": kubeconfig, "context": context, "deleted": None}
        super().__init__(_PROVIDER, resource_name, props, opts)
