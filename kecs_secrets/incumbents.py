"""Which item each of the stack's masters holds, read from the stack's state: the names naming keeps.

The state records what the program itself asked for (each master's ``kecs.io/source-name`` and
``kecs.io/source-arn`` annotations), so nobody who can only create items in AWS or edit objects in
the cluster can make an item look as if it held another item's name. The cluster's copy of these
annotations is not used for this: anyone allowed to edit the master namespace could change it.
"""

from __future__ import annotations

from collections.abc import Iterable

from kecs_secrets.model import ANNOTATION_SOURCE_ARN, ANNOTATION_SOURCE_NAME, SECRETSMANAGER, SSM, StateObject

__all__ = ["held_names"]

_MASTER_KINDS = ("Secret", "ConfigMap")


def _source(arn: str) -> str:
    """``secretsmanager`` or ``ssm`` from an ARN's service field, or "" when it is neither."""
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[2] in (SECRETSMANAGER, SSM) else ""


def held_names(objects: Iterable[StateObject], master_namespace: str) -> dict[tuple[str, str], str]:
    """``(source, source name)`` -> the name of the master the state holds for it.

    A master recorded without both annotations holds nothing (its item is named as a new one). Should
    the state hold several masters for one item, the smallest name is taken, so the result never
    depends on the order of the state.
    """
    held: dict[tuple[str, str], str] = {}
    for obj in objects:
        if obj.kind not in _MASTER_KINDS or obj.namespace != master_namespace:
            continue
        source = _source(obj.annotations.get(ANNOTATION_SOURCE_ARN, ""))
        name = obj.annotations.get(ANNOTATION_SOURCE_NAME, "")
        if source and name:
            key = (source, name)
            held[key] = min(held.get(key, obj.name), obj.name)
    return held
