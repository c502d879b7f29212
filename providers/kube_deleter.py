"""The one write this project makes itself: delete an object only if it still has a given uid.

Used by ``kecs:LeftoverSweep`` (providers/leftovers.py), which imports it only when there is something to
delete, so that the dynamic provider host loads the Kubernetes client only then.
"""

from __future__ import annotations

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kecs_secrets.errors import ClusterUnavailableError, OwnershipError
from kecs_secrets.preflight import shown
from providers.kube import REQUEST_TIMEOUT, KubeReader

__all__ = ["KubeDeleter"]

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
