"""What the watch polls between updates: the source's metadata and the ECS API's demand; never a value.

Both go through the program's own adapters and rules (BotoSource + read_inventory; EcsSource +
read_ecs_demand), so the watch sees the items and the demand the program will plan from. Task definitions
are immutable per ARN (a new revision is a new ARN), so the watch describes each one once.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kecs_secrets.config import Settings
from kecs_secrets.ecs_demand import ecs_references, read_ecs_demand
from kecs_secrets.inventory import read_inventory
from kecs_secrets.watch_demand import Version, versions
from providers.aws_source import BotoSource
from providers.ecs_source import EcsSource

__all__ = ["CachingEcsSource", "ecs_demand_by_namespace", "owner_files_digest", "source_versions"]


def source_versions(settings: Settings) -> dict[tuple[str, str], Version]:
    """(source, name) -> (arn, version, stamp) of every item the stack covers: ListSecrets and DescribeParameters
    only. Raises SourceUnavailableError when anything cannot be listed (never a partial answer)."""
    items, _warnings = read_inventory(
        BotoSource.listing(settings),  # the listings side by side
        region=settings.region,
        ssm_paths=settings.ssm_paths,
        name_prefixes=settings.name_prefixes,
        tags=settings.tags,
    )
    return versions(items)


class CachingEcsSource(EcsSource):
    """EcsSource that describes each task definition ARN once (they never change)."""

    def __init__(self, endpoint: str, region: str) -> None:
        super().__init__(endpoint, region)
        self._described: dict[str, Mapping[str, Any]] = {}

    def task_definition(self, arn: str) -> Mapping[str, Any]:
        if arn not in self._described:
            self._described[arn] = super().task_definition(arn)
        return self._described[arn]


def ecs_demand_by_namespace(api: EcsSource, settings: Settings) -> dict[str, frozenset[str]]:
    """Namespace -> the ``valueFrom``s the ECS API's services and tasks reference there."""
    refs, _warnings = ecs_references(read_ecs_demand(api, settings.ecs_demand))
    demand: dict[str, set[str]] = {}
    for ref in refs:
        demand.setdefault(ref.namespace, set()).add(ref.value_from)
    return {ns: frozenset(values) for ns, values in demand.items()}


def owner_files_digest(work_dir: Path, stack: str, patterns: Iterable[str]) -> str:
    """A digest of what the stack owner wrote: ``Pulumi.yaml``, ``Pulumi.<stack>.yaml`` and every file the task
    definition paths (files or globs, relative to the project directory) match now."""
    digest = hashlib.sha256()
    paths = [work_dir / "Pulumi.yaml", work_dir / f"Pulumi.{stack}.yaml"]
    for pattern in patterns:
        digest.update(f"pattern {pattern}\0".encode())
        paths += sorted(Path(found) for found in glob.glob(str(work_dir / pattern), recursive=True))
    for path in paths:
        digest.update(f"{path}\0".encode())
        try:
            digest.update(path.read_bytes() if path.is_file() else b"\0not a file")
        except OSError:
            digest.update(b"\0unreadable")
    return digest.hexdigest()
