"""Checks of the planned layout against what the cluster already holds, and the deletion guard (pure: the cluster is a snapshot).

They run before any resource is registered, so a bad run changes nothing:
- every namespace that should receive replicas exists;
- no object the stack did not make holds a name the stack wants (unless adoption is asked for);
- adoption never takes an object another stack marks as its own;
- every object in the stack's state that this run would delete is still provably the stack's own
  (its annotation, the uid and the ownership mark the state recorded): Pulumi deletes by name, so an
  object someone recreated under that name would otherwise be deleted;
- objects carrying this stack's annotation and an ownership mark, under a name the stack's naming could
  produce, that are neither in its state nor wanted (left by an interrupted run) are found, so that the
  run removes them (``kecs:LeftoverSweep`` deletes only those whose mark verifies under the stack's key);
  others carrying the annotation are left alone and named.
- the deletion guard counts the masters this run really deletes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kecs_secrets.config import NAMESPACE
from kecs_secrets.errors import DeletionGuardError, LayoutError, OwnershipError, UnmanagedObjectError
from kecs_secrets.isolation import Unserved
from kecs_secrets.layout import Layout
from kecs_secrets.model import ANNOTATION_SOURCE_NAME, ANNOTATION_STACK, LABEL_SOURCE, StateObject
from kecs_secrets.ownership import ANNOTATION_MARK, mark_of, naming_could_produce

__all__ = [
    "MANAGED_KINDS",
    "ClusterSnapshot",
    "Leftover",
    "ObjectKey",
    "check_deletions",
    "check_ownership",
    "check_unmanaged",
    "claimed_marks",
    "copied_claims",
    "doomed_objects",
    "find_leftovers",
    "find_strays",
    "find_unmanaged",
    "isolate_unmanaged",
    "managed_masters",
    "master_sources",
    "missing_namespaces",
    "shown",
    "wanted_objects",
]

ObjectKey = tuple[str, str, str]  # (kind, namespace or "", name)
Leftover = tuple[str, str, str, str, str]  # (kind, namespace or "", name, uid, the ownership mark it carries)
# Every kind of object the stack makes (namespaced ones, then the ClusterRole).
MANAGED_KINDS = ("Secret", "ConfigMap", "ServiceAccount", "RoleBinding", "Role", "ClusterRole")


def shown(key: ObjectKey | Leftover) -> str:
    """``Kind namespace/name`` (or ``Kind name`` when cluster-scoped), for messages."""
    kind, namespace, name = key[0], key[1], key[2]
    return f"{kind} {namespace + '/' if namespace else ''}{name}"


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


def find_unmanaged(
    wanted: Iterable[ObjectKey], snapshot: ClusterSnapshot, stack: str, state: Iterable[StateObject] | None = None
) -> list[ObjectKey]:
    """Wanted objects that exist in the cluster but were not made by this stack.

    Made by this stack: it carries this stack's annotation and is in the stack's state, or carries an
    ownership mark (an object of an interrupted run: ``kecs:LeftoverSweep`` verifies such marks before the
    objects are written). The annotation alone, which every copy carries, is not enough. Without the state
    (``None``: a preview that could not read it, which changes nothing) the annotation is all there is.
    """
    known = None if state is None else {obj.key for obj in state}

    def ours(key: ObjectKey) -> bool:
        metadata = snapshot.objects[key]
        return _stack_of(metadata) == stack and (known is None or key in known or bool(mark_of(metadata)))

    return sorted(key for key in wanted if key in snapshot.objects and not ours(key))


def claimed_marks(
    wanted: Iterable[ObjectKey], snapshot: ClusterSnapshot, stack: str, state: Iterable[StateObject]
) -> dict[ObjectKey, str]:
    """Wanted objects outside the state that carry this stack's annotation and a mark (an interrupted run's, or a copy),
    with that mark: the run takes one over only if its mark is the one the stack makes for it (checked under the key)."""
    known = {obj.key for obj in state}
    return {
        key: mark_of(snapshot.objects[key]) for key in wanted
        if key in snapshot.objects and key not in known
        and _stack_of(snapshot.objects[key]) == stack and mark_of(snapshot.objects[key])
    }


def copied_claims(claims: Mapping[ObjectKey, str], recorded: Mapping[ObjectKey, str]) -> list[ObjectKey]:
    """Claimed objects whose mark the state records for another object: copies of that object, never the stack's own
    (a mark binds one kind, namespace and name), found without the key."""
    owner = {mark: key for key, mark in recorded.items()}
    return sorted(key for key, mark in claims.items() if owner.get(mark, key) != key)


def check_unmanaged(conflicts: list[ObjectKey], adopt: bool, snapshot: ClusterSnapshot | None = None, stack: str = "") -> None:
    """Refuse objects in the way unless adoption is asked for, and one that another stack marks as its own always."""
    objects: Mapping[ObjectKey, Mapping[str, Any]] = snapshot.objects if snapshot is not None else {}
    theirs = [
        (key, _stack_of(objects[key])) for key in conflicts
        if key in objects and mark_of(objects[key]) and _stack_of(objects[key]) not in ("", stack)
    ]
    if theirs:
        listed = ", ".join(f"{shown(key)} (stack {owner})" for key, owner in theirs[:10])
        raise OwnershipError(
            f"these objects already exist and another stack marks them as its own: {listed}; "
            f"{NAMESPACE}:adoptExisting never takes them over: remove them from that stack, or rename"
        )
    if conflicts and not adopt:
        listed = ", ".join(shown(key) for key in conflicts[:10])
        more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
        raise UnmanagedObjectError(
            f"these objects already exist and were not made by this stack: {listed}{more}. "
            "Rename or remove them, or set kecs-secrets:adoptExisting=true to take them over"
        )


def isolate_unmanaged(layout: Layout, conflicts: Iterable[ObjectKey], master_namespace: str) -> tuple[Layout, list[ObjectKey]]:
    """Isolate the unmanaged objects that block one namespace only; return the layout without what they block, and
    the conflicts that still stop the run (masters, and the shared ClusterRole).

    Whoever may write in their own namespace can make an object under a replica's name: that skips this
    replica only. An object under a name of one namespace's RBAC (its reader ServiceAccount, or its
    RoleBinding or Role in the master namespace) skips that namespace's RBAC: binding someone else's
    ServiceAccount, or trusting someone else's Role, would hand read access to the masters. Each is a
    warning line, and each reference asking for a skipped replica is unserved (an Event on its pod). A
    master (or the ClusterRole) is everyone's: an object under its name stays an error.
    """
    remaining = set(conflicts)
    hint = "rename or remove it, or set kecs-secrets:adoptExisting=true to take it over"
    warnings, unserved = list(layout.warnings), list(layout.unserved)
    replicas = []
    for replica in layout.replicas:
        key = (replica.kind, replica.namespace, replica.name)
        if key not in remaining:
            replicas.append(replica)
            continue
        remaining.discard(key)
        why = f"{shown(key)} already exists and was not made by this stack"
        warnings.append(f"{why}: that replica is skipped, the rest of the run goes on ({hint})")
        unserved += [Unserved(ref, why) for ref in layout.demanded_by.get((replica.namespace, replica.master), ())]
    rbac = []
    for plan in layout.rbac:
        own = {("ServiceAccount", plan.namespace, plan.service_account), ("RoleBinding", master_namespace, plan.role_binding)}
        if plan.role_kind == "Role":
            own.add(("Role", master_namespace, plan.role_name))
        blocked = sorted(own & remaining)
        if not blocked:
            rbac.append(plan)
            continue
        remaining -= own
        warnings.append(
            f"{', '.join(shown(key) for key in blocked)} already exists and was not made by this stack: namespace "
            f"{plan.namespace} gets no reader ServiceAccount and RoleBinding this run, the rest of the run goes on ({hint})"
        )
    if len(replicas) == len(layout.replicas) and len(rbac) == len(layout.rbac):
        return layout, sorted(remaining)
    trimmed = replace(layout, replicas=tuple(replicas), rbac=tuple(rbac), warnings=tuple(warnings), unserved=tuple(sorted(unserved)))
    return trimmed, sorted(remaining)


def managed_masters(snapshot: ClusterSnapshot, master_namespace: str, stack: str) -> list[str]:
    """Masters in the cluster that carry this stack's annotation."""
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


def doomed_objects(state: Iterable[StateObject], wanted: Iterable[ObjectKey]) -> list[StateObject]:
    """Objects in the stack's state that the layout no longer has: Pulumi deletes them (by name) in this run."""
    keep = set(wanted)
    return sorted(obj for obj in state if obj.kind in MANAGED_KINDS and obj.key not in keep)


def _is_ours(obj: StateObject, metadata: Mapping[str, Any], stack: str) -> bool:
    if _stack_of(metadata) != stack:
        return False
    recorded = obj.annotations.get(ANNOTATION_MARK, "")
    if recorded and mark_of(metadata) != recorded:  # the state recorded the mark the stack made for it
        return False
    uid = metadata.get("uid", "")
    return not (obj.uid and uid and uid != obj.uid)


def check_ownership(doomed: Iterable[StateObject], snapshot: ClusterSnapshot, stack: str) -> None:
    """Refuse to go on when an object due for deletion is not provably this stack's own any more.

    Its live object (if any) must carry this stack's annotation and, when the state recorded them, the
    same uid and the same ownership mark. Otherwise someone else's object holds the name, and Pulumi's delete by name would take it.
    """
    foreign = [obj for obj in doomed if obj.key in snapshot.objects and not _is_ours(obj, snapshot.objects[obj.key], stack)]
    if not foreign:
        return
    listed = ", ".join(shown(obj.key) for obj in foreign[:5])
    more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
    commands = "; ".join(f"pulumi state delete '{obj.urn}' --yes" for obj in foreign[:5])
    raise OwnershipError(
        f"{listed}{more}: in this stack's state and due for deletion, but the live object is not this stack's "
        f"(no {ANNOTATION_STACK}={stack} annotation, or another uid); nothing was changed. To forget it from the "
        f"state without touching the cluster: {commands}"
    )


def _unknown_claims(
    snapshot: ClusterSnapshot, state: Iterable[StateObject], wanted: Iterable[ObjectKey], stack: str
) -> list[tuple[ObjectKey, Mapping[str, Any]]]:
    known = {obj.key for obj in state} | set(wanted)
    return sorted(
        (key, metadata) for key, metadata in snapshot.objects.items()
        if key[0] in MANAGED_KINDS and key not in known and _stack_of(metadata) == stack
    )


def find_leftovers(
    snapshot: ClusterSnapshot, state: Iterable[StateObject], wanted: Iterable[ObjectKey], stack: str, master_namespace: str
) -> list[Leftover]:
    """Candidates for objects left by an interrupted run: neither in the state nor wanted, carrying this stack's
    annotation and an ownership mark, under a name the stack's naming could produce.

    Pulumi cannot delete them (they are not in its state), so the run must remove them itself; the program
    cannot verify a mark (it has no key), so ``kecs:LeftoverSweep`` deletes only those whose mark verifies.
    """
    return [
        (*key, str(metadata.get("uid", "")), mark_of(metadata))
        for key, metadata in _unknown_claims(snapshot, state, wanted, stack)
        if mark_of(metadata) and naming_could_produce(*key, master_namespace)
    ]


def find_strays(
    snapshot: ClusterSnapshot, state: Iterable[StateObject], wanted: Iterable[ObjectKey], stack: str, master_namespace: str
) -> list[ObjectKey]:
    """Objects carrying this stack's annotation that are not its own as far as the run can tell (no mark, or a name
    its naming cannot produce): neither in its state nor wanted, so the run leaves them alone (and names them)."""
    return [
        key for key, metadata in _unknown_claims(snapshot, state, wanted, stack)
        if not (mark_of(metadata) and naming_could_produce(*key, master_namespace))
    ]


def check_deletions(
    existing: Iterable[str], planned: Iterable[str], limit: int, allow: bool, renamed: Iterable[str] = ()
) -> list[str]:
    """The deletion guard: masters that exist (made by this stack) but are not planned any more.

    Refuses when more than ``limit`` would go, or when every existing master would go (an empty or
    unreadable source must never read as "delete everything"), unless ``allow`` is set. Every master
    that goes counts, also those in ``renamed`` (their item now has another name; the message says how
    many of them there are). Returns the names that will be deleted.
    """
    planned_set = set(planned)
    doomed = sorted(set(existing) - planned_set)
    if allow or not doomed:
        return doomed
    moved = len(set(renamed) & set(doomed))
    of_which = f", {moved} of them renamed (their item now has another name)" if moved else ""
    if len(doomed) > limit:
        raise DeletionGuardError(
            f"this run would delete {len(doomed)} masters (limit {limit}){of_which}, e.g. {doomed[:5]}; "
            "set kecs-secrets:allowMassDeletion=true to proceed"
        )
    if not planned_set:
        raise DeletionGuardError(
            f"the source lists no items, so this run would delete all {len(doomed)} masters; "
            "set kecs-secrets:allowMassDeletion=true if that is really wanted"
        )
    return doomed
