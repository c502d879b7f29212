"""``kecs:secrets:CentralizedSecrets``: the whole layout (masters, replicas, RBAC) as one component."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.masters import Masters, MastersArgs
from components.outputs import OUTPUT_COUNTS, OUTPUT_MASTERS, OUTPUT_REPLICAS, OUTPUT_RESTARTED, OUTPUT_WARNINGS
from components.rbac import NamespaceReader, NamespaceReaderArgs, ReaderClusterRole, ReaderClusterRoleArgs
from components.replicas import NamespaceReplicas, NamespaceReplicasArgs
from components.restarts import watched_values
from kecs_secrets import targets as types
from kecs_secrets.adoption import AdoptionSet
from kecs_secrets.config import DEFAULTS
from kecs_secrets.focus import Focus
from kecs_secrets.layout import Layout
from kecs_secrets.preflight import Leftover, ObjectKey
from kecs_secrets.restarts import RestartTarget
from providers.leftovers import LeftoverSweep
from providers.service_restarts import ServiceRestarts

__all__ = ["CentralizedSecrets", "CentralizedSecretsArgs"]


@dataclass(frozen=True)
class CentralizedSecretsArgs:
    layout: Layout
    master_namespace: str
    endpoint: str
    region: str
    kubeconfig: str = ""
    kube_context: str = ""
    kube_client_qps: int = DEFAULTS["kubeClientQps"]
    kube_client_burst: int = DEFAULTS["kubeClientBurst"]
    adopt: AdoptionSet = frozenset()  # existing objects to take over (adoptExisting)
    leftovers: tuple[Leftover, ...] = ()  # objects of this stack in neither its state nor the layout: deleted by this run
    kept: frozenset[ObjectKey] = frozenset()  # masters and replicas that keep the data their state holds
    stack: str = ""  # <project>/<stack>, which every ownership mark binds
    marks: Mapping[ObjectKey, str] = field(default_factory=dict)  # the ownership marks the state recorded
    claims: Mapping[ObjectKey, str] = field(default_factory=dict)  # live marks of wanted objects outside the state
    held: Mapping[str, list[str]] = field(default_factory=dict)  # master -> the earlier version its reader keeps
    restarts: tuple[RestartTarget, ...] | None = None  # restartOnChange: the ECS services to watch (None: off)
    ecs_endpoint: str = ""
    ecs_region: str = ""
    focus: Focus | None = None  # a focused update (the watch): only these objects are registered (kecs_secrets/targets.py)


class CentralizedSecrets(pulumi.ComponentResource):
    outputs: dict[str, Any]
    resources: list[pulumi.Resource]  # every Kubernetes object it manages, e.g. to wait on in tests
    sweep: LeftoverSweep | None  # deletes the leftovers whose ownership mark verifies (None in a focused update)

    def __init__(self, name: str, args: CentralizedSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.CENTRALIZED_SECRETS, name, None, opts)
        layout, focus = args.layout, args.focus
        # Value changes must update in place (not delete-then-create, which would make replicas vanish),
        # and a kubeconfig change must not replace every object.
        provider = k8s.Provider(
            "k8s",
            # "" (not None, which the SDK would replace by $KUBECONFIG verbatim, breaking a list of files) makes
            # the provider load the way kubectl does: $KUBECONFIG's files merged, ~/.kube/config, in-cluster.
            kubeconfig=args.kubeconfig or "",
            context=args.kube_context or None,
            enable_secret_mutable=True,
            enable_config_map_mutable=True,
            cluster_identifier="kecs-secrets",
            kube_client_settings=k8s.KubeClientSettingsArgs(qps=args.kube_client_qps, burst=args.kube_client_burst),
            opts=pulumi.ResourceOptions(parent=self),
        )
        masters = Masters(
            "masters",
            MastersArgs(
                layout.masters, args.master_namespace, args.endpoint, args.region, provider, args.adopt, args.kept,
                args.stack, args.marks, args.claims, args.held,
                only=None if focus is None else focus.masters_wanted(layout.replicas_by_namespace()),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        # Always present in a full update (empty when there is nothing to remove), so that removing leftovers is
        # never a change later; a focused update leaves it as the state has it.
        self.sweep = LeftoverSweep(
            "leftovers",
            objects=args.leftovers,
            stack=args.stack,
            key=masters.key,
            kubeconfig=os.path.abspath(args.kubeconfig) if args.kubeconfig else "",
            context=args.kube_context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        cluster_role = None
        if layout.cluster_role is not None:
            cluster_role = ReaderClusterRole(
                "reader", ReaderClusterRoleArgs(layout.cluster_role, provider, masters.ownership), pulumi.ResourceOptions(parent=self)
            ).role
        self.resources = [provider, *masters.objects.values()]
        if cluster_role is not None:
            self.resources.append(cluster_role)
        replica_objects: dict[tuple[str, str], pulumi.Resource] = {}
        for namespace, plans in _group(layout, focus).items():
            replicas = NamespaceReplicas(
                namespace,
                NamespaceReplicasArgs(
                    namespace, plans, masters.data, provider, masters.ownership, args.kept, masters.annotations, args.held
                ),
                pulumi.ResourceOptions(parent=self),
            )
            self.resources.extend(replicas.objects.values())
            replica_objects.update({(namespace, name): obj for name, obj in replicas.objects.items()})
        restarted: pulumi.Output | None = None
        if args.restarts is not None:
            # After the replicas its services read: a new value is in place before their new tasks start.
            watched = sorted({(t.namespace, m) for t in args.restarts for m, _ in t.selects})
            restarted = ServiceRestarts(
                "restarts",
                endpoint=args.ecs_endpoint,
                region=args.ecs_region,
                services={t.arn: {"cluster": t.cluster, "name": t.service, "selects": [list(s) for s in t.selects]} for t in args.restarts},
                seen=watched_values(args.restarts, layout.masters, masters.fingerprints, masters.key_fingerprints),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[replica_objects[key] for key in watched if key in replica_objects]),
            ).restarted
        needs = layout.replicas_by_namespace()
        for plan in layout.rbac:
            if focus is not None and plan.namespace not in focus.namespaces:
                continue
            reader = NamespaceReader(
                plan.namespace,
                NamespaceReaderArgs(
                    plan, args.master_namespace, provider, cluster_role, masters.ownership,
                    masters=[masters.objects[name] for name in needs.get(plan.namespace, [])],
                ),
                pulumi.ResourceOptions(parent=self),
            )
            self.resources.extend(reader.resources)
        described = {
            m.name: {"kind": m.kind, "source": m.item.source, "sourceName": m.item.name, "version": m.item.version}
            for m in layout.masters
        }
        self.outputs = {
            # One output for all masters (not one per master): the program and the engine handle one value.
            OUTPUT_MASTERS: masters.fingerprints.apply(
                lambda prints: {name: {**about, "fingerprint": prints.get(name)} for name, about in described.items()}
            ),
            OUTPUT_REPLICAS: layout.replicas_by_namespace(),
            OUTPUT_COUNTS: {
                "masters": len(layout.masters),
                "replicas": len(layout.replicas),
                "namespaces": len(layout.rbac),
            },
            # The layout's warnings, and one per item whose value could not be used (the reader's, known after it ran).
            OUTPUT_WARNINGS: masters.problems.apply(lambda problems: [*layout.warnings, *problems]),
            **({OUTPUT_RESTARTED: restarted} if restarted is not None else {}),
        }
        masters.problems.apply(_warn_each)
        self.register_outputs({OUTPUT_COUNTS: self.outputs[OUTPUT_COUNTS]})


def _warn_each(lines: list[str]) -> None:
    for line in lines:
        pulumi.log.warn(line)


def _group(layout: Layout, focus: Focus | None) -> dict[str, tuple]:
    groups: dict[str, list] = {}
    for replica in layout.replicas:
        if focus is not None and not focus.covers_replica(replica.namespace, replica.master):
            continue
        groups.setdefault(replica.namespace, []).append(replica)
    return {ns: tuple(plans) for ns, plans in groups.items()}
