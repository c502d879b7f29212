"""``kecs:secrets:Masters``: one master per source item in the master namespace, and the stack's value reader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.objects import Ownership, data_object, metadata
from components.registrations import send_registrations
from kecs_secrets import targets as types
from kecs_secrets.adoption import AdoptionSet
from kecs_secrets.freshness import annotations_holding
from kecs_secrets.layout import MasterPlan
from kecs_secrets.preflight import ObjectKey
from providers.source_values import SourceValues, item_record

__all__ = ["Masters", "MastersArgs"]


@dataclass(frozen=True)
class MastersArgs:
    masters: tuple[MasterPlan, ...]
    namespace: str
    endpoint: str
    region: str
    provider: k8s.Provider
    adopt: AdoptionSet = frozenset()
    kept: frozenset[ObjectKey] = frozenset()  # masters and replicas that keep the data their state holds
    stack: str = ""  # <project>/<stack>, which every ownership mark binds
    marks: Mapping[ObjectKey, str] = field(default_factory=dict)  # the marks the state recorded
    claims: Mapping[ObjectKey, str] = field(default_factory=dict)  # live marks of wanted objects outside the state
    held: Mapping[str, list[str]] = field(default_factory=dict)  # master -> the earlier version its reader keeps
    only: frozenset[str] | None = None  # a focused update: the masters to register (the reader always reads them all)


class Masters(pulumi.ComponentResource):
    objects: dict[str, pulumi.Resource]
    fingerprints: pulumi.Output[dict[str, str]]  # master name -> HMAC of its data under the stack's key
    key: pulumi.Output[str]  # the stack's key (secret), e.g. for the leftover sweep to verify marks with
    ownership: Ownership  # the marks (and adoptions) of every object of the stack, the masters' and the others'
    problems: pulumi.Output[list[str]]  # one line per item whose value the reader could not use (never a value)
    key_fingerprints: pulumi.Output[dict[str, dict[str, str]]]  # master name -> selected JSON key -> HMAC of that key

    def __init__(self, name: str, args: MastersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.MASTERS, name, None, opts)
        self.objects, self._data = {}, {}
        items = {
            plan.name: item_record(
                source=plan.item.source,
                name=plan.item.name,
                arn=plan.item.arn,
                version=plan.item.version,
                encoding="base64" if plan.kind == "Secret" else "text",
                json_keys=list(plan.json_keys),
                stamp=plan.item.stamp,
            )
            for plan in args.masters
        }
        values = SourceValues(
            "values",
            items=items,
            endpoint=args.endpoint,
            region=args.region,
            selected_by={plan.name: dict(plan.selected_by) for plan in args.masters},
            isolated_keys={plan.name: plan.isolated_keys for plan in args.masters},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The reader reads while the objects below are built, instead of after them.
        send_registrations(self)
        self._values_untracked = _without_dependencies(values.values)
        self._held_untracked = _without_dependencies(values.held)
        self.key = values.fingerprint_key
        key = pulumi.Output.unsecret(_without_dependencies(self.key))
        self.ownership = Ownership(args.stack, key, args.marks, args.adopt, args.claims)
        for plan in args.masters:
            if args.only is not None and plan.name not in args.only:
                continue
            kept = (plan.kind, args.namespace, plan.name) in args.kept
            held = annotations_holding(plan.annotations, args.held.get(plan.name))
            annotations = held if kept else self.annotations(plan.name, plan.annotations)
            meta = metadata(plan.kind, args.namespace, plan.name, plan.labels, annotations, self.ownership)
            self.objects[plan.name] = data_object(
                plan.name, plan.kind, meta, None if kept else self.data(plan.name),
                pulumi.ResourceOptions(parent=self, provider=args.provider),
            )
        self.fingerprints = values.fingerprints
        self.problems = values.problems.apply(lambda problems: sorted((problems or {}).values()))
        self.key_fingerprints = values.key_fingerprints
        self.register_outputs({"names": sorted(self.objects)})

    def data(self, name: str) -> pulumi.Output:
        """The data of master ``name`` from the value reader (secret); made only for objects that take it from there."""
        if name not in self._data:
            self._data[name] = self._values_untracked.apply(lambda v: v.get(name))  # None: no usable value yet
        return self._data[name]

    def annotations(self, name: str, planned: Mapping[str, str]) -> pulumi.Output:
        """``planned`` naming the version whose data the reader holds for master ``name`` (for objects that take it from there)."""
        return self._held_untracked.apply(lambda held: annotations_holding(planned, (held or {}).get(name)))


def _without_dependencies(output: pulumi.Output) -> pulumi.Output:
    """``output``'s value, known-ness and secretness, but not the resource it came from.

    Each master and replica waits for the value reader all the same (its registration waits for its data),
    but the state does not record the reader as its dependency: that record (the reader's URN in
    ``dependencies`` and again in ``propertyDependencies.data``, ~300 bytes) was 1.2 MB of the state at
    1,000 masters and 2,000 replicas, and rewritten with every checkpoint. Nothing needs it: the reader
    is never replaced before its dependents in a way that matters (its delete does nothing), and what a
    preview shows comes from the data being unknown, not from the dependency.
    """
    return pulumi.Output(set(), output.future(with_unknowns=True), output.is_known(), output.is_secret())
