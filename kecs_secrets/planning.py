"""``make_plan``: from settings and the ports to a checked layout: inventory, demand, layout, preflight.

Everything here happens before a single resource is registered, so any error (unreadable source,
bad reference, missing namespace, unmanaged object, too many deletions) leaves the cluster as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kecs_secrets.adoption import AdoptionSet
from kecs_secrets.config import Settings
from kecs_secrets.demand import merge, references_from_config, references_from_pods, references_from_task_definitions
from kecs_secrets.errors import ClusterUnavailableError
from kecs_secrets.inventory import read_inventory
from kecs_secrets.layout import Layout, plan_layout
from kecs_secrets.model import Reference
from kecs_secrets.ports import ClusterReader, DocumentSource, MetadataSource
from kecs_secrets.preflight import (
    ClusterSnapshot,
    ObjectKey,
    check_deletions,
    check_unmanaged,
    find_unmanaged,
    managed_masters,
    master_sources,
    missing_namespaces,
    wanted_objects,
)

__all__ = ["Plan", "make_plan", "snapshot_cluster"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    layout: Layout
    adopt: AdoptionSet = frozenset()  # existing objects that adoptExisting hands to this stack
    deletions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    # (old name, new name) of masters whose item now has another name: the new one is made before the old one goes.
    renamed: tuple[tuple[str, str], ...] = ()


def snapshot_cluster(cluster: ClusterReader, layout: Layout, master_namespace: str) -> ClusterSnapshot:
    """What the cluster holds under the names the layout wants, plus every master in the master namespace."""
    namespaces = cluster.namespaces()
    objects: dict[ObjectKey, dict] = {}
    scopes = {(kind, ns) for kind, ns, _ in wanted_objects(layout, master_namespace) if ns in namespaces or not ns}
    scopes |= {("Secret", master_namespace), ("ConfigMap", master_namespace)} if master_namespace in namespaces else set()
    for kind, ns in sorted(scopes):
        for obj in cluster.objects(kind, ns or None):
            metadata = obj.get("metadata") or {}
            objects[(kind, ns, metadata.get("name", ""))] = metadata
    return ClusterSnapshot(frozenset(namespaces), objects)


def make_plan(
    settings: Settings,
    stack: str,
    source: MetadataSource,
    cluster: ClusterReader | None,
    files: DocumentSource,
    *,
    dry_run: bool,
    warn: Callable[[str], None] = log.warning,
) -> Plan:
    """Read the inventory and the demand, plan the layout and check it against the cluster.

    ``dry_run`` (a preview) may go on without the cluster when it cannot be reached; an update never does.
    """
    items, warnings = read_inventory(
        source,
        region=settings.region,
        ssm_paths=settings.ssm_paths,
        name_prefixes=settings.name_prefixes,
        tags=settings.tags,
    )
    refs: list[Reference] = references_from_config(settings.demand, "kecs-secrets:demand")
    refs += references_from_task_definitions(settings.task_definitions, files)
    if settings.pod_demand:
        if cluster is None:
            raise ClusterUnavailableError("kecs-secrets:podDemand needs the cluster, but cluster checks are off")
        refs += references_from_pods(cluster)
    layout = plan_layout(items, merge(refs), settings.layout_settings(stack), settings.region)
    warnings += list(layout.warnings)
    if cluster is None:
        return Plan(layout, warnings=tuple(warnings))
    try:
        snapshot = snapshot_cluster(cluster, layout, settings.master_namespace)
    except ClusterUnavailableError as err:
        if not dry_run:
            raise
        # A preview without a cluster still shows the plan; `up` never proceeds without these checks.
        warn(f"cluster checks skipped in preview: {err}")
        return Plan(layout, warnings=tuple(warnings))
    missing_namespaces(layout, settings.master_namespace, snapshot.namespaces)
    conflicts = find_unmanaged(wanted_objects(layout, settings.master_namespace), snapshot, stack)
    check_unmanaged(conflicts, settings.adopt_existing)
    existing = managed_masters(snapshot, settings.master_namespace, stack)
    planned = {m.name for m in layout.masters}
    new_name = {m.item.key: m.name for m in layout.masters}
    sources = master_sources(snapshot, settings.master_namespace, stack)
    renamed = tuple(
        (name, new_name[sources[name]]) for name in existing if name not in planned and sources.get(name) in new_name
    )
    deletions = check_deletions(
        existing,
        planned,
        settings.max_master_deletions,
        settings.allow_mass_deletion,
        moved=[old for old, _ in renamed],
    )
    adopt = frozenset(conflicts) if settings.adopt_existing else frozenset()
    return Plan(layout, adopt, tuple(deletions), tuple(warnings), renamed)
