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
from tests.support.real import ROOT, run_script


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


_STARTED: list[bool] = []


def start_cluster() -> str:
    """Start (or reuse) the control plane; return its kubeconfig path. One the tests started is stopped at exit."""
    if not _STARTED:
        running = subprocess.run([os.path.join(ROOT, "scripts", "cluster.sh"), "status"], capture_output=True, check=False)
        run_script("cluster.sh", "start")
        _STARTED.append(running.returncode != 0)
        if _STARTED[0] and not os.environ.get("KECS_KEEP_CLUSTER"):
            atexit.register(subprocess.run, [os.path.join(ROOT, "scripts", "cluster.sh"), "stop"], capture_output=True, check=False)
    return run_script("cluster.sh", "kubeconfig")


def wait_for(predicate, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
