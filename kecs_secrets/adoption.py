"""Explicit adoption of existing objects (kecs-secrets:adoptExisting).

An adopted object is taken over by server-side apply with force (the provider's per-object
``pulumi.com/patchForce`` annotation), so fields another manager owned become the stack's. Only the
objects the preflight found in the way get it, and only while adoption is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PATCH_FORCE", "AdoptionSet", "with_adoption"]

PATCH_FORCE = "pulumi.com/patchForce"
AdoptionSet = frozenset[tuple[str, str, str]]  # (kind, namespace or "", name)


def with_adoption(annotations: Mapping[str, str], kind: str, namespace: str, name: str, adopt: AdoptionSet) -> dict[str, str]:
    result = dict(annotations)
    if (kind, namespace, name) in adopt:
        result[PATCH_FORCE] = "true"
    return result
