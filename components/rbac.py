"""RBAC of ADR 21: the shared read-only ClusterRole, and per namespace a ServiceAccount bound in the master namespace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.adoption import AdoptionSet
from components.layout import RbacPlan
from components.model import LABEL_FOR_NAMESPACE, LABEL_MANAGED_BY
from components.objects import metadata

__all__ = ["READ_VERBS", "NamespaceReader", "NamespaceReaderArgs", "ReaderClusterRole", "ReaderClusterRoleArgs"]

READ_VERBS = ["get", "list", "watch"]
READ_RESOURCES = ["secrets", "configmaps"]


@dataclass(frozen=True)
class ReaderClusterRoleArgs:
    name: str
    provider: k8s.Provider
    annotations: Mapping[str, str]
    adopt: AdoptionSet = frozenset()


class ReaderClusterRole(pulumi.ComponentResource):
    """``kecs:secrets:ReaderClusterRole``: get/list/watch on secrets and configmaps, nothing else."""

    def __init__(self, name: str, args: ReaderClusterRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kecs:secrets:ReaderClusterRole", name, None, opts)
        self.role = k8s.rbac.v1.ClusterRole(
            args.name,
            metadata=metadata("ClusterRole", "", args.name, {LABEL_MANAGED_BY: "kecs"}, args.annotations, args.adopt),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=READ_RESOURCES, verbs=READ_VERBS)],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.register_outputs({"name": args.name})


@dataclass(frozen=True)
class NamespaceReaderArgs:
    plan: RbacPlan
    master_namespace: str
    provider: k8s.Provider
    annotations: Mapping[str, str]
    cluster_role: pulumi.Resource | None
    adopt: AdoptionSet = frozenset()


class NamespaceReader(pulumi.ComponentResource):
    """``kecs:secrets:NamespaceReader``: ServiceAccount in the namespace, RoleBinding (and Role) in the master namespace."""

    def __init__(self, name: str, args: NamespaceReaderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kecs:secrets:NamespaceReader", name, None, opts)
        plan = args.plan
        labels = {LABEL_MANAGED_BY: "kecs", LABEL_FOR_NAMESPACE: plan.namespace}
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{plan.namespace}/{plan.service_account}",
            metadata=metadata("ServiceAccount", plan.namespace, plan.service_account, labels, args.annotations, args.adopt),
            automount_service_account_token=False,
            opts=child,
        )
        depends: list[pulumi.Resource] = [self.service_account]
        if plan.role_kind == "Role":
            role = k8s.rbac.v1.Role(
                f"{args.master_namespace}/{plan.role_name}",
                metadata=metadata("Role", args.master_namespace, plan.role_name, labels, args.annotations, args.adopt),
                rules=[
                    k8s.rbac.v1.PolicyRuleArgs(
                        api_groups=[""], resources=READ_RESOURCES, verbs=READ_VERBS, resource_names=list(plan.resource_names)
                    )
                ],
                opts=child,
            )
            depends.append(role)
        elif args.cluster_role is not None:
            depends.append(args.cluster_role)
        role_ref = k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind=plan.role_kind, name=plan.role_name)
        self.role_binding = k8s.rbac.v1.RoleBinding(
            f"{args.master_namespace}/{plan.role_binding}",
            metadata=metadata("RoleBinding", args.master_namespace, plan.role_binding, labels, args.annotations, args.adopt),
            role_ref=role_ref,
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=plan.service_account, namespace=plan.namespace)],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=depends),
        )
        self.resources: list[pulumi.Resource] = [*depends, self.role_binding]
        self.register_outputs({"service_account": plan.service_account, "role_binding": plan.role_binding})
