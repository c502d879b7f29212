"""Which masters and replicas keep the data their state holds: the rule that makes a run read only changed values.

A master's data, and each of its replicas', is a function of its source item's version alone. So when
the stack's state holds the object with the value annotations this run plans for it (source name,
ARN, version, type, last change) and with data, and the object is in the cluster with that version,
its data is still right: the program registers it with the data Pulumi keeps (``ignore_changes``),
and it does not depend on the value reader. Every other object (new, of a changed version, missing
from the cluster, adopted) takes its data from the reader. So a preview shows as changing exactly the
objects whose value changed, and a run in which nothing changed reads nothing.

The version is the item's ARN, version and stamp (its last change to the microsecond): the state's
annotations name the first two and the last change to the second, and the reader's record in the state
has the stamp, so a parameter deleted and made again within the same second at the same version
number is a new version all the same.

An object takes the annotations of the version whose data it holds (``annotations_holding``): when its
item's new value cannot be used, the reader keeps the earlier data and says of which version it is, and
the object keeps naming that version, never the new one over the old data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kecs_secrets.inventory import rfc3339
from kecs_secrets.layout import Layout
from kecs_secrets.model import (
    ANNOTATION_LAST_CHANGED,
    ANNOTATION_LAST_REPLICATED,
    ANNOTATION_SOURCE_ARN,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    ANNOTATION_SOURCE_TYPE,
    ANNOTATION_SOURCE_VERSION,
    StateObject,
    StateValue,
)
from kecs_secrets.preflight import ObjectKey

__all__ = ["VALUE_ANNOTATIONS", "annotations_holding", "held_versions", "kept_data"]

# The annotations that say which value an object holds; the same ones in state mean the same data.
VALUE_ANNOTATIONS = (
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_ARN,
    ANNOTATION_SOURCE_VERSION,
    ANNOTATION_SOURCE_TYPE,
    ANNOTATION_LAST_CHANGED,
    ANNOTATION_SOURCE_NAMESPACE,
    ANNOTATION_LAST_REPLICATED,
)


def kept_data(
    layout: Layout,
    master_namespace: str,
    state_objects: Iterable[StateObject],
    live: Mapping[ObjectKey, Mapping[str, Any]] | None = None,
    values: Iterable[StateValue] = (),
) -> frozenset[ObjectKey]:
    """The masters and replicas (by key) whose data their state holds and whose value did not change.

    ``live`` is the cluster's objects (metadata by key); ``None`` when the cluster was not listed.
    ``values`` is what the state's value reader holds per master (a stamp of None: not recorded). A
    replica keeps its data only when its master does too.
    """
    recorded = {o.key: o for o in state_objects}
    values = list(values)
    stamps = {value.master: value.stamp for value in values if value.master}
    held = held_versions(layout, values)

    def holds(key: ObjectKey, annotations: Mapping[str, str]) -> bool:
        found = recorded.get(key)
        if found is None or not found.has_data:
            return False
        if any(found.annotations.get(name) != annotations.get(name) for name in VALUE_ANNOTATIONS):
            return False
        if live is None:
            return True
        meta = live.get(key)
        live_annotations = (meta or {}).get("annotations") or {}
        return meta is not None and live_annotations.get(ANNOTATION_SOURCE_VERSION) == annotations.get(ANNOTATION_SOURCE_VERSION)

    kept: set[ObjectKey] = set()
    masters = set()
    for master in layout.masters:
        key = (master.kind, master_namespace, master.name)
        stamp = stamps.get(master.name)
        fresh = stamp is None or stamp == master.item.stamp or master.name in held
        if holds(key, annotations_holding(master.annotations, held.get(master.name))) and fresh:
            kept.add(key)
            masters.add(master.name)
    for replica in layout.replicas:
        key = (replica.kind, replica.namespace, replica.name)
        if replica.master in masters and holds(key, annotations_holding(replica.annotations, held.get(replica.master))):
            kept.add(key)
    return frozenset(kept)


def annotations_holding(planned: Mapping[str, str], held: Sequence[str] | None) -> dict[str, str]:
    """The annotations of an object whose data is of version ``held`` (``[arn, version, stamp]``; all empty: no data)
    instead of the version planned: the planned ones, naming the held version. ``held`` None: the planned ones."""
    if held is None:
        return dict(planned)
    arn, version, stamp = (list(held) + ["", "", ""])[:3]
    changed = rfc3339(stamp) if stamp else ""
    named = {
        ANNOTATION_SOURCE_ARN: arn,
        ANNOTATION_SOURCE_VERSION: version,
        ANNOTATION_LAST_CHANGED: changed,
        ANNOTATION_LAST_REPLICATED: changed,
    }
    return {name: named.get(name, value) for name, value in planned.items()}


def held_versions(layout: Layout, values: Iterable[StateValue]) -> dict[str, list[str]]:
    """The masters whose reader keeps an earlier version's data (``[arn, version, stamp]``) because the version this run
    plans is the very one it could not use: the reader will not read it again, so they and their replicas keep that data
    and go on naming its version (and a preview shows them unchanged)."""
    asked = {value.master: value for value in values if value.master and value.asked is not None}
    return {
        master.name: [value.arn, value.version, value.stamp or ""]
        for master in layout.masters
        if (value := asked.get(master.name)) is not None and value.asked == (master.item.arn, master.item.version, master.item.stamp)
    }
