"""Checks of the planned layout against what the cluster already holds, and the deletion guard (pure: the cluster is a snapshot).

They run before any resource is registered, so a bad run changes nothing:
- every namespace that should receive replicas exists;
- no object the stack did not make holds a name the stack wants (unless adoption is asked for);
- the deletion guard counts the masters this stack made that the plan no longer has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kecs_secrets.errors import DeletionGuardError, LayoutError, UnmanagedObjectError
from kecs_secrets.layout import Layout
from kecs_secrets.model import ANNOTATION_SOURCE_NAME, ANNOTATION_STACK, LABEL_SOURCE

__all__ = [
    "ClusterSnapshot",
    "ObjectKey",
    "check_deletions",
    "check_unmanaged", "find_unmanaged", "managed_masters", "master_sources", "missing_namespaces", "wanted_objects"]

ObjectKey = tuple[str, str, str]  # (kind, namespace or "", name)


@dataclass(frozen=True)
class ClusterSnapshot:
    namespaces: frozenset[str]
    objects: Mapping[ObjectKey, Mapping[str, Any]]  # key -> metadata


def wanted_objects(layout: Layout, master_namespace: str) -> list[ObjectKey]:
    keys: list[ObjectKey] = [(m.kind, master_namespace, m.name) for m in layout.masters]
    keys += [(r.kind, r.namespace, r.name) for r in layout.replicas]
    for plan in layout.rbac:
        keys.append(("ServiceAccount", plan.namespace, plan.service_account))
        keys.append(("RoleBinding", master_namespace, plan.role_binding))
        keys.append((plan.role_kind, "" if plan.role_kind == "ClusterRole" else master_namespace, plan.role_name))
    return sorted(set(keys))


def missing_namespaces(layout: Layout, master_namespace: str, namespaces: Iterable[str]) -> None:
    existing = set(namespaces)
    if master_namespace not in existing:
        raise LayoutError(f"master namespace {master_namespace!r} does not exist in the cluster (create it first)")
    for namespace in sorted({r.namespace for r in layout.replicas}):
        if namespace not in existing:
            origin = layout.origins.get(namespace, "demand")
            raise LayoutError(f"namespace {namespace!r} (from {origin}) does not exist in the cluster")


def _stack_of(metadata: Mapping[str, Any]) -> str:
    return (metadata.get("annotations") or {}).get(ANNOTATION_STACK, "")


def find_unmanaged(wanted: Iterable[ObjectKey], snapshot: ClusterSnapshot, stack: str) -> list[ObjectKey]:
    """Wanted objects that exist in the cluster but were not made by this stack."""
    return sorted(key for key in wanted if key in snapshot.objects and _stack_of(snapshot.objects[key]) != stack)


def check_unmanaged(conflicts: list[ObjectKey], adopt: bool) -> None:
    if conflicts and not adopt:
        shown = ", ".join(f"{kind} {ns + '/' if ns else ''}{name}" for kind, ns, name in conflicts[:10])
        more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
        raise UnmanagedObjectError(
            f"these objects already exist and were not made by this stack: {shown}{more}. "
            "Rename or remove them, or set kecs-secrets:adoptExisting=true to take them over"
        )


def managed_masters(snapshot: ClusterSnapshot, master_namespace: str, stack: str) -> list[str]:
    """Masters this stack made earlier (by its annotation), as the deletion guard's 'before'."""
    return sorted(
        name
        for (kind, ns, name), metadata in snapshot.objects.items()
        if kind in ("Secret", "ConfigMap") and ns == master_namespace and _stack_of(metadata) == stack
    )


def master_sources(snapshot: ClusterSnapshot, master_namespace: str, stack: str) -> dict[str, tuple[str, str]]:
    """(source, source name) of each master this stack made earlier, from its label and annotation."""
    result = {}
    for (kind, ns, name), metadata in snapshot.objects.items():
        if kind in ("Secret", "ConfigMap") and ns == master_namespace and _stack_of(metadata) == stack:
            source = (metadata.get("labels") or {}).get(LABEL_SOURCE, "")
            source_name = (metadata.get("annotations") or {}).get(ANNOTATION_SOURCE_NAME, "")
            if source and source_name:
                result[name] = (source, source_name)
    return result


def check_deletions(
    existing: Iterable[str], planned: Iterable[str], limit: int, allow: bool, moved: Iterable[str] = ()
) -> list[str]:
    """The deletion guard: masters that exist (made by this stack) but are not planned any more.

    Refuses when more than ``limit`` would go, or when every existing master would go (an empty or
    unreadable source must never read as "delete everything"), unless ``allow`` is set. Masters in
    ``moved`` go only because their item now has another name (its new master is made before the old
    one goes): they do not count against the limit. Returns the names that will be deleted.
    """
    existing_set, planned_set = set(existing), set(planned)
    doomed = sorted(existing_set - planned_set)
    lost = [name for name in doomed if name not in set(moved)]
    if allow or not lost:
        return doomed
    if len(lost) > limit:
        raise DeletionGuardError(
            f"this run would delete {len(lost)} masters (limit {limit}), e.g. {lost[:5]}; "
            "set kecs-secrets:allowMassDeletion=true to proceed"
        )
    if not planned_set:
        raise DeletionGuardError(
            f"the source lists no items, so this run would delete all {len(lost)} masters; "
            "set kecs-secrets:allowMassDeletion=true if that is really wanted"
        )
    return doomed
