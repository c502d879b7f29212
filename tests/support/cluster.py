"""The local control plane for tests, and an admin client that can also write (tests only)."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import time
from collections.abc import Mapping
from typing import Any

from kubernetes import client, config

from tests.support.real import ROOT, free_ports, run_dir, run_script, unavailable


class KubeAdminError(AssertionError):
    """The API server refused a request of the test harness (the status and its message)."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")
        self.status = status


class KubeAdmin:
    """The writes and raw reads a test needs to set the scene and check it (namespaces, pods, unmanaged
    objects, SubjectAccessReviews), by API path, through the official client with an admin kubeconfig."""

    def __init__(self, kubeconfig: str, context: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        configuration = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration, persist_config=False)
        self.server = configuration.host
        self.api = client.ApiClient(configuration)

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json", accept: str = "application/json") -> tuple[int, str]:
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        serialized = self.api.param_serialize(method, path, header_params=headers, body=body, auth_settings=["BearerToken"])
        response = self.api.call_api(*serialized, _request_timeout=30)
        response.read()
        return response.status, (response.data or b"").decode("utf-8")

    def _json(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False) -> Any:
        status, text = self.request(method, path, body)
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise KubeAdminError(method, path, status, text)
        return json.loads(text) if text else None

    def get(self, path: str) -> Mapping[str, Any] | None:
        """The object or list at path, or None if it does not exist."""
        return self._json("GET", path, missing_ok=True)

    def text(self, path: str) -> str:
        """A non-JSON answer (e.g. /metrics)."""
        status, text = self.request("GET", path, accept="*/*")
        if status >= 400:
            raise KubeAdminError("GET", path, status, text)
        return text

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._json("POST", path, body)

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._json("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self._json("DELETE", path)

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        self.post("/api/v1/namespaces", {"metadata": {"name": name, "labels": dict(labels or {})}})

    def create_ecs_namespace(self, cluster: str, region: str) -> str:
        name = f"{cluster}-{region}"
        labels = {"kecs.dev/managed": "true", "kecs.dev/cluster": cluster, "kecs.dev/region": region, "kecs.dev/type": "ecs-cluster"}
        self.create_namespace(name, labels)
        return name

    def delete_namespace(self, name: str) -> None:
        self._json("DELETE", f"/api/v1/namespaces/{name}", missing_ok=True)

    def secret(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")

    def configmap(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")

    def can(self, user: str, verb: str, resource: str, namespace: str, name: str = "", *, group: str = "", subresource: str = "") -> bool:
        """Whether ServiceAccount ``user`` (system:serviceaccount:NS:NAME) may: a SubjectAccessReview."""
        attributes = {"verb": verb, "group": group, "resource": resource, "subresource": subresource, "namespace": namespace, "name": name}
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{user.split(':')[2]}", "system:authenticated"],
                "resourceAttributes": attributes,
            },
        }
        answer = self.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        return bool(answer["status"].get("allowed"))

    def service_account_token(self, namespace: str, name: str, seconds: int = 3600) -> str:
        """A bound token of a ServiceAccount (TokenRequest API)."""
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": seconds}}
        return self.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", request)["status"]["token"]


_CLUSTER: dict[str, str] = {}
START_ATTEMPTS = 3  # a port picked by the kernel can be taken before a component binds it: start again elsewhere


def start_cluster() -> str:
    """The kubeconfig of the control plane the tests use: KECS_KUBECONFIG's (an admin kubeconfig of a running
    cluster, never started nor stopped here), or one started for this process, on free ports and with its
    state under run_dir(), and stopped at exit."""
    if "kubeconfig" in _CLUSTER:
        return _CLUSTER["kubeconfig"]
    given = os.environ.get("KECS_KUBECONFIG")
    if given:
        if not os.path.isfile(given):
            unavailable(f"KECS_KUBECONFIG={given} is not a file")
        _CLUSTER["kubeconfig"] = os.path.abspath(given)
        return _CLUSTER["kubeconfig"]
    script = os.path.join(ROOT, "scripts", "cluster.sh")
    failure = ""
    for attempt in range(1, START_ATTEMPTS + 1):
        apiserver, etcd_client, etcd_peer, kcm = free_ports(4)
        directory = str(run_dir() / f"cluster-{apiserver}")
        env = {
            **os.environ,
            "KECS_APISERVER_PORT": str(apiserver),
            "KECS_ETCD_CLIENT_PORT": str(etcd_client),
            "KECS_ETCD_PEER_PORT": str(etcd_peer),
            "KECS_KCM_PORT": str(kcm),
        }
        try:
            done = subprocess.run([script, "start", directory], env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            unavailable(f"scripts/cluster.sh start: {err}")
            raise AssertionError("unreachable") from err
        # Stop it at exit whatever happened: a failed start can leave etcd running.
        atexit.register(subprocess.run, [script, "stop", directory], capture_output=True, check=False, timeout=120)
        if done.returncode == 0:
            _CLUSTER.update(kubeconfig=os.path.join(directory, "kubeconfig"), dir=directory)
            return _CLUSTER["kubeconfig"]
        failure = f"scripts/cluster.sh start {directory} (attempt {attempt}) exited {done.returncode}: {done.stderr[-2000:]}"
        subprocess.run([script, "stop", directory], capture_output=True, check=False, timeout=120)
        if "is in use" not in done.stderr:
            break
    unavailable(failure)
    raise AssertionError("unreachable")


def cluster_token() -> str:
    """The static bearer token the control plane accepts (scripts/cluster.sh token: user kecs-token-admin in
    system:masters), for kubeconfigs whose user is a token or an exec credential plugin. With KECS_KUBECONFIG,
    that cluster must have been started by scripts/cluster.sh (the token is read from the kubeconfig's directory)."""
    directory = _CLUSTER.get("dir") or os.path.dirname(start_cluster())
    return run_script("cluster.sh", "token", directory)


def wait_for(predicate, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
