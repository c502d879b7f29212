"""Pods built the way KECS builds them find every secret they reference after one `up` (real CLI, LocalStack, cluster).

KECS (nandemo-ya/kecs at 02bca9b, controlplane/internal/converters/task_converter.go) turns each
``containerDefinitions[].secrets[]`` entry into a pod annotation ``kecs.dev/secret-<i>-arn`` (i from 0) and,
for an ARN, an env var ``secretKeyRef{name, key}`` in the pod's namespace. The pods here are made by the
stand-in `kecs-secrets kecs-pods` from task definitions with the real ARNs, in an ECS cluster namespace; the
stack reads them with ``podDemand``. No kubelet runs here, so the pods stay Pending; a reference resolves
when the Secret exists in the pod's namespace and has the key, which is what a kubelet would need.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as random
import subprocess

import pytest

from components.outputs import OUTPUT_WARNINGS
from kecs_cli.commands.kecs_pods import check_pods, kecs_pod
from tests.support.cluster import wait_for
from tests.support.leaks import needles
from tests.support.stack import ProjectStack

pytestmark = pytest.mark.e2e

REGION, ACCOUNT = "us-east-1", "000000000000"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class World:
    """Source items whose names KECS's converter references in every way it can, and the pods that reference them."""

    def __init__(self, prefix, aws, kube):
        self.p, self.kube = prefix, kube
        self.sm, self.ssm = aws("secretsmanager"), aws("ssm")
        self.master_ns = f"{prefix}-system"
        self.cluster = f"c{prefix}"
        self.ns = f"{self.cluster}-{REGION}"
        kube.create_namespace(self.master_ns)
        kube.create_ecs_namespace(self.cluster, REGION)
        self.token = token = random.token_hex(6)
        self.values: dict[str, str] = {}
        self.arns: dict[str, str] = {}
        for name, value in (
            ("svc/db--main", f"runs-{token}"),
            ("team/app__key", f"under-{token}"),
            ("x_/y", f"xy-{token}"),
            ("a//b", f"ab-{token}"),
            ("App/DB_Creds", json.dumps({"username": "admin", "password": f"pw-{token}"})),
            ("myapp/prod/db.v2", f"dot-{token}"),
            ("svc-AbC123", f"suffix-like-{token}"),
            # KECS cannot be served these: '+' is no Kubernetes name, and two items share one KECS name.
            ("ops+alerts", f"plus-{token}"),
            ("Dup_x", f"dup1-{token}"),
            ("dup-x", f"dup2-{token}"),
        ):
            self.values[f"{prefix}/{name}"] = value
            self.arns[name] = self.sm.create_secret(Name=f"{prefix}/{name}", SecretString=value)["ARN"]
        for name, kind, value in (
            ("/svc/db--main", "SecureString", f"ssm-runs-{token}"),
            ("/app/db.host", "String", "db.internal"),
            ("/x_y/Z", "String", "zed"),
            ("/cfg/list", "StringList", "a,b,c"),
            ("/app/db/password", "SecureString", f"ssm-pw-{token}"),
        ):
            self.ssm.put_parameter(Name=f"/{prefix}{name}", Type=kind, Value=value)
            if kind == "SecureString":
                self.values[f"/{prefix}{name}"] = value

    def parameter_arn(self, name):
        return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{self.p}{name}"

    def task_definitions(self):
        a = self.arns
        secret = lambda env, value_from: {"name": env, "valueFrom": value_from}  # noqa: E731
        return {
            "api": {"family": f"{self.p}-api", "containerDefinitions": [
                {"name": "app", "image": "busybox", "secrets": [
                    secret("RUNS", a["svc/db--main"]),
                    secret("UNDERSCORES", a["team/app__key"]),
                    secret("DB_USER", f"{a['App/DB_Creds']}:username::"),
                    secret("DB_PASSWORD", f"{a['App/DB_Creds']}:password:AWSCURRENT:"),
                    secret("DOTS", a["myapp/prod/db.v2"]),
                ]},
                {"name": "sidecar", "image": "busybox", "secrets": [
                    secret("XY", a["x_/y"]),
                    secret("AB", a["a//b"]),
                    secret("SUFFIX_LIKE", a["svc-AbC123"]),
                ]},
            ]},
            "params": {"family": f"{self.p}-params", "containerDefinitions": [
                {"name": "app", "image": "busybox", "secrets": [
                    secret("RUNS", self.parameter_arn("/svc/db--main")),
                    secret("HOST", self.parameter_arn("/app/db.host")),
                    secret("ZED", self.parameter_arn("/x_y/Z")),
                    secret("LIST", self.parameter_arn("/cfg/list")),
                    secret("PASSWORD", self.parameter_arn("/app/db/password")),
                ]},
            ]},
            # A bare name: KECS annotates it but makes no variable; the stack still serves it.
            "mixed": {"family": f"{self.p}-mixed", "containerDefinitions": [
                {"name": "app", "image": "busybox", "secrets": [
                    secret("BARE", f"/{self.p}/app/db/password"),
                    secret("DOTS", a["myapp/prod/db.v2"]),
                ]},
            ]},
            # Two items share this KECS name: the pod can be made, but no Secret can carry that name for it.
            # (A pod referencing 'ops+alerts' cannot be made at all: the API server refuses its secretKeyRef name.)
            "unservable": {"family": f"{self.p}-unservable", "containerDefinitions": [
                {"name": "app", "image": "busybox", "secrets": [secret("DUP", a["Dup_x"])]},
            ]},
        }

    def make_pods(self):
        wait_for(lambda: self.kube.get(f"/api/v1/namespaces/{self.ns}/serviceaccounts/default") is not None,
                 what="the namespace's default ServiceAccount")
        self.pods = {}
        for key, document in self.task_definitions().items():
            pod = kecs_pod(document, self.ns, f"{key}-task", self.cluster)
            self.kube.post(f"/api/v1/namespaces/{self.ns}/pods", pod)
            self.pods[key] = pod

    def delete_pods(self):
        for key in getattr(self, "pods", {}):
            path = f"/api/v1/namespaces/{self.ns}/pods/{key}-task"
            if self.kube.get(path) is not None:
                self.kube.delete(path)
            wait_for(lambda path=path: self.kube.get(path) is None, what=f"pod {path} gone")

    def forget(self):
        for arn in self.arns.values():
            self.sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        names = [p["Name"] for page in self.ssm.get_paginator("describe_parameters").paginate() for p in page["Parameters"]]
        mine = [n for n in names if n.startswith(f"/{self.p}/")]
        for i in range(0, len(mine), 10):
            self.ssm.delete_parameters(Names=mine[i : i + 10])

    def secrets_in(self, namespace):
        return {o["metadata"]["name"]: o for o in self.kube.get(f"/api/v1/namespaces/{namespace}/secrets")["items"]}

    def config(self, endpoint, kubeconfig):
        return {
            "endpoint": endpoint,
            "region": REGION,
            "masterNamespace": self.master_ns,
            "namePrefixes": [f"{self.p}/", f"/{self.p}/"],
            "kubeconfig": kubeconfig,
            "podDemand": True,
            # Pods of other tests in this cluster may reference items outside this stack's prefixes.
            "unresolvedReferences": "warn",
        }


@pytest.fixture(scope="module")
def served(tmp_path_factory, endpoint, kubeconfig, kube, aws):
    prefix = f"e2e{random.token_hex(3)}"
    world = World(prefix, aws, kube)
    stack = None
    try:
        world.make_pods()
        stack = ProjectStack(tmp_path_factory.mktemp("kecs-pods"), f"kecs-{prefix}", world.config(endpoint, kubeconfig))
        result, log = stack.up()
        yield world, stack, result, log
    finally:
        world.delete_pods()  # before anything else: another stack with podDemand must not see them
        if stack is not None:
            stack.remove()
        for ns in (world.master_ns, world.ns):
            kube.delete_namespace(ns)
        world.forget()


def pod_refs(world):
    pods = [world.kube.get(f"/api/v1/namespaces/{world.ns}/pods/{key}-task") for key in world.pods]
    secrets = {(world.ns, name): sorted(obj.get("data") or {}) for name, obj in world.secrets_in(world.ns).items()}
    return check_pods(pods, secrets)


def origin(world, pod, index):
    return f"pod {world.ns}/{pod}-task annotation kecs.dev/secret-{index}-arn"


def test_every_secret_key_ref_of_every_pod_resolves_after_one_up(served):
    world, _, _, _ = served
    refs = pod_refs(world)
    servable = [r for r in refs if r.pod != "unservable-task"]
    assert len(servable) == 14  # 8 + 5 + 1: the bare name of the mixed pod gets no variable from KECS
    assert [r for r in servable if not r.resolves] == []
    assert {(r.name, r.key) for r in servable} >= {
        (f"sm-{world.p}-svc-db--main", "value"),
        (f"sm-{world.p}-team-app--key", "value"),
        (f"sm-{world.p}-x--y", "value"),
        (f"sm-{world.p}-a--b", "value"),
        (f"sm-{world.p}-app-db-creds", "username"),
        (f"sm-{world.p}-app-db-creds", "password"),
        (f"sm-{world.p}-myapp-prod-db.v2", "value"),
        (f"sm-{world.p}-svc-abc123", "value"),
        (f"ssm-{world.p}-svc-db--main", "value"),
        (f"ssm-{world.p}-app-db.host", "value"),
        (f"ssm-{world.p}-x-y-z", "value"),
        (f"ssm-{world.p}-cfg-list", "value"),
    }


def test_values_reach_the_replicas_under_the_keys_kecs_reads(served):
    world, _, _, _ = served
    replicas = world.secrets_in(world.ns)

    def data(name):
        return {k: base64.b64decode(v).decode() for k, v in replicas[name]["data"].items()}

    creds = json.loads(world.values[f"{world.p}/App/DB_Creds"])
    assert data(f"sm-{world.p}-app-db-creds") == {"value": world.values[f"{world.p}/App/DB_Creds"], **creds}
    assert data(f"sm-{world.p}-svc-db--main") == {"value": world.values[f"{world.p}/svc/db--main"]}
    assert data(f"ssm-{world.p}-app-db.host") == {"value": "db.internal"}
    assert data(f"ssm-{world.p}-cfg-list") == {"value": "a,b,c", "items": '["a","b","c"]'}
    assert data(f"ssm-{world.p}-app-db-password")["value"] == world.values[f"/{world.p}/app/db/password"]


def test_every_ssm_parameter_is_a_secret_and_nothing_is_a_configmap(served):
    world, _, _, _ = served
    for ns in (world.master_ns, world.ns):
        made = world.kube.get(f"/api/v1/namespaces/{ns}/configmaps")["items"]
        assert [o["metadata"]["name"] for o in made if "kecs-secrets.io/stack" in (o["metadata"].get("annotations") or {})] == []
    masters = world.secrets_in(world.master_ns)
    for name in ("svc-db--main", "app-db.host", "x-y-z", "cfg-list", "app-db-password"):
        assert masters[f"ssm-{world.p}-{name}"]["type"] == "Opaque"


def test_references_no_kecs_pod_can_be_served_are_named_in_the_run_output_and_the_warnings_output(served):
    world, _, result, log = served
    refs = [r for r in pod_refs(world) if r.pod == "unservable-task"]
    assert [(r.env, r.resolves) for r in refs] == [("DUP", False)]
    text = "\n".join(log.text)
    outputs = result.outputs[OUTPUT_WARNINGS].value
    line = next(w for w in outputs if f"from {origin(world, 'unservable', 0)}:" in w)
    assert f"reads secretKeyRef sm-{world.p}-dup-x/value, which is not served: another item has the same KECS name" in line, line
    assert line in text
    items = next(w for w in outputs if w.startswith("KECS pods cannot be served secretsmanager items"))
    assert f"'{world.p}/Dup_x' and '{world.p}/dup-x'" in items and f"'sm-{world.p}-dup-x'" in items
    assert items in text
    plus = next(w for w in outputs if w.startswith(f"KECS pods cannot be served secretsmanager item '{world.p}/ops+alerts'"))
    assert "Kubernetes names cannot contain '+' (the API server refuses every pod that references it)" in plus
    # Nothing else about this namespace's pods: every other reference was served.
    about_ns = [w for w in outputs if world.ns in w]
    assert about_ns == [line], about_ns


def test_no_secret_value_in_the_run_output(served):
    """The whole values, the JSON fields the replicas hold as keys of their own, and the base64 of each, in what the
    run printed (stdout and stderr) and in every file of the backend."""
    world, stack, _, log = served
    text = log.printed().encode()
    assert text
    blobs = [path.read_bytes() for path in stack.state_files()]
    assert blobs
    found = needles((value.encode() for value in world.values.values()), public={"admin"})
    assert f"pw-{world.token}".encode() in found  # App/DB_Creds' password field
    for needle in found:
        assert needle not in text
        assert all(needle not in blob for blob in blobs)


def test_make_summary_shows_each_pod_reference_and_whether_it_resolves(served, kubeconfig):
    world, _, _, _ = served
    done = subprocess.run(
        [os.path.join(ROOT, ".venv", "bin", "kecs-secrets"), "summary", "--kubeconfig", str(kubeconfig), "--master-namespace", world.master_ns],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    shown: dict[str, list[str]] = {}
    pod = None
    for line in done.stdout.splitlines():
        if line.startswith(f"  {world.ns}/"):
            pod = line.strip().rstrip(":").split("/", 1)[1]
            shown[pod] = []
        elif line.startswith("    ") and pod is not None:
            shown[pod].append(line.strip())
        else:
            pod = None
    assert sorted(shown) == sorted(f"{key}-task" for key in world.pods)
    lines = [line for refs in shown.values() for line in refs]
    assert len(lines) == 15, done.stdout
    assert [line for line in lines if not line.endswith(": ok")] == [
        f"app/DUP -> sm-{world.p}-dup-x/value: NOT FOUND: no Secret 'sm-{world.p}-dup-x' in {world.ns}"
    ]
    for value in world.values.values():
        assert value not in done.stdout
