"""Who needs what: turning the three demand sources into References (pure, no I/O).

- stack config: ``{namespace: [valueFrom, ...]}``;
- ECS task definition documents (the ``register-task-definition --cli-input-json`` shape), mapped
  to the ECS cluster namespace ``<cluster>-<region>``;
- live pods carrying KECS's ``kecs.dev/secret-<i>-arn: "<container>:<env-var>:<valueFrom>"`` annotations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from kecs_secrets.config import TaskDefinitionSource
from kecs_secrets.errors import ConfigError
from kecs_secrets.model import Reference
from kecs_secrets.naming import ecs_cluster_namespace
from kecs_secrets.ports import ClusterReader, DocumentSource

__all__ = [
    "merge",
    "references_from_config",
    "references_from_pod",
    "references_from_pods",
    "references_from_task_definition",
    "references_from_task_definitions",
]

_POD_ANNOTATION = re.compile(r"^kecs\.dev/secret-(\d+)-arn$")


def references_from_config(demand: Mapping[str, Any], key: str = "demand") -> list[Reference]:
    """References from the ``demand`` config object: namespace -> list of valueFrom strings."""
    if not isinstance(demand, Mapping):
        raise ConfigError(f"config {key!r} must be an object of namespace -> list of references")
    refs = []
    for namespace, values in demand.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"config {key}.{namespace} must be a list of strings")
        for index, value in enumerate(values):
            refs.append(Reference(str(namespace), value, f"config {key}.{namespace}[{index}]"))
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
            refs.append(Reference(namespace, secret["valueFrom"], where))
    return refs


def references_from_pod(pod: Mapping[str, Any]) -> list[Reference]:
    """References a KECS pod declares through its ``kecs.dev/secret-<i>-arn`` annotations."""
    metadata = pod.get("metadata") or {}
    namespace = metadata.get("namespace", "")
    annotations = metadata.get("annotations") or {}
    refs = []
    for key in sorted(annotations, key=_annotation_index):
        if not _POD_ANNOTATION.match(key):
            continue
        origin = f"pod {namespace}/{metadata.get('name', '?')} annotation {key}"
        # "<container>:<env-var>:<valueFrom>": valueFrom (an ARN) has colons of its own.
        parts = str(annotations[key]).split(":", 2)
        if len(parts) != 3 or not parts[2]:
            raise ConfigError(f"{origin}: expected '<container>:<env-var>:<valueFrom>'")
        refs.append(Reference(namespace, parts[2], origin))
    return refs


def references_from_pods(cluster: ClusterReader) -> list[Reference]:
    """References of every live pod the cluster shows."""
    return [ref for pod in cluster.pods() for ref in references_from_pod(pod)]


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
    match = _POD_ANNOTATION.match(key)
    return (int(match.group(1)) if match else 0, key)


def merge(*sources: Iterable[Reference]) -> list[Reference]:
    """All references from all sources, in a stable order."""
    return sorted({ref for source in sources for ref in source})
