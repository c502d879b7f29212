"""RBAC of ADR 21: the shared read-only ClusterRole, and per namespace a ServiceAccount bound in the master namespace.

Names, labels, annotations and the rules (which name the masters a reader may read) come from the layout;
this module only renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.objects import Ownership, metadata
from kecs_secrets import targets as types
from kecs_secrets.layout import ClusterRolePlan, RbacPlan, ReadRule

__all__ = ["NamespaceReader", "NamespaceReaderArgs", "ReaderClusterRole", "ReaderClusterRoleArgs"]


def _rules(rules: Sequence[ReadRule]) -> list[k8s.rbac.v1.PolicyRuleArgs]:
    api = [rule.as_api() for rule in rules]
    return [
        k8s.rbac.v1.PolicyRuleArgs(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"], resource_names=r["resourceNames"])
        for r in api
    ]


@dataclass(frozen=True)
class ReaderClusterRoleArgs:
    plan: ClusterRolePlan
    provider: k8s.Provider
    ownership: Ownership


class ReaderClusterRole(pulumi.ComponentResource):
    """``kecs:secrets:ReaderClusterRole``: get/list/watch of the stack's masters that some namespace receives, by name."""

    def __init__(self, name: str, args: ReaderClusterRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.READER_CLUSTER_ROLE, name, None, opts)
        plan = args.plan
        self.role = k8s.rbac.v1.ClusterRole(
            plan.name,
            metadata=metadata("ClusterRole", "", plan.name, plan.labels, plan.annotations, args.ownership),
            rules=_rules(plan.rules),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.register_outputs({"name": plan.name})


@dataclass(frozen=True)
class NamespaceReaderArgs:
    plan: RbacPlan
    master_namespace: str
    provider: k8s.Provider
    cluster_role: pulumi.Resource | None
    ownership: Ownership
    # The masters this namespace reads: its reader is made only once they exist, so a run that fails on a
    # value (e.g. a JSON key the secret lacks) has not granted or changed anything for this namespace first.
    masters: Sequence[pulumi.Resource] = field(default_factory=tuple)


class NamespaceReader(pulumi.ComponentResource):
    """``kecs:secrets:NamespaceReader``: ServiceAccount in the namespace, RoleBinding (and Role) in the master namespace."""

    def __init__(self, name: str, args: NamespaceReaderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.NAMESPACE_READER, name, None, opts)
        plan = args.plan
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.masters))
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{plan.namespace}/{plan.service_account}",
            metadata=metadata("ServiceAccount", plan.namespace, plan.service_account, plan.labels, plan.annotations, args.ownership),
            automount_service_account_token=False,
            opts=child,
        )
        depends: list[pulumi.Resource] = [self.service_account]
        if plan.role_kind == "Role":
            role = k8s.rbac.v1.Role(
                f"{args.master_namespace}/{plan.role_name}",
                metadata=metadata("Role", args.master_namespace, plan.role_name, plan.labels, plan.annotations, args.ownership),
                rules=_rules(plan.rules),
                opts=child,
            )
            depends.append(role)
        elif args.cluster_role is not None:
            depends.append(args.cluster_role)
        role_ref = k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind=plan.role_kind, name=plan.role_name)
        self.role_binding = k8s.rbac.v1.RoleBinding(
            f"{args.master_namespace}/{plan.role_binding}",
            metadata=metadata("RoleBinding", args.master_namespace, plan.role_binding, plan.labels, plan.annotations, args.ownership),
            role_ref=role_ref,
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=plan.service_account, namespace=plan.namespace)],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=depends),
        )
        self.resources: list[pulumi.Resource] = [*depends, self.role_binding]
        self.register_outputs({"service_account": plan.service_account, "role_binding": plan.role_binding})
