"""Which masters and replicas keep the data their state holds: the rule that makes a run read only changed values.

A master's data, and each of its replicas', is a function of its source item's version alone. So when
the stack's state holds the object with the value annotations this run plans for it (source name,
ARN, version, type, last change) and with data, and the object is in the cluster with that version,
its data is still right: the program registers it with the data Pulumi keeps (``ignore_changes``),
and it does not depend on the value reader. Every other object (new, of a changed version, missing
from the cluster, adopted) takes its data from the reader. So a preview shows as changing exactly the
objects whose value changed, and a run in which nothing changed reads nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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
)
from kecs_secrets.preflight import ObjectKey

__all__ = ["VALUE_ANNOTATIONS", "kept_data"]

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
) -> frozenset[ObjectKey]:
    """The masters and replicas (by key) whose data their state holds and whose value did not change.

    ``live`` is the cluster's objects (metadata by key); ``None`` when the cluster was not listed. A
    replica keeps its data only when its master does too.
    """
    recorded = {o.key: o for o in state_objects}

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
        if holds(key, master.annotations):
            kept.add(key)
            masters.add(master.name)
    for replica in layout.replicas:
        key = (replica.kind, replica.namespace, replica.name)
        if replica.master in masters and holds(key, replica.annotations):
            kept.add(key)
    return frozenset(kept)
