"""``kecs:secrets:NamespaceReplicas``: the replicas one ECS cluster namespace needs, copied from the masters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.adoption import AdoptionSet, with_adoption
from components.layout import ReplicaPlan

__all__ = ["NamespaceReplicas", "NamespaceReplicasArgs"]


@dataclass(frozen=True)
class NamespaceReplicasArgs:
    namespace: str
    replicas: tuple[ReplicaPlan, ...]
    master_data: Mapping[str, pulumi.Output]
    master_objects: Mapping[str, pulumi.Resource]
    provider: k8s.Provider
    adopt: AdoptionSet = frozenset()


class NamespaceReplicas(pulumi.ComponentResource):
    objects: dict[str, pulumi.Resource]

    def __init__(self, name: str, args: NamespaceReplicasArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kecs:secrets:NamespaceReplicas", name, None, opts)
        self.objects = {}
        for plan in args.replicas:
            metadata = k8s.meta.v1.ObjectMetaArgs(
                name=plan.name,
                namespace=plan.namespace,
                labels=dict(plan.labels),
                annotations=with_adoption(plan.annotations, plan.kind, plan.namespace, plan.name, args.adopt),
            )
            object_opts = pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[args.master_objects[plan.master]],
            )
            resource_name = f"{plan.namespace}/{plan.name}"
            data = args.master_data[plan.master]
            obj: pulumi.Resource
            if plan.kind == "Secret":
                obj = k8s.core.v1.Secret(resource_name, metadata=metadata, type="Opaque", data=data, opts=object_opts)
            else:
                obj = k8s.core.v1.ConfigMap(resource_name, metadata=metadata, data=data, opts=object_opts)
            self.objects[plan.name] = obj
        self.register_outputs({"namespace": args.namespace, "names": sorted(self.objects)})
