"""``kecs:secrets:Masters``: one master per source item in the master namespace, with its value reader."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.objects import data_object, metadata
from kecs_secrets.adoption import AdoptionSet
from kecs_secrets.layout import MasterPlan
from providers.source_value import SourceValue

__all__ = ["Masters", "MastersArgs"]


@dataclass(frozen=True)
class MastersArgs:
    masters: tuple[MasterPlan, ...]
    namespace: str
    endpoint: str
    region: str
    provider: k8s.Provider
    fingerprint_key: pulumi.Input[str]  # the stack's secret key for value fingerprints (kecs:FingerprintKey)
    adopt: AdoptionSet = frozenset()


class Masters(pulumi.ComponentResource):
    objects: dict[str, pulumi.Resource]
    data: dict[str, pulumi.Output]
    fingerprints: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: MastersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kecs:secrets:Masters", name, None, opts)
        self.objects, self.data, self.fingerprints = {}, {}, {}
        for plan in args.masters:
            value = SourceValue(
                f"value-{plan.name}",
                source=plan.item.source,
                name=plan.item.name,
                arn=plan.item.arn,
                version=plan.item.version,
                encoding="base64" if plan.kind == "Secret" else "text",
                json_keys=list(plan.json_keys),
                endpoint=args.endpoint,
                region=args.region,
                fingerprint_key=args.fingerprint_key,
                selected_by=dict(plan.selected_by),
                opts=pulumi.ResourceOptions(parent=self),
            )
            meta = metadata(plan.kind, args.namespace, plan.name, plan.labels, plan.annotations, args.adopt)
            self.objects[plan.name] = data_object(
                plan.name, plan.kind, meta, value.data, pulumi.ResourceOptions(parent=self, provider=args.provider)
            )
            self.data[plan.name] = value.data
            self.fingerprints[plan.name] = value.fingerprint
        self.register_outputs({"names": sorted(self.objects), "fingerprints": self.fingerprints})
