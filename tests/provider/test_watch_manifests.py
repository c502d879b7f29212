"""The in-cluster manifests of the watch (deploy/watch/) against the real API server: each is accepted by a
server-side dry-run (strict field validation, the pod template under PodSecurity ``restricted``), and the RBAC,
created for real in the test's own control plane, grants what the program does and refuses what it never does
(SubjectAccessReviews, and RBAC's escalation check on the writes it makes as the watch's ServiceAccount)."""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml

from tests.provider import test_kube_reader
from tests.support.cluster import KubeAdmin
from tests.support.kubeconfigs import admin_cluster, kubeconfig, write
from tests.support.real import ROOT

admin_kubeconfig = test_kube_reader.admin_kubeconfig
admin = test_kube_reader.admin

DEPLOY = os.path.join(ROOT, "deploy", "watch")
WATCH_NS, SA, LEASE = "kecs-secrets-watch", "kecs-secrets-watch", "kecs-secrets-watch-prod"
USER = f"system:serviceaccount:{WATCH_NS}:{SA}"
MASTER_NS, CLUSTER_NS, READER = "kecs-system", "default-us-east-1", "kecs-system-secret-reader"
APPLY = "application/apply-patch+yaml"
RBAC = "rbac.authorization.k8s.io"

# kind -> (collection path, with {namespace} for namespaced kinds)
COLLECTIONS = {
    "Namespace": "/api/v1/namespaces",
    "ServiceAccount": "/api/v1/namespaces/{namespace}/serviceaccounts",
    "ConfigMap": "/api/v1/namespaces/{namespace}/configmaps",
    "Secret": "/api/v1/namespaces/{namespace}/secrets",
    "Service": "/api/v1/namespaces/{namespace}/services",
    "ClusterRole": f"/apis/{RBAC}/v1/clusterroles",
    "ClusterRoleBinding": f"/apis/{RBAC}/v1/clusterrolebindings",
    "Role": f"/apis/{RBAC}/v1/namespaces/{{namespace}}/roles",
    "RoleBinding": f"/apis/{RBAC}/v1/namespaces/{{namespace}}/rolebindings",
    "Deployment": "/apis/apps/v1/namespaces/{namespace}/deployments",
}


def kustomization() -> list[str]:
    with open(os.path.join(DEPLOY, "kustomization.yaml"), encoding="utf-8") as handle:
        return list(yaml.safe_load(handle)["resources"])


def manifests() -> Iterator[Mapping[str, Any]]:
    """Every object of deploy/watch, in the kustomization's order (namespaces first)."""
    for name in kustomization():
        with open(os.path.join(DEPLOY, name), encoding="utf-8") as handle:
            yield from (doc for doc in yaml.safe_load_all(handle) if doc)


def path_of(obj: Mapping[str, Any]) -> str:
    kind, meta = obj["kind"], obj["metadata"]
    assert kind in COLLECTIONS, f"deploy/watch: no API path known for kind {kind} (add it to COLLECTIONS)"
    return COLLECTIONS[kind].format(namespace=meta.get("namespace", "")) + f"/{meta['name']}"


def apply(admin: KubeAdmin, obj: Mapping[str, Any], *, dry_run: bool) -> tuple[int, str]:
    query = "?fieldManager=kecs-secrets-test&force=true&fieldValidation=Strict" + ("&dryRun=All" if dry_run else "")
    return admin.request("PATCH", path_of(obj) + query, dict(obj), content_type=APPLY)


def ensure_namespace(admin: KubeAdmin, name: str) -> None:
    if admin.get(f"/api/v1/namespaces/{name}") is None:
        admin.create_namespace(name)


def pod_of_the_deployment(admin: KubeAdmin, change=lambda spec: None) -> tuple[int, str]:
    """A dry-run create of the pod the Deployment would make (its namespace and ServiceAccount made for real first)."""
    objects = list(manifests())
    for obj in objects:
        if obj["kind"] in ("Namespace", "ServiceAccount"):
            status, text = apply(admin, obj, dry_run=False)
            assert status in (200, 201), text[:800]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    spec = json.loads(json.dumps(deployment["spec"]["template"]["spec"]))
    change(spec)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "from-the-template", "namespace": WATCH_NS}, "spec": spec}
    return admin.request("POST", f"/api/v1/namespaces/{WATCH_NS}/pods?dryRun=All&fieldValidation=Strict", pod)


def test_the_kustomization_names_every_manifest_of_the_directory():
    files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DEPLOY, "*.yaml")) if not p.endswith("kustomization.yaml"))
    assert sorted(kustomization()) == files


def test_every_manifest_is_accepted_by_a_server_side_dry_run(admin):
    ensure_namespace(admin, MASTER_NS)
    objects = list(manifests())
    assert {o["kind"] for o in objects} >= {"Namespace", "ServiceAccount", "ClusterRole", "Role", "RoleBinding", "Deployment"}
    for obj in objects:
        status, text = apply(admin, obj, dry_run=True)
        assert status in (200, 201), f"{obj['kind']} {obj['metadata']['name']}: HTTP {status}: {text[:800]}"
        assert json.loads(text)["metadata"]["name"] == obj["metadata"]["name"]
        if obj["kind"] == "Namespace":  # the objects in it need it for real
            status, text = apply(admin, obj, dry_run=False)
            assert status in (200, 201), text[:800]
        else:
            assert admin.get(path_of(obj)) is None, "a dry run must not persist anything"
    # The namespace enforces PodSecurity "restricted" (its label): the pod the Deployment would make passes it.
    status, text = pod_of_the_deployment(admin)
    assert status == 201, text[:800]
    assert admin.get(f"/api/v1/namespaces/{WATCH_NS}")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_a_pod_that_runs_as_root_is_refused_in_that_namespace(admin):
    """The PodSecurity check above can fail: the same template with a root user is refused."""
    status, text = pod_of_the_deployment(admin, lambda spec: spec["securityContext"].update(runAsNonRoot=False, runAsUser=0))
    assert status == 403 and "violates PodSecurity" in text, text[:800]


@pytest.fixture(scope="module")
def installed(admin, admin_kubeconfig, tmp_path_factory):
    """Every manifest applied for real (the test's own control plane); the watch ServiceAccount's kubeconfig."""
    ensure_namespace(admin, MASTER_NS)
    ensure_namespace(admin, CLUSTER_NS)
    objects = list(manifests())
    for obj in objects:
        status, text = apply(admin, obj, dry_run=False)
        assert status in (200, 201), f"{obj['kind']} {obj['metadata']['name']}: HTTP {status}: {text[:800]}"
    token = admin.service_account_token(WATCH_NS, SA)
    path = write(tmp_path_factory.mktemp("watch") / "kc", kubeconfig(admin_cluster(admin_kubeconfig), {"token": token}, user_name=SA))
    yield KubeAdmin(path)
    for obj in reversed(objects):
        if obj["kind"] != "Namespace":
            admin.request("DELETE", path_of(obj))
    admin.delete_namespace(WATCH_NS)


def allowed(admin: KubeAdmin, verb: str, group: str, resource: str, namespace: str = "", name: str = "", subresource: str = "") -> bool:
    return admin.can(USER, verb, resource, namespace, name, group=group, subresource=subresource)


WRITES = ["create", "patch", "update", "delete"]
READS = ["get", "list", "watch"]

# What the program does (components/, providers/kube*.py, the Lease of providers/leader.py).
GRANTED = [
    *[(v, "", r, "") for r in ("namespaces", "pods") for v in READS],
    *[(v, "", "pods", CLUSTER_NS) for v in READS],
    *[(v, "", r, ns) for r in ("secrets", "configmaps") for ns in (MASTER_NS, CLUSTER_NS) for v in READS + WRITES],
    *[(v, "", "serviceaccounts", CLUSTER_NS) for v in READS + WRITES],
    *[(v, "", "events", CLUSTER_NS) for v in ("create", "get", "patch")],
    *[(v, RBAC, r, MASTER_NS) for r in ("roles", "rolebindings") for v in READS + WRITES],
    *[(v, RBAC, "clusterroles", "") for v in READS],
    *[(v, RBAC, "clusterroles", "", READER) for v in WRITES],
    ("create", "coordination.k8s.io", "leases", WATCH_NS),
    *[(v, "coordination.k8s.io", "leases", WATCH_NS, LEASE) for v in ("get", "update")],
]

# What it never does: each would widen what a stolen token of the watch could do.
REFUSED = [
    *[(v, RBAC, r, CLUSTER_NS) for r in ("roles", "rolebindings") for v in ("create", "patch")],  # RBAC only in the master namespace
    *[(v, RBAC, "clusterroles", "", name) for name in ("cluster-admin", "admin", "kecs-secrets-watch") for v in ("patch", "update", "delete")],
    ("create", RBAC, "clusterroles", "", "another-role"),
    *[(v, RBAC, "clusterrolebindings", "") for v in ("create", "patch")],
    *[(v, RBAC, r, MASTER_NS) for r in ("roles", "clusterroles") for v in ("escalate", "bind")],
    ("escalate", RBAC, "clusterroles", "", READER),
    ("deletecollection", "", "secrets", CLUSTER_NS),
    ("create", "", "serviceaccounts", CLUSTER_NS, "any", "token"),  # minting tokens of the replicas' readers
    *[(v, "", "pods", CLUSTER_NS) for v in ("create", "delete", "patch")],
    ("create", "", "pods", CLUSTER_NS, "task-1", "exec"),
    *[(v, "", "namespaces", "") for v in ("create", "delete")],
    ("patch", "apps", "deployments", WATCH_NS),
    ("impersonate", "", "serviceaccounts", CLUSTER_NS),
    ("impersonate", "", "users", ""),
    ("get", "", "nodes", "", "", "proxy"),
    *[(v, "coordination.k8s.io", "leases", WATCH_NS, "another-lease") for v in ("get", "update", "delete")],
    *[(v, "coordination.k8s.io", "leases", "kube-system") for v in ("create", "update")],
]


@pytest.mark.parametrize("attributes", GRANTED, ids=lambda a: " ".join(x for x in a if x))
def test_the_watch_may_do_what_the_program_does(admin, installed, attributes):
    assert allowed(admin, *attributes)


@pytest.mark.parametrize("attributes", REFUSED, ids=lambda a: " ".join(x for x in a if x))
def test_the_watch_may_not_do_what_the_program_never_does(admin, installed, attributes):
    assert not allowed(admin, *attributes)


def test_the_rbac_writes_of_the_program_pass_the_escalation_check_as_the_watch(admin, installed):
    """SubjectAccessReviews do not run RBAC's escalation check; these writes, as the watch and with server-side apply
    (as the Kubernetes provider makes them), do: the reader ClusterRole and a need-to-know Role, and bindings of both."""
    watch = installed
    read = {"apiGroups": [""], "resources": ["secrets"], "verbs": READS, "resourceNames": ["sm-app-db"]}
    objects = [
        {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": READER}, "rules": [read]},
        {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "kecs-secrets-reader-x", "namespace": MASTER_NS}, "rules": [read]},
        *[{"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": f"reader-{kind.lower()}", "namespace": MASTER_NS},
           "roleRef": {"apiGroup": RBAC, "kind": kind, "name": name},
           "subjects": [{"kind": "ServiceAccount", "name": "kecs-secrets-reader", "namespace": CLUSTER_NS}]}
          for kind, name in (("ClusterRole", READER), ("Role", "kecs-secrets-reader-x"))],
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "kecs-secrets-reader", "namespace": CLUSTER_NS}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sm-app-db", "namespace": MASTER_NS}, "stringData": {"value": "x"}},
    ]  # fmt: skip
    try:
        for obj in objects:
            status, text = apply(watch, obj, dry_run=False)
            assert status in (200, 201), f"{obj['kind']} {obj['metadata']['name']} as the watch: HTTP {status}: {text[:800]}"
        # ...and a reader that grants more than the watch holds is refused, whatever its name.
        wider = {**objects[0], "rules": [read, {"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]}
        status, text = apply(watch, wider, dry_run=False)
        assert status == 403 and "attempting to grant RBAC permissions not currently held" in text, text[:800]
    finally:
        for obj in reversed(objects):
            admin.request("DELETE", path_of(obj))
