"""``make_plan``: from settings and the ports to a checked layout: inventory, state, demand, layout, preflight.

Everything here happens before a single resource is registered, so any error (unreadable source or
state, bad reference, namespace that may not receive secrets, missing namespace, unmanaged object,
object in state that is no longer ours, too many deletions) leaves the cluster as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from kecs_secrets.adoption import AdoptionSet
from kecs_secrets.config import NAMESPACE, Settings
from kecs_secrets.demand import (
    StackScope,
    check_demand_namespaces,
    ecs_namespace_problem,
    merge,
    pod_demand,
    references_from_config,
    references_from_task_definitions,
)
from kecs_secrets.ecs_demand import EcsDemand, counted_references, ecs_references, read_ecs_demand
from kecs_secrets.errors import ClusterUnavailableError, ConfigError, StateUnavailableError
from kecs_secrets.freshness import held_versions, kept_data
from kecs_secrets.incumbents import held_names
from kecs_secrets.inventory import read_inventory
from kecs_secrets.isolation import Unserved
from kecs_secrets.layout import Layout, plan_layout
from kecs_secrets.model import Reference, StackState, StateObject
from kecs_secrets.ownership import recorded_marks
from kecs_secrets.ports import ClusterReader, DocumentSource, EcsApi, MetadataSource, StateReader
from kecs_secrets.preflight import (
    ClusterSnapshot,
    Leftover,
    ObjectKey,
    check_deletions,
    check_ownership,
    check_unmanaged,
    claimed_marks,
    copied_claims,
    doomed_objects,
    find_leftovers,
    find_strays,
    find_unmanaged,
    isolate_unmanaged,
    managed_masters,
    master_sources,
    missing_namespaces,
    shown,
    wanted_objects,
)

__all__ = ["Plan", "make_plan", "snapshot_cluster"]

log = logging.getLogger(__name__)

MASTER_KINDS = ("Secret", "ConfigMap")
# Where this stack's objects can live: kinds in the master namespace, and in a namespace receiving replicas.
_MASTER_NAMESPACE_KINDS = ("Secret", "ConfigMap", "RoleBinding", "Role")
_REPLICA_NAMESPACE_KINDS = ("Secret", "ConfigMap", "ServiceAccount")


@dataclass(frozen=True)
class Plan:
    layout: Layout
    adopt: AdoptionSet = frozenset()  # existing objects that adoptExisting hands to this stack
    deletions: tuple[str, ...] = ()  # masters this run deletes (in the state and no longer wanted, or leftovers)
    warnings: tuple[str, ...] = field(default=())
    # (old name, new name) of masters whose item now has another name: the new one is made before the old one goes.
    renamed: tuple[tuple[str, str], ...] = ()
    # Objects neither in the state nor wanted, marked as this stack's: this run deletes those whose mark verifies.
    leftovers: tuple[Leftover, ...] = ()
    kept: frozenset[ObjectKey] = frozenset()  # masters and replicas that keep the data their state holds (freshness)
    # The ownership mark the state recorded for each object it holds: given again as it is (no key needed).
    marks: Mapping[ObjectKey, str] = field(default_factory=dict)
    # Wanted objects outside the state that carry this stack's annotation and a mark: taken over only if it verifies.
    claims: Mapping[ObjectKey, str] = field(default_factory=dict)
    held: Mapping[str, list[str]] = field(default_factory=dict)  # master -> the earlier version its reader keeps (freshness)
    ecs: EcsDemand | None = None  # what the ECS API said is in use (ecsDemand), for restartOnChange
    changed: frozenset[str] = frozenset()  # masters the state holds at another version: this run changes their value


def snapshot_cluster(
    cluster: ClusterReader, namespaces: Mapping[str, Mapping[str, str]], scopes: Iterable[tuple[str, str]]
) -> ClusterSnapshot:
    """The objects of each ``(kind, namespace)`` scope ("" for cluster-scoped kinds) that exists, by key."""
    objects: dict[ObjectKey, dict] = {}
    for kind, ns in sorted(set(scopes)):
        if ns and ns not in namespaces:
            continue
        for obj in cluster.objects(kind, ns or None):
            metadata = obj.get("metadata") or {}
            objects[(kind, ns, metadata.get("name", ""))] = metadata
    return ClusterSnapshot(frozenset(namespaces), objects)


def _scopes(
    layout: Layout,
    settings: Settings,
    namespaces: Mapping[str, Mapping[str, str]],
    state_objects: Iterable[StateObject],
) -> set[tuple[str, str]]:
    """What to list: the wanted objects' scopes, the state's, and everywhere this stack's objects may have been left."""
    scopes = {(kind, ns) for kind, ns, _ in wanted_objects(layout, settings.master_namespace)}
    scopes |= {(obj.kind, obj.namespace) for obj in state_objects}
    scopes |= {(kind, settings.master_namespace) for kind in _MASTER_NAMESPACE_KINDS} | {("ClusterRole", "")}
    for ns, labels in namespaces.items():
        if ns in settings.allowed_namespaces or ecs_namespace_problem(ns, labels) is None:
            scopes |= {(kind, ns) for kind in _REPLICA_NAMESPACE_KINDS}
    return scopes


def make_plan(
    settings: Settings,
    stack: str,
    source: MetadataSource,
    cluster: ClusterReader | None,
    files: DocumentSource,
    *,
    dry_run: bool,
    state: StateReader | None = None,
    warn: Callable[[str], None] = log.warning,
    ecs: EcsApi | None = None,
) -> Plan:
    """Read the inventory, the state and the demand, plan the layout and check it against the cluster.

    ``checkCluster: false`` (``cluster`` None) is only for an offline preview: an update always checks
    the cluster and the state, and refuses to run otherwise. A preview may also go on without the
    cluster or the state when they cannot be read; an update never does.
    """
    if not dry_run and (not settings.check_cluster or cluster is None):
        raise ConfigError(
            f"config {NAMESPACE}:checkCluster=false only allows an offline preview; an update always checks the cluster "
            "(deletion guard, ownership): set it to true"
        )
    if not dry_run and state is None:
        raise StateUnavailableError("an update needs the stack's state to check what it deletes")
    items, warnings = read_inventory(
        source,
        region=settings.region,
        ssm_paths=settings.ssm_paths,
        name_prefixes=settings.name_prefixes,
        tags=settings.tags,
    )
    stack_state: StackState | None = None
    if state is not None:
        try:
            stack_state = state.read()
        except StateUnavailableError as err:
            if not dry_run:
                raise
            warn(f"state checks skipped in preview: {err}")
    refs: list[Reference] = references_from_config(settings.demand, f"{NAMESPACE}:demand")
    refs += references_from_task_definitions(settings.task_definitions, files)
    namespaces: Mapping[str, Mapping[str, str]] = {}
    if cluster is not None:
        try:
            namespaces = cluster.namespaces()
        except ClusterUnavailableError as err:
            if not dry_run or settings.pod_demand:  # pod demand needs the cluster, even in a preview
                raise
            # A preview without a cluster still shows the plan; `up` never proceeds without these checks.
            warn(f"cluster checks skipped in preview: {err}")
            cluster = None
    pod_unserved: list[Unserved] = []
    if settings.pod_demand:
        if cluster is None:
            raise ClusterUnavailableError(f"{NAMESPACE}:podDemand needs the cluster, but cluster checks are off")
        pods = pod_demand(
            cluster.pods(),
            namespaces,
            allowed=settings.allowed_namespaces,
            refused=(settings.master_namespace, *settings.denied_namespaces),
            strict=settings.strict_pod_demand,
            scope=StackScope(settings.region, settings.clusters),
        )
        refs += pods.references
        warnings += pods.warnings
        pod_unserved = pods.unserved
    ecs_demand = None
    if settings.ecs_demand.enabled:
        if ecs is None:
            raise ConfigError(f"config {NAMESPACE}:ecsDemand is enabled, but the program was given no ECS API")
        # Tenant demand, like the pods': resolved with theirs in plan_layout (their origins start with "ECS ").
        ecs_demand = read_ecs_demand(ecs, settings.ecs_demand)
        ecs_refs, ecs_warnings = ecs_references(ecs_demand)
        ecs_refs, ignored = counted_references(
            ecs_refs,
            namespaces if cluster is not None else None,
            allowed=settings.allowed_namespaces,
            refused=(settings.master_namespace, *settings.denied_namespaces),
            scope=StackScope(settings.region, settings.clusters),
        )
        refs += ecs_refs
        warnings += ecs_warnings + ignored
    known_keys = {(v.arn, v.version): v.keys for v in stack_state.values} if stack_state else {}
    # Masters keep their names while their item exists: a new item never takes, moves or blocks one.
    names_held = held_names(stack_state.objects, settings.master_namespace) if stack_state else {}
    layout = plan_layout(items, merge(refs), settings.layout_settings(stack), settings.region, known_keys, names_held)
    if pod_unserved:
        layout = replace(layout, unserved=tuple(sorted({*layout.unserved, *pod_unserved})))
    warnings += list(layout.warnings)
    marks = recorded_marks(stack_state.objects) if stack_state else {}
    recorded = {v.arn: v.version for v in stack_state.values} if stack_state else {}
    changed = frozenset(m.name for m in layout.masters if recorded.get(m.item.arn, m.item.version) != m.item.version)
    if cluster is None:
        kept = kept_data(layout, settings.master_namespace, stack_state.objects, values=stack_state.values) if stack_state else frozenset()
        held = held_versions(layout, stack_state.values) if stack_state else {}
        return Plan(layout, warnings=tuple(warnings), kept=kept, marks=marks, held=held, ecs=ecs_demand, changed=changed)

    state_objects = stack_state.objects if stack_state else ()
    snapshot = snapshot_cluster(cluster, namespaces, _scopes(layout, settings, namespaces, state_objects))
    missing_namespaces(layout, settings.master_namespace, snapshot.namespaces)
    check_demand_namespaces(layout.origins, namespaces, settings.allowed_namespaces, StackScope(settings.region, settings.clusters))
    wanted = wanted_objects(layout, settings.master_namespace)
    conflicts = find_unmanaged(wanted, snapshot, stack, stack_state.objects if stack_state else None)
    # An object outside the state carrying a mark the state records for another object is a copy (of a replica its
    # namespace can read): in the way like any unmanaged object, so in a tenant namespace it skips that replica only.
    conflicts = sorted({*conflicts, *copied_claims(claimed_marks(wanted, snapshot, stack, state_objects), marks)})
    if not settings.adopt_existing:
        known_warnings = len(layout.warnings)
        layout, conflicts = isolate_unmanaged(layout, conflicts, settings.master_namespace)
        warnings += layout.warnings[known_warnings:]
    check_unmanaged(conflicts, settings.adopt_existing, snapshot, stack)
    wanted = wanted_objects(layout, settings.master_namespace)
    adopt = frozenset(conflicts) if settings.adopt_existing else frozenset()
    planned = {m.name for m in layout.masters}
    if stack_state is None:
        # A preview that could not read the state: the guard judges by the annotated masters in the cluster.
        existing = set(managed_masters(snapshot, settings.master_namespace, stack))
        leftovers: list[Leftover] = []
    else:
        check_ownership(doomed_objects(stack_state.objects, wanted), snapshot, stack)
        leftovers = find_leftovers(snapshot, stack_state.objects, wanted, stack, settings.master_namespace)
        strays = find_strays(snapshot, stack_state.objects, wanted, stack, settings.master_namespace)
        if strays:
            warnings.append(
                f"objects carrying this stack's annotation ({stack}) but no ownership mark it made under a name its naming "
                "could produce (copies, or made by a version without marks) are not this stack's and are left alone: "
                + ", ".join(shown(key) for key in strays)
            )
        existing = {o.name for o in stack_state.objects if o.kind in MASTER_KINDS and o.namespace == settings.master_namespace}
        # Counted by the guard, though the sweep deletes only those whose mark verifies (a copy's does not).
        existing |= {name for kind, ns, name, *_ in leftovers if kind in MASTER_KINDS and ns == settings.master_namespace}
    # A master whose item now has another name (its label and annotation say which item it holds) is renamed:
    # the new one is made before the old one goes. The old one is deleted all the same: the guard counts it.
    new_name = {m.item.key: m.name for m in layout.masters}
    sources = master_sources(snapshot, settings.master_namespace, stack)
    # Not a leftover: a copy of a master carries its label and annotation too, and only the sweep can tell.
    swept = {name for _, ns, name, *_ in leftovers if ns == settings.master_namespace}
    renamed = tuple(
        (name, new_name[sources[name]]) for name in sorted(existing - swept) if name not in planned and sources.get(name) in new_name
    )
    deletions = check_deletions(
        existing, planned, settings.max_master_deletions, settings.allow_mass_deletion, renamed=[old for old, _ in renamed]
    )
    kept = kept_data(layout, settings.master_namespace, state_objects, snapshot.objects, stack_state.values) if stack_state else frozenset()
    held = held_versions(layout, stack_state.values) if stack_state else {}
    claims = claimed_marks(wanted, snapshot, stack, state_objects)
    return Plan(layout, adopt, tuple(deletions), tuple(warnings), renamed, tuple(leftovers), kept - adopt, marks,
                {key: mark for key, mark in claims.items() if key not in adopt}, held, ecs_demand, changed)
