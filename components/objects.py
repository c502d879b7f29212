"""The one place that turns a planned name, kind, labels and annotations into a Kubernetes object."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

from kecs_secrets.adoption import AdoptionSet, with_adoption

__all__ = ["DELETION_POLICY", "KEPT_DATA", "data_object", "metadata"]

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


def metadata(
    kind: str,
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | pulumi.Output,
    adopt: AdoptionSet,
) -> k8s.meta.v1.ObjectMetaArgs:
    """``annotations`` may be an Output (an object taking its data from the value reader names the version it holds)."""

    def complete(given: Mapping[str, str]) -> dict[str, str]:
        return {**with_adoption(given, kind, namespace, name, adopt), **DELETION_POLICY}

    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        namespace=namespace or None,
        labels=dict(labels),
        annotations=annotations.apply(complete) if isinstance(annotations, pulumi.Output) else complete(annotations),
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
