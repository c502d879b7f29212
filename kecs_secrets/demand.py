"""Who needs what: turning the three demand sources into References (pure, no I/O).

- stack config: ``{namespace: [valueFrom, ...]}``;
- ECS task definition documents (the ``register-task-definition --cli-input-json`` shape), mapped
  to the ECS cluster namespace ``<cluster>-<region>``;
- live pods carrying KECS's ``kecs.dev/secret-<i>-arn: "<container>:<env-var>:<valueFrom>"`` annotations.

Who may ask: demand only counts for ECS cluster namespaces (KECS's labels ``kecs.dev/type=ecs-cluster``,
``kecs.dev/cluster`` and ``kecs.dev/region``, consistent with the name ``<cluster>-<region>``) and for
the namespaces ``kecs-secrets:allowedNamespaces`` lists. Whoever may create a pod elsewhere must not be
able to pull a copy of any secret into their namespace: such pods are ignored (with a warning naming
them), and config or task-definition demand for such a namespace is refused by name.

Whom a stack serves: only the ECS cluster namespaces of its own region (and of the clusters
``kecs-secrets:clusters`` names, if it names any), :class:`StackScope`. Several stacks share a cluster
(dev in us-east-1, staging in eu-west-1): the pods of another region's namespaces are that stack's
tenants, left alone without a word; config or task-definition demand for such a namespace is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kecs_secrets.config import TaskDefinitionSource, is_region_name
from kecs_secrets.errors import ConfigError, LayoutError
from kecs_secrets.isolation import Unserved
from kecs_secrets.model import CONFIG_DEMAND, POD_DEMAND, TASK_DEFINITION_DEMAND, Reference
from kecs_secrets.naming import ecs_cluster_namespace
from kecs_secrets.ports import DocumentSource

__all__ = [
    "LABEL_ECS_CLUSTER",
    "LABEL_ECS_REGION",
    "LABEL_ECS_TYPE",
    "PodDemand",
    "StackScope",
    "check_demand_namespaces",
    "demand_namespace_problem",
    "ecs_namespace_problem",
    "merge",
    "pod_demand",
    "references_from_config",
    "references_from_pod",
    "references_from_task_definition",
    "references_from_task_definitions",
]

_POD_ANNOTATION = re.compile(r"kecs\.dev/secret-([0-9]+)-arn")
# KECS's labels of an ECS cluster namespace.
LABEL_ECS_TYPE = "kecs.dev/type"
LABEL_ECS_CLUSTER = "kecs.dev/cluster"
LABEL_ECS_REGION = "kecs.dev/region"
ECS_CLUSTER_TYPE = "ecs-cluster"
_ALLOW_HINT = "add it to kecs-secrets:allowedNamespaces to allow it"


def ecs_namespace_problem(name: str, labels: Mapping[str, str]) -> str | None:
    """Why namespace ``name`` with ``labels`` is not an ECS cluster namespace of KECS, or None if it is one."""
    if labels.get(LABEL_ECS_TYPE) != ECS_CLUSTER_TYPE:
        return f"it has no label {LABEL_ECS_TYPE}={ECS_CLUSTER_TYPE}"
    cluster, region = labels.get(LABEL_ECS_CLUSTER, ""), labels.get(LABEL_ECS_REGION, "")
    if not cluster or not region:
        return f"it lacks the label {LABEL_ECS_CLUSTER if not cluster else LABEL_ECS_REGION}"
    if not is_region_name(region):
        return f"its label {LABEL_ECS_REGION} is not an AWS region name"
    if ecs_cluster_namespace(cluster, region) != name:
        return f"its labels {LABEL_ECS_CLUSTER} and {LABEL_ECS_REGION} give the name {ecs_cluster_namespace(cluster, region)!r}"
    return None


@dataclass(frozen=True)
class StackScope:
    """The ECS cluster namespaces one stack serves: those of its region and, if ``clusters`` names any, of those clusters."""

    region: str
    clusters: tuple[str, ...] = ()

    def problem(self, labels: Mapping[str, str]) -> str | None:
        """Why the ECS cluster namespace with ``labels`` belongs to another stack, or None if it is this stack's."""
        region, cluster = labels.get(LABEL_ECS_REGION, ""), labels.get(LABEL_ECS_CLUSTER, "")
        if region != self.region:
            return (
                f"it is an ECS cluster namespace of region {region!r}, and this stack serves region {self.region!r} "
                "(kecs-secrets:region)"
            )
        if self.clusters and cluster not in self.clusters:
            return f"its ECS cluster {cluster!r} is not among kecs-secrets:clusters {list(self.clusters)}"
        return None


def demand_namespace_problem(
    name: str, namespaces: Mapping[str, Mapping[str, str]], allowed: Iterable[str], refused: Iterable[str] = ()
) -> str | None:
    """Why demand for ``name`` does not count (None if it does), given the cluster's namespaces (name -> labels).

    ``refused`` (the master namespace and the deny list) never counts; ``allowed`` counts without labels.
    """
    if name in set(refused):
        return "it is the master namespace or on the deny list"
    if name in set(allowed):
        return None
    if name not in namespaces:
        return "it does not exist in the cluster"
    problem = ecs_namespace_problem(name, namespaces[name])
    return f"it is not an ECS cluster namespace ({problem})" if problem else None


def check_demand_namespaces(
    origins: Mapping[str, str],
    namespaces: Mapping[str, Mapping[str, str]],
    allowed: Iterable[str],
    scope: StackScope | None = None,
) -> None:
    """Refuse demand (config, task definitions) for a namespace that is neither an ECS cluster namespace of
    ``scope`` (this stack's region and clusters) nor allowed.

    ``origins`` maps each namespace that would receive replicas to where its demand came from. Namespaces
    that do not exist are left to the preflight's own, clearer error.
    """
    allowed = set(allowed)
    for name in sorted(origins):
        if name in allowed or name not in namespaces:
            continue
        problem = ecs_namespace_problem(name, namespaces[name])
        if problem:
            raise LayoutError(
                f"namespace {name!r} (from {origins[name]}) is not an ECS cluster namespace ({problem}); {_ALLOW_HINT}"
            )
        problem = scope.problem(namespaces[name]) if scope else None
        if problem:
            raise LayoutError(f"namespace {name!r} (from {origins[name]}) is not served by this stack: {problem}; {_ALLOW_HINT}")


def references_from_config(demand: Mapping[str, Any], key: str = "demand") -> list[Reference]:
    """References from the ``demand`` config object: namespace -> list of valueFrom strings."""
    if not isinstance(demand, Mapping):
        raise ConfigError(f"config {key!r} must be an object of namespace -> list of references")
    refs = []
    for namespace, values in demand.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"config {key}.{namespace} must be a list of strings")
        for index, value in enumerate(values):
            refs.append(Reference(str(namespace), value, f"config {key}.{namespace}[{index}]", CONFIG_DEMAND))
    return refs


def references_from_task_definition(document: Any, namespace: str, origin: str) -> list[Reference]:
    """References from one ECS task definition document; ``origin`` names the file."""
    if not isinstance(document, Mapping):
        raise ConfigError(f"{origin}: a task definition must be a JSON object")
    containers = document.get("containerDefinitions")
    if not isinstance(containers, list):
        raise ConfigError(f"{origin}: 'containerDefinitions' must be a list")
    family = document.get("family", "?")
    refs = []
    for c_index, container in enumerate(containers):
        if not isinstance(container, Mapping):
            raise ConfigError(f"{origin}: containerDefinitions[{c_index}] must be an object")
        cname = container.get("name", f"#{c_index}")
        secrets = container.get("secrets")
        secrets = [] if secrets is None else secrets
        if not isinstance(secrets, list):
            raise ConfigError(f"{origin}: containerDefinitions[{c_index}].secrets must be a list")
        for s_index, secret in enumerate(secrets):
            if not isinstance(secret, Mapping) or not isinstance(secret.get("valueFrom"), str):
                raise ConfigError(
                    f"{origin}: containerDefinitions[{c_index}].secrets[{s_index}] needs a string 'valueFrom'"
                )
            where = f"{origin} (family {family}, container {cname}, secret {secret.get('name', s_index)})"
            refs.append(Reference(namespace, secret["valueFrom"], where, TASK_DEFINITION_DEMAND))
    return refs


def pod_references(pod: Mapping[str, Any]) -> tuple[list[Reference], list[Unserved]]:
    """References a pod's ``kecs.dev/secret-<i>-arn`` annotations declare, and each malformed annotation with its problem."""
    metadata = pod.get("metadata") or {}
    namespace, name = _pod_key(pod)
    uid = str(metadata.get("uid") or "")
    annotations = metadata.get("annotations") or {}
    refs, malformed = [], []
    for key in sorted(annotations, key=_annotation_index):
        if not _POD_ANNOTATION.fullmatch(key):
            continue
        origin = f"pod {namespace}/{name} annotation {key}"
        # "<container>:<env-var>:<valueFrom>": valueFrom (an ARN) has colons of its own.
        parts = str(annotations[key]).split(":", 2)
        if len(parts) != 3 or not parts[2]:
            ref = Reference(namespace, str(annotations[key]), origin, POD_DEMAND, name, uid)
            malformed.append(Unserved(ref, "expected '<container>:<env-var>:<valueFrom>'"))
            continue
        refs.append(Reference(namespace, parts[2], origin, POD_DEMAND, name, uid))
    return refs, malformed


def references_from_pod(pod: Mapping[str, Any]) -> list[Reference]:
    """References a KECS pod declares through its ``kecs.dev/secret-<i>-arn`` annotations (ConfigError names a malformed one)."""
    refs, malformed = pod_references(pod)
    if malformed:
        raise ConfigError(f"{malformed[0].reference.origin}: {malformed[0].why}")
    return refs


def _declares_demand(pod: Mapping[str, Any]) -> bool:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return isinstance(annotations, Mapping) and any(_POD_ANNOTATION.fullmatch(str(key)) for key in annotations)


@dataclass(frozen=True)
class PodDemand:
    """What the live pods ask for: the references that count, a warning per pod ignored or skipped, and the
    references of skipped pods (each with its problem, for an Event on its pod)."""

    references: list[Reference]
    warnings: list[str]
    unserved: list[Unserved]


def pod_demand(
    pods: Iterable[Mapping[str, Any]],
    namespaces: Mapping[str, Mapping[str, str]],
    *,
    allowed: Iterable[str] = (),
    refused: Iterable[str] = (),
    strict: bool = False,
    scope: StackScope | None = None,
) -> PodDemand:
    """The demand of the live pods whose demand counts.

    A pod outside ECS cluster namespaces (and outside ``allowed``) is ignored; a pod with a malformed
    annotation is skipped whole, or fails the run with ``strict``. A pod in an ECS cluster namespace
    outside ``scope`` is another stack's tenant: left alone, without a warning.
    """
    allowed, refused = tuple(allowed), tuple(refused)
    result = PodDemand([], [], [])
    for pod in sorted(pods, key=_pod_key):
        if not _declares_demand(pod):
            continue
        namespace, name = _pod_key(pod)
        problem = demand_namespace_problem(namespace, namespaces, allowed, refused)
        if problem:
            result.warnings.append(f"pod {namespace}/{name} ignored: its namespace {namespace!r} may not receive secrets ({problem})")
            continue
        if scope and namespace not in allowed and scope.problem(namespaces[namespace]):
            continue
        refs, malformed = pod_references(pod)
        if not malformed:
            result.references.extend(refs)
            continue
        first = malformed[0]
        if strict:
            raise ConfigError(f"{first.reference.origin}: {first.why}")
        result.warnings.append(
            f"{first.reference.origin}: {first.why}; that pod is skipped (kecs-secrets:strictPodDemand=true makes this an error)"
        )
        skipped = f"pod {namespace}/{name} is skipped: its annotation {first.reference.origin.rsplit(' ', 1)[-1]} is malformed"
        result.unserved.extend(malformed[:1] + [Unserved(ref, skipped) for ref in refs])
    return result


def _pod_key(pod: Mapping[str, Any]) -> tuple[str, str]:
    metadata = pod.get("metadata") or {}
    return (str(metadata.get("namespace", "")), str(metadata.get("name", "?")))


def references_from_task_definitions(sources: tuple[TaskDefinitionSource, ...], files: DocumentSource) -> list[Reference]:
    """References of every task definition file the ``taskDefinitions`` setting lists."""
    refs: list[Reference] = []
    for index, source in enumerate(sources):
        documents = files.documents(source.path)
        if not documents:
            raise ConfigError(f"config kecs-secrets:taskDefinitions[{index}].path {source.path!r} matches no file")
        namespace = ecs_cluster_namespace(source.cluster, source.region)
        for shown, document in documents:
            refs.extend(references_from_task_definition(document, namespace, f"task definition {shown}"))
    return refs


def _annotation_index(key: str) -> tuple[int, str]:
    match = _POD_ANNOTATION.fullmatch(key)
    return (int(match.group(1)) if match else 0, key)


def merge(*sources: Iterable[Reference]) -> list[Reference]:
    """All references from all sources, in a stable order."""
    return sorted({ref for source in sources for ref in source})
