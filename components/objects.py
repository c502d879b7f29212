"""The one place that turns a planned name, kind, labels and annotations into a Kubernetes object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from kecs_secrets.adoption import AdoptionSet, with_adoption
from kecs_secrets.errors import OwnershipError
from kecs_secrets.ownership import ANNOTATION_MARK, ownership_mark
from kecs_secrets.preflight import ObjectKey, shown

__all__ = ["DELETION_POLICY", "KEPT_DATA", "Ownership", "data_object", "metadata"]

# The Kubernetes provider deletes with foreground propagation by default: the object gets the
# foregroundDeletion finalizer and is gone only once the garbage collector has patched it away. None of
# our objects owns dependents, so background propagation removes it at once, with the same end state
# (and without a PATCH by the controller-manager per deleted object).
DELETION_POLICY = {"pulumi.com/deletionPropagationPolicy": "background"}

# The data given for an object that keeps the data its state holds (``ignore_changes``: the engine puts the
# recorded data in its place before anything sees it). Its key is not a valid data key, so should the
# engine ever create an object from it (the state no longer holds that object), the API server refuses
# the object instead of storing a wrong value.
KEPT_DATA = {"kecs-secrets:data-kept-from-state": ""}


@dataclass(frozen=True)
class Ownership:
    """Whose the objects are: the ones ``adoptExisting`` takes over, and each object's ownership mark.

    An object the state holds with a mark is given that mark again as it is: it needs no key, so it never
    waits for the value reader and a preview shows no change for it even when the reader's outputs are
    unknown. Any other object (new, or made before marks) gets its mark made now under the stack's key, the
    value reader's, taken without recording the reader as its dependency (as its data is).
    """

    stack: str
    key: pulumi.Output | None = None  # the stack's secret key (hex), not secret here: a mark reveals nothing of it
    recorded: Mapping[ObjectKey, str] = field(default_factory=dict)
    adopt: AdoptionSet = frozenset()
    # Wanted objects outside the state that carry this stack's annotation and a mark (the live one): an interrupted
    # run's are taken over; any other (a copy put under that name) is refused by name before it is written.
    claims: Mapping[ObjectKey, str] = field(default_factory=dict)

    def mark(self, kind: str, namespace: str, name: str) -> pulumi.Input[str]:
        recorded = self.recorded.get((kind, namespace, name))
        if recorded:
            return recorded
        if self.key is None:
            raise OwnershipError(f"no key to mark {kind} {namespace}/{name} with")
        claimed = self.claims.get((kind, namespace, name))
        return self.key.apply(lambda key: _mark(key, self.stack, kind, namespace, name, claimed))


def _mark(key: str | None, stack: str, kind: str, namespace: str, name: str, claimed: str | None) -> str:
    if not key:
        raise OwnershipError(f"the value reader holds no key to mark {kind} {namespace}/{name} with")
    mark = ownership_mark(bytes.fromhex(key), stack, kind, namespace, name)
    if claimed is not None and claimed != mark:
        # A one-line error (RunError: no traceback) before the object is written.
        raise pulumi.RunError(
            f"UnmanagedObjectError: {shown((kind, namespace, name))} already exists and was not made by this stack: it "
            f"carries the {stack} annotation with an ownership mark this stack did not make for it (a copy). Rename or "
            "remove it, or set kecs-secrets:adoptExisting=true to take it over"
        )
    return mark


def metadata(
    kind: str,
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | pulumi.Output,
    ownership: Ownership,
) -> k8s.meta.v1.ObjectMetaArgs:
    """``annotations`` may be an Output (an object taking its data from the value reader names the version it holds)."""
    mark = ownership.mark(kind, namespace, name)

    def complete(given: Mapping[str, str], mark: pulumi.Input[str]) -> dict:
        return {**with_adoption(given, kind, namespace, name, ownership.adopt), ANNOTATION_MARK: mark, **DELETION_POLICY}

    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        namespace=namespace or None,
        labels=dict(labels),
        annotations=(
            pulumi.Output.all(annotations, mark).apply(lambda given: complete(*given))
            if isinstance(annotations, pulumi.Output) else complete(annotations, mark)
        ),
    )


def data_object(
    resource_name: str,
    kind: str,
    meta: k8s.meta.v1.ObjectMetaArgs,
    data: pulumi.Input[Mapping[str, str]] | None,
    opts: pulumi.ResourceOptions,
) -> pulumi.Resource:
    """A Secret (``data`` base64, type Opaque) or a ConfigMap (``data`` text) holding one master's data.

    ``data`` None: the object keeps the data its state holds (``kecs_secrets.freshness``).
    """
    if data is None:
        data = KEPT_DATA  # no value in it (so not a secret); what the engine puts in its place is the state's secret data
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["data"]))
    if kind == "Secret":
        return k8s.core.v1.Secret(resource_name, metadata=meta, type="Opaque", data=data, opts=opts)
    return k8s.core.v1.ConfigMap(resource_name, metadata=meta, data=data, opts=opts)
