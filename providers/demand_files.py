"""Reading the demand sources that live outside the program: task definition files and live pods."""

from __future__ import annotations

import glob
import json
import os

from components.config import TaskDefinitionSource
from components.demand import ecs_cluster_namespace, references_from_pod, references_from_task_definition
from components.errors import ConfigError
from components.model import Reference
from providers.kube import ClusterReader

__all__ = ["references_from_pods", "references_from_task_definition_files"]


def references_from_task_definition_files(sources: tuple[TaskDefinitionSource, ...], base_dir: str = ".") -> list[Reference]:
    refs: list[Reference] = []
    for index, source in enumerate(sources):
        pattern = os.path.join(base_dir, source.path)
        files = sorted(glob.glob(pattern)) if glob.has_magic(source.path) else [pattern]
        if not files:
            raise ConfigError(f"config kecs-secrets:taskDefinitions[{index}].path {source.path!r} matches no file")
        namespace = ecs_cluster_namespace(source.cluster, source.region)
        for file in files:
            shown = os.path.relpath(file, base_dir)
            try:
                with open(file, encoding="utf-8") as handle:
                    document = json.load(handle)
            except OSError as err:
                raise ConfigError(f"task definition file {shown!r} cannot be read: {err.strerror}") from None
            except json.JSONDecodeError as err:
                raise ConfigError(f"task definition file {shown!r} is not valid JSON (line {err.lineno})") from None
            refs.extend(references_from_task_definition(document, namespace, f"task definition {shown}"))
    return refs


def references_from_pods(cluster: ClusterReader) -> list[Reference]:
    return [ref for pod in cluster.pods() for ref in references_from_pod(pod)]
