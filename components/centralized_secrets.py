"""``kecs:secrets:CentralizedSecrets``: the whole layout (masters, replicas, RBAC) as one component."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.adoption import AdoptionSet
from components.config import DEFAULTS
from components.layout import Layout
from components.masters import Masters, MastersArgs
from components.model import ANNOTATION_STACK
from components.outputs import OUTPUT_COUNTS, OUTPUT_MASTERS, OUTPUT_REPLICAS, OUTPUT_WARNINGS
from components.rbac import NamespaceReader, NamespaceReaderArgs, ReaderClusterRole, ReaderClusterRoleArgs
from components.replicas import NamespaceReplicas, NamespaceReplicasArgs

__all__ = ["CentralizedSecrets", "CentralizedSecretsArgs"]


@dataclass(frozen=True)
class CentralizedSecretsArgs:
    layout: Layout
    master_namespace: str
    endpoint: str
    region: str
    stack: str
    kubeconfig: str = ""
    kube_context: str = ""
    kube_client_qps: int = DEFAULTS["kubeClientQps"]
    kube_client_burst: int = DEFAULTS["kubeClientBurst"]
    adopt: AdoptionSet = frozenset()  # existing objects to take over (adoptExisting)


class CentralizedSecrets(pulumi.ComponentResource):
    outputs: dict[str, Any]
    resources: list[pulumi.Resource]  # every Kubernetes object it manages, e.g. to wait on in tests

    def __init__(self, name: str, args: CentralizedSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kecs:secrets:CentralizedSecrets", name, None, opts)
        layout = args.layout
        # Value changes must update in place (not delete-then-create, which would make replicas vanish),
        # and a kubeconfig change must not replace every object.
        provider = k8s.Provider(
            "k8s",
            kubeconfig=args.kubeconfig or None,
            context=args.kube_context or None,
            enable_secret_mutable=True,
            enable_config_map_mutable=True,
            cluster_identifier="kecs-secrets",
            kube_client_settings=k8s.KubeClientSettingsArgs(qps=args.kube_client_qps, burst=args.kube_client_burst),
            opts=pulumi.ResourceOptions(parent=self),
        )
        stack_annotation: Mapping[str, str] = {ANNOTATION_STACK: args.stack}

        masters = Masters(
            "masters",
            MastersArgs(layout.masters, args.master_namespace, args.endpoint, args.region, provider, args.adopt),
            pulumi.ResourceOptions(parent=self),
        )
        cluster_role = None
        cluster_roles = sorted({plan.role_name for plan in layout.rbac if plan.role_kind == "ClusterRole"})
        if cluster_roles:
            (role_name,) = cluster_roles
            cluster_role = ReaderClusterRole(
                "reader", ReaderClusterRoleArgs(role_name, provider, stack_annotation, args.adopt), pulumi.ResourceOptions(parent=self)
            ).role
        self.resources = [provider, *masters.objects.values()]
        if cluster_role is not None:
            self.resources.append(cluster_role)
        for namespace, plans in _group(layout).items():
            replicas = NamespaceReplicas(
                namespace,
                NamespaceReplicasArgs(namespace, plans, masters.data, masters.objects, provider, args.adopt),
                pulumi.ResourceOptions(parent=self),
            )
            self.resources.extend(replicas.objects.values())
        for plan in layout.rbac:
            reader = NamespaceReader(
                plan.namespace,
                NamespaceReaderArgs(plan, args.master_namespace, provider, stack_annotation, cluster_role, args.adopt),
                pulumi.ResourceOptions(parent=self),
            )
            self.resources.extend(reader.resources)
        self.outputs = {
            OUTPUT_MASTERS: {
                m.name: {
                    "kind": m.kind,
                    "source": m.item.source,
                    "sourceName": m.item.name,
                    "version": m.item.version,
                    "sha256": masters.sha256[m.name],
                }
                for m in layout.masters
            },
            OUTPUT_REPLICAS: layout.replicas_by_namespace(),
            OUTPUT_COUNTS: {
                "masters": len(layout.masters),
                "replicas": len(layout.replicas),
                "namespaces": len(layout.rbac),
            },
            OUTPUT_WARNINGS: list(layout.warnings),
        }
        self.register_outputs({OUTPUT_COUNTS: self.outputs[OUTPUT_COUNTS]})


def _group(layout: Layout) -> dict[str, tuple]:
    groups: dict[str, list] = {}
    for replica in layout.replicas:
        groups.setdefault(replica.namespace, []).append(replica)
    return {ns: tuple(plans) for ns, plans in groups.items()}
