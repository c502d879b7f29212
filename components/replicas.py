"""``kecs:secrets:NamespaceReplicas``: the replicas one ECS cluster namespace needs, copied from the masters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.objects import Ownership, data_object, metadata
from kecs_secrets import targets as types
from kecs_secrets.freshness import annotations_holding
from kecs_secrets.layout import ReplicaPlan
from kecs_secrets.preflight import ObjectKey

__all__ = ["NamespaceReplicas", "NamespaceReplicasArgs"]


@dataclass(frozen=True)
class NamespaceReplicasArgs:
    namespace: str
    replicas: tuple[ReplicaPlan, ...]
    master_data: Callable[[str], pulumi.Output]  # master name -> its data from the value reader
    provider: k8s.Provider
    ownership: Ownership
    kept: frozenset[ObjectKey] = frozenset()  # replicas that keep the data their state holds
    # (master name, planned annotations) -> the annotations naming the version whose data the reader holds
    master_annotations: Callable[[str, Mapping[str, str]], pulumi.Output] | None = None
    held: Mapping[str, list[str]] = field(default_factory=dict)  # master -> the earlier version its reader keeps


class NamespaceReplicas(pulumi.ComponentResource):
    objects: dict[str, pulumi.Resource]

    def __init__(self, name: str, args: NamespaceReplicasArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.NAMESPACE_REPLICAS, name, None, opts)
        self.objects = {}
        for plan in args.replicas:
            kept = (plan.kind, plan.namespace, plan.name) in args.kept
            annotations = annotations_holding(plan.annotations, args.held.get(plan.master))
            if not kept and args.master_annotations is not None:
                annotations = args.master_annotations(plan.master, plan.annotations)
            meta = metadata(plan.kind, plan.namespace, plan.name, plan.labels, annotations, args.ownership)
            # No depends_on on the master: a replica takes its data from the value reader, as its master does, so
            # waiting for the master would only serialize the run (masters first, then replicas, each replica's
            # registration held until its master is created).
            object_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
            data = None if kept else args.master_data(plan.master)
            self.objects[plan.name] = data_object(f"{plan.namespace}/{plan.name}", plan.kind, meta, data, object_opts)
        self.register_outputs({"namespace": args.namespace, "names": sorted(self.objects)})
