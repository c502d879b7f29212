"""The local control plane for tests, and an admin client that can also write (tests only)."""

from __future__ import annotations

import atexit
import os
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

from kecs_secrets.errors import ClusterUnavailableError
from providers.kube import KubeReader
from tests.support.real import ROOT, free_ports, run_dir, unavailable


class KubeAdmin(KubeReader):
    """KubeReader plus the writes a test needs to set the scene (namespaces, pods, unmanaged objects)."""

    def get(self, path: str) -> Mapping[str, Any] | None:
        try:
            return self._get(path)
        except ClusterUnavailableError as err:
            if "HTTP 404" in str(err):
                return None
            raise

    def text(self, path: str) -> str:
        """A non-JSON answer (e.g. /metrics)."""
        request = urllib.request.Request(self.server + path)
        with urllib.request.urlopen(request, context=self._ssl, timeout=30) as response:
            return response.read().decode("utf-8")

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._send("POST", path, body=body)

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path)

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        self.post("/api/v1/namespaces", {"metadata": {"name": name, "labels": dict(labels or {})}})

    def create_ecs_namespace(self, cluster: str, region: str) -> str:
        name = f"{cluster}-{region}"
        labels = {"kecs.dev/managed": "true", "kecs.dev/cluster": cluster, "kecs.dev/region": region, "kecs.dev/type": "ecs-cluster"}
        self.create_namespace(name, labels)
        return name

    def delete_namespace(self, name: str) -> None:
        try:
            self.delete(f"/api/v1/namespaces/{name}")
        except ClusterUnavailableError as err:
            if "HTTP 404" not in str(err):
                raise

    def secret(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")

    def configmap(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")

    def can(self, user: str, verb: str, resource: str, namespace: str, name: str = "") -> bool:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{user.split(':')[2]}", "system:authenticated"],
                "resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace, "name": name},
            },
        }
        answer = self.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        return bool(answer["status"].get("allowed"))


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


def wait_for(predicate, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
