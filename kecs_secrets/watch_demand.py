"""What the watch's observations ask for: a pod's missing replicas, the source items that changed, the ECS demand
that moved. Each answer is a focus (kecs_secrets/focus.py) or a full update; the program then plans as always.

These rules only decide *when* to update and what to focus on; what an update makes is the program's plan, so
a rule here that sees too much costs one update that changes nothing, and one that sees too little is caught
by the follow-up and periodic full updates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kecs_secrets.demand import pod_references
from kecs_secrets.focus import Focus
from kecs_secrets.model import SourceItem
from kecs_secrets.naming import kecs_secret_key_ref

__all__ = ["SourceChange", "Version", "demand_focus", "ecs_demand_focus", "missing_replicas", "source_change", "versions"]

Version = tuple[str, str, str]  # (arn, version, stamp): one value of one item


def missing_replicas(pod: Mapping[str, Any], served: Mapping[str, Collection[str]]) -> frozenset[str]:
    """The names a pod's ``kecs.dev/secret-<i>-arn`` annotations make KECS reference that its namespace lacks
    (``served``: namespace -> the replicas the stack's last update made there). A reference KECS passes on as
    no secretKeyRef (a bare name) asks for nothing."""
    refs, _malformed = pod_references(pod)  # a malformed annotation: the next full update tells the pod
    names = {ref.name for ref in (kecs_secret_key_ref(r.value_from) for r in refs) if ref is not None}
    namespace = str((pod.get("metadata") or {}).get("namespace", ""))
    return frozenset(names - set(served.get(namespace, ())))


def demand_focus(namespace: str, wanted: Collection[str], served: Mapping[str, Collection[str]]) -> Focus:
    """The focus of a pod's demand for ``wanted`` replicas in ``namespace``: those replicas alone when the namespace
    holds replicas already (its component and RBAC exist: kecs_secrets/targets.py), else the whole namespace (its
    first replicas, made with its component and RBAC)."""
    if served.get(namespace):
        return Focus(replicas=frozenset((namespace, name) for name in wanted))
    return Focus(namespaces=frozenset({namespace}))


def versions(items: Iterable[SourceItem]) -> dict[tuple[str, str], Version]:
    return {item.key: (item.arn, item.version, item.stamp) for item in items}


@dataclass(frozen=True)
class SourceChange:
    """What changed between two listings of the source: ``full`` when an item came or went (new names are
    chosen around the ones in use, so only a full update names them), else the masters whose value changed."""

    full: bool
    focus: Focus

    def __bool__(self) -> bool:
        return self.full or bool(self.focus)


def source_change(
    before: Mapping[tuple[str, str], Version], after: Mapping[tuple[str, str], Version], masters: Mapping[tuple[str, str], str]
) -> SourceChange:
    """``before``/``after``: (source, name) -> its value's identity; ``masters``: (source, name) -> its master."""
    if set(before) != set(after):
        return SourceChange(True, Focus())
    changed = [key for key in after if after[key] != before[key]]
    if any(key not in masters for key in changed):
        return SourceChange(True, Focus())
    return SourceChange(False, Focus(masters=frozenset(masters[key] for key in changed)))


def ecs_demand_focus(before: Mapping[str, Collection[str]], after: Mapping[str, Collection[str]]) -> Focus:
    """The namespaces whose ECS demand (namespace -> the ``valueFrom``s its services and tasks reference) moved."""
    moved = {ns for ns in set(before) | set(after) if set(before.get(ns, ())) != set(after.get(ns, ()))}
    return Focus(namespaces=frozenset(moved))
