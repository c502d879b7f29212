"""A stand-in for KECS's task converter: the pod KECS makes of an ECS task definition, and whether its secrets resolve.

    kecs-secrets kecs-pods create [--kubeconfig PATH] [--region R] FILE:CLUSTER [FILE:CLUSTER ...]   (`make pods`)
    kecs-secrets kecs-pods check  [--kubeconfig PATH]

Follows nandemo-ya/kecs at 02bca9b, controlplane/internal/converters/task_converter.go, on its own (it does
not use the project's naming code, so it can tell when the project and KECS disagree):
- ``addSecretAnnotations``: ``kecs.dev/secret-<i>-arn: "<container>:<env var>:<valueFrom>"``, i counted from 0
  across all containers, and ``kecs.dev/secret-count: n``;
- ``convertSecrets`` / ``parseSecretArn`` / ``getK8sSecretName``: each container's env gets
  ``secretKeyRef{name, key}`` for a valueFrom that is an ARN of secretsmanager or ssm (others, bare names
  included, get no variable); Secrets Manager: the ARN's name part minus a trailing ``-`` + 6 letters/digits,
  lowercased, ``/`` and ``_`` to ``-``, ``-`` trimmed, ``sm-``; key = the ARN's json-key (unless empty or ``*``)
  else ``value``; SSM: the path after ``parameter/``, ``/`` trimmed, ``/`` and ``_`` to ``-``, lowercased,
  ``ssm-``, key ``value``.
The pods stay Pending (no kubelet here); a kubelet would start a container only if every secretKeyRef
names a Secret in the pod's namespace that has the key. ``check`` reports exactly that, per reference.
A pod whose secretKeyRef name is no valid Kubernetes name (KECS keeps '+', '=', '@', '..') is refused by
the API server, as KECS's own would be: ``create`` says so and goes on with the other files.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kecs_cli import PROJECT_ROOT
from kecs_cli.commands import DEFAULT_EXIT_CODES
from kecs_secrets.errors import ClusterRequestError, KecsSecretsError
from providers.kube import KubeReader

__all__ = ["PodReference", "check_pods", "cluster_secrets", "kecs_pod", "pod_references", "secret_key_ref", "valid_name"]

ROOT = str(PROJECT_ROOT)
EXIT_CODES = {
    **DEFAULT_EXIT_CODES,
    0: "create: every pod was created or refused as KECS's would be (each said on stdout); check: the report was printed, "
       "whether or not every reference resolves",
    2: "wrong usage, or a create argument that is not FILE:CLUSTER",
}
_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ANNOTATION_ARN = "kecs.dev/secret-{}-arn"
ANNOTATION_COUNT = "kecs.dev/secret-count"


def valid_name(name: str) -> bool:
    """Whether Kubernetes accepts ``name`` as a Secret name (DNS-1123 subdomain, at most 253 characters)."""
    return len(name) <= 253 and bool(_SUBDOMAIN.match(name))


def secret_key_ref(value_from: str) -> tuple[str, str] | None:
    """(name, key) of the secretKeyRef KECS makes of a valueFrom, or None when it makes none."""
    parts = value_from.split(":")
    if len(parts) < 6:
        return None
    if parts[2] == "secretsmanager":
        if len(parts) < 7:
            return None
        name = _SUFFIX.sub("", parts[6]).lower().replace("/", "-").replace("_", "-").strip("-")
        return "sm-" + name, parts[7] if len(parts) > 7 and parts[7] not in ("", "*") else "value"
    if parts[2] == "ssm":
        resource = parts[5]
        if resource.startswith("parameter/"):
            path = resource[len("parameter/"):]
        elif resource.startswith("parameter") and len(parts) > 6:
            path = parts[6]
        else:
            path = resource
        return "ssm-" + path.strip("/").replace("/", "-").replace("_", "-").lower(), "value"
    return None


def kecs_pod(task_definition: Mapping[str, Any], namespace: str, name: str, cluster: str) -> dict[str, Any]:
    """The pod KECS would run for one task of ``task_definition`` (secrets part only, plus KECS's labels)."""
    family = str(task_definition.get("family", "task"))
    annotations: dict[str, str] = {}
    containers = []
    index = 0
    for container in task_definition.get("containerDefinitions") or []:
        env = []
        for secret in container.get("secrets") or []:
            if not secret.get("name") or not secret.get("valueFrom"):
                continue
            annotations[ANNOTATION_ARN.format(index)] = f"{container['name']}:{secret['name']}:{secret['valueFrom']}"
            index += 1
            ref = secret_key_ref(secret["valueFrom"])
            if ref is not None:
                env.append({"name": secret["name"], "valueFrom": {"secretKeyRef": {"name": ref[0], "key": ref[1]}}})
        containers.append({"name": container["name"], "image": container.get("image", "busybox"), "env": env})
    if index:
        annotations[ANNOTATION_COUNT] = str(index)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"kecs.dev/cluster": cluster, "kecs.dev/task-family": family, "kecs.dev/managed-by": "kecs"},
            "annotations": annotations,
        },
        "spec": {"automountServiceAccountToken": False, "containers": containers},
    }


@dataclass(frozen=True)
class PodReference:
    """One secretKeyRef of one pod, and whether it resolves in the cluster."""

    namespace: str
    pod: str
    container: str
    env: str
    name: str
    key: str
    problem: str  # "" when it resolves

    @property
    def resolves(self) -> bool:
        return not self.problem


def pod_references(pod: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(container, env var, secret name, key) of every secretKeyRef in the pod's containers."""
    refs = []
    for container in pod.get("spec", {}).get("containers") or []:
        for env in container.get("env") or []:
            selector = (env.get("valueFrom") or {}).get("secretKeyRef")
            if selector:
                refs.append((container["name"], env["name"], selector["name"], selector["key"]))
    return refs


def check_pods(pods: Iterable[Mapping[str, Any]], secrets: Mapping[tuple[str, str], Iterable[str]]) -> list[PodReference]:
    """Every secretKeyRef of every pod that carries KECS's secret annotations, resolved against ``secrets``
    ((namespace, name) -> data keys of the Secrets the cluster holds)."""
    result = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if ANNOTATION_COUNT not in (meta.get("annotations") or {}):
            continue
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        for container, env, secret, key in pod_references(pod):
            keys = secrets.get((namespace, secret))
            if keys is None:
                problem = f"no Secret {secret!r} in {namespace}"
            elif key not in set(keys):
                problem = f"Secret {namespace}/{secret} has no key {key!r}"
            else:
                problem = ""
            result.append(PodReference(namespace, name, container, env, secret, key, problem))
    return result


class PodWriter(KubeReader):
    """The read-only client plus the one write this stand-in needs: creating a pod (official client)."""

    def create_pod(self, pod: Mapping[str, Any]) -> str:
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        existing = any(p["metadata"]["name"] == name for p in self.objects("Pod", namespace))
        if existing:
            self._write("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}", {"gracePeriodSeconds": 0})
        self._write("POST", f"/api/v1/namespaces/{namespace}/pods", dict(pod))
        return "replaced" if existing else "created"

    def _write(self, method: str, path: str, body: Mapping[str, Any]) -> None:
        api = self.api_client
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        response = api.call_api(*api.param_serialize(method, path, header_params=headers, body=body, auth_settings=["BearerToken"]),
                                _request_timeout=30)  # fmt: skip
        response.read()
        if response.status >= 400:
            try:
                detail = json.loads(response.data or b"{}").get("message", "")
            except ValueError:
                detail = ""
            raise ClusterRequestError(f"{method} {path}: HTTP {response.status}: {detail}")


def cluster_secrets(kube: KubeReader, namespaces: Iterable[str]) -> dict[tuple[str, str], list[str]]:
    """(namespace, name) -> data keys of every Secret (whole objects: the keys are needed, values are never shown)."""
    return {
        (ns, obj["metadata"]["name"]): sorted(obj.get("data") or {})
        for ns in sorted(set(namespaces))
        for obj in kube.objects("Secret", ns, metadata_only=False)
    }


def pod_name(family: str) -> str:
    """A pod name for a task family: KECS uses a task id; one demo task per family here."""
    return re.sub(r"[^a-z0-9-]", "-", family.lower()).strip("-")[:50] + "-task"


def create(kube: PodWriter, specs: list[str], region: str, out=sys.stdout) -> int:
    for spec in specs:
        pattern, _, cluster = spec.rpartition(":")
        if not pattern or not cluster:
            print(f"error: {spec!r} is not FILE:CLUSTER", file=sys.stderr)
            return 2
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
            pod = kecs_pod(document, f"{cluster}-{region}", pod_name(str(document.get("family", "task"))), cluster)
            try:
                done = kube.create_pod(pod)
            except KecsSecretsError as err:
                invalid = sorted({name for *_, name, _key in pod_references(pod) if not valid_name(name)})
                why = f"it references {invalid}, which are no valid Kubernetes names" if invalid else str(err)
                print(f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']}: refused by the API server, as KECS's "
                      f"would be: {why} (from {path})", file=out)
                continue
            count = pod["metadata"]["annotations"].get(ANNOTATION_COUNT, "0")
            print(f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']}: {done} ({count} secrets) from {path}", file=out)
    return 0


def check(kube: KubeReader, out=sys.stdout) -> int:
    pods = kube.pods(metadata_only=False)  # the containers' secretKeyRefs are in the spec
    refs = check_pods(pods, cluster_secrets(kube, (p["metadata"]["namespace"] for p in pods)))
    resolving = sum(1 for r in refs if r.resolves)
    print(f"KECS pods: {resolving} of {len(refs)} secretKeyRefs resolve", file=out)
    for r in refs:
        state = "ok" if r.resolves else f"NOT FOUND: {r.problem}"
        print(f"  {r.namespace}/{r.pod} {r.container} {r.env} -> {r.name}/{r.key}: {state}", file=out)
    return 0


def default_kubeconfig() -> str:
    """$KUBECONFIG, else the local control plane's (`make cluster`)."""
    return os.environ.get("KUBECONFIG", os.path.join(ROOT, ".state/cluster/kubeconfig"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="{create,check}")
    made = sub.add_parser("create", help="create one Pending pod per task definition file, the KECS way",
                          description="Create one Pending pod per task definition file in <cluster>-<region>, the KECS way.")
    made.add_argument("specs", nargs="+", metavar="FILE:CLUSTER",
                      help="task definition files (globs, relative to the project directory) and their ECS cluster")
    made.add_argument("--region", default="us-east-1", help="the ECS region: the pods go to <cluster>-<region> (default: us-east-1)")
    checked = sub.add_parser("check", help="whether every secretKeyRef of the KECS pods resolves",
                             description="Whether every secretKeyRef of every KECS pod resolves: a Secret of that name in "
                                         "the pod's namespace, with that key.")
    for child in (made, checked):
        child.add_argument("--kubeconfig", default=default_kubeconfig(), help="default: $KUBECONFIG, else .state/cluster/kubeconfig")


def run(args: argparse.Namespace) -> int:
    if args.action == "create":
        return create(PodWriter(args.kubeconfig), args.specs, args.region)
    return check(KubeReader(args.kubeconfig))
