"""The program runs as the in-cluster watch's ServiceAccount with exactly the RBAC of deploy/watch/rbac.yaml (real CLI,
LocalStack, control plane): its kubeconfig is that ServiceAccount's token, nothing else. Without the Role it holds
in the master namespace the run is refused (so the run did use that identity, and that rule is needed); with it,
`up` makes masters, replicas, the reader ClusterRole and an Event on a pod, a change to need-to-know RBAC replaces
the ClusterRole by Roles, a pod gone takes its replicas away, and destroy removes the rest.

The manifests are applied with their names made unique to this test (the master namespace ``kecs-system`` and
the watch's own names), as a user serving another master namespace edits them."""

from __future__ import annotations

import json
import os
import secrets as random

import pytest
import yaml
from pulumi import automation as auto

from kecs_cli.commands.kecs_pods import kecs_pod
from kecs_secrets.isolation import EVENT_REASON
from tests.support.cluster import wait_for
from tests.support.kubeconfigs import admin_cluster, write
from tests.support.kubeconfigs import kubeconfig as make_kubeconfig
from tests.support.real import ROOT
from tests.support.stack import ProjectStack

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
RBAC = "rbac.authorization.k8s.io"
COLLECTIONS = {
    "Namespace": "/api/v1/namespaces",
    "ServiceAccount": "/api/v1/namespaces/{namespace}/serviceaccounts",
    "ClusterRole": f"/apis/{RBAC}/v1/clusterroles",
    "ClusterRoleBinding": f"/apis/{RBAC}/v1/clusterrolebindings",
    "Role": f"/apis/{RBAC}/v1/namespaces/{{namespace}}/roles",
    "RoleBinding": f"/apis/{RBAC}/v1/namespaces/{{namespace}}/rolebindings",
}


def watch_identity(prefix: str) -> list[dict]:
    """deploy/watch's Namespace, ServiceAccount and RBAC, for master namespace ``<prefix>-system``."""
    objects = []
    for name in ("namespace.yaml", "serviceaccount.yaml", "rbac.yaml"):
        with open(os.path.join(ROOT, "deploy", "watch", name), encoding="utf-8") as handle:
            text = json.dumps([doc for doc in yaml.safe_load_all(handle) if doc])
        objects += json.loads(text.replace("kecs-secrets-watch", f"{prefix}-watch").replace("kecs-system", f"{prefix}-system"))
    return objects


def path_of(obj: dict) -> str:
    return COLLECTIONS[obj["kind"]].format(namespace=obj["metadata"].get("namespace", "")) + "/" + obj["metadata"]["name"]


def is_master_namespace_role(obj: dict, prefix: str) -> bool:
    return obj["kind"] in ("Role", "RoleBinding") and obj["metadata"]["namespace"] == f"{prefix}-system"


def env_secret_names(pod: dict) -> set[str]:
    return {e["valueFrom"]["secretKeyRef"]["name"] for c in pod["spec"]["containers"] for e in c["env"]}


def test_the_program_runs_with_exactly_the_watch_rbac(tmp_path, endpoint, kubeconfig, kube, aws):
    p = f"e2e{random.token_hex(3)}"
    master_ns, cluster = f"{p}-system", f"c{p}"
    ns = f"{cluster}-{REGION}"
    sm = aws("secretsmanager")
    arns = {name: sm.create_secret(Name=f"{p}/{name}", SecretString=f"{name}-{random.token_hex(6)}")["ARN"] for name in ("db", "api")}
    identity = watch_identity(p)
    kube.create_namespace(master_ns)
    kube.create_ecs_namespace(cluster, REGION)
    stack = None
    try:
        for obj in identity:
            if not is_master_namespace_role(obj, p):
                kube.post(COLLECTIONS[obj["kind"]].format(namespace=obj["metadata"].get("namespace", "")), obj)
        token = kube.service_account_token(f"{p}-watch", f"{p}-watch")
        as_watch = write(tmp_path / "watch-kubeconfig", make_kubeconfig(admin_cluster(kubeconfig), {"token": token}, user_name="watch"))
        wait_for(lambda: kube.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default") is not None, what="the namespace's default ServiceAccount")
        task = lambda family, names: {"family": family, "containerDefinitions": [  # noqa: E731
            {"name": "app", "image": "busybox", "secrets": [{"name": n.upper(), "valueFrom": arns.get(n, f"{p}/{n}")} for n in names]}]}
        pods = {"served": kecs_pod(task(f"{p}-a", ["db", "api"]), ns, "served", cluster),
                "unserved": kecs_pod(task(f"{p}-b", ["missing"]), ns, "unserved", cluster)}
        for pod in pods.values():
            kube.post(f"/api/v1/namespaces/{ns}/pods", pod)
        config = {"endpoint": endpoint, "region": REGION, "masterNamespace": master_ns, "namePrefixes": [f"{p}/"],
                  "kubeconfig": as_watch, "podDemand": True, "unresolvedReferences": "warn"}  # fmt: skip
        stack = ProjectStack(tmp_path / "stack", f"watch-{p}", config)

        # Without the Role in the master namespace, the watch may not bind the readers: the run fails on it.
        with pytest.raises(auto.CommandError) as refused:
            stack.up()
        assert "rolebindings" in str(refused.value) and "forbidden" in str(refused.value), str(refused.value)[-3000:]

        for obj in identity:
            if is_master_namespace_role(obj, p):
                kube.post(COLLECTIONS[obj["kind"]].format(namespace=obj["metadata"]["namespace"]), obj)
        stack.up()
        needed = env_secret_names(pods["served"])
        assert needed and all(kube.secret(ns, name) is not None for name in needed)
        assert kube.get(f"/apis/{RBAC}/v1/clusterroles/{master_ns}-secret-reader") is not None
        events = kube.get(f"/api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.name=unserved")["items"]
        assert [e["reason"] for e in events] == [EVENT_REASON]

        stack.update_config(rbacMode="need-to-know")
        stack.up()
        assert kube.get(f"/apis/{RBAC}/v1/clusterroles/{master_ns}-secret-reader") is None
        assert kube.get(f"/apis/{RBAC}/v1/namespaces/{master_ns}/roles")["items"]

        kube.delete(f"/api/v1/namespaces/{ns}/pods/served")
        wait_for(lambda: kube.get(f"/api/v1/namespaces/{ns}/pods/served") is None, what="pod served gone")
        stack.up()
        assert all(kube.secret(ns, name) is None for name in needed)

        stack.remove()  # destroy, as the watch
        stack = None
        assert kube.get(f"/api/v1/namespaces/{master_ns}/secrets")["items"] == []
    finally:
        if stack is not None:
            stack.remove()
        for obj in reversed(identity):
            kube.request("DELETE", path_of(obj))
        for namespace in (ns, master_ns):
            kube.delete_namespace(namespace)
        for arn in arns.values():
            sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
