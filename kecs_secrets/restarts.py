"""``restartOnChange``: which ECS services learn that a value they use changed (pure).

ECS injects secrets into a container only when it starts, so a task sees a new value only once it is
replaced. After an update has written new values into the replicas, each service whose CURRENT task
definition references exactly what changed gets one forced new deployment:

- what a service references is a (master, data key) pair: ``value`` for a whole secret or parameter, the
  JSON key when the reference selects one (a change of another key of the same secret does not count);
- what changed is told by keyed fingerprints (HMACs under the stack's key, kept by the value reader, per
  master and per selected JSON key) and the item version: a service restarts when, for one of its pairs,
  the version differs from the one recorded at the last update AND so does that key's fingerprint. A pair
  with no recorded fingerprint (new reference, new stack) restarts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kecs_secrets.ecs_demand import EcsDemand, task_definition_secrets
from kecs_secrets.errors import ReferenceResolutionError
from kecs_secrets.layout import Layout
from kecs_secrets.model import WHOLE_VALUE_KEY, Reference
from kecs_secrets.naming import ecs_cluster_namespace
from kecs_secrets.references import Inventory, resolve_reference

__all__ = ["RestartTarget", "restart_candidates", "restart_targets", "services_to_restart"]


@dataclass(frozen=True, order=True)
class RestartTarget:
    """One ECS service and the (master, data key) pairs its current task definition reads from its namespace."""

    cluster: str
    service: str
    arn: str
    namespace: str
    selects: tuple[tuple[str, str], ...]

    @property
    def shown(self) -> str:
        return f"{self.cluster}/{self.service}"


def restart_targets(demand: EcsDemand, layout: Layout, region: str) -> tuple[RestartTarget, ...]:
    """Every service whose current task definition references a replica the layout gives its namespace.

    References that do not resolve are left out (the layout reports them); so are replicas the namespace does
    not get.
    """
    masters = {m.item.key: m.name for m in layout.masters}
    inventory = Inventory([m.item for m in layout.masters], region)
    served = {(r.namespace, r.master) for r in layout.replicas}
    targets = []
    for user in demand.services():
        namespace = ecs_cluster_namespace(user.cluster, demand.region)
        fields, _ = task_definition_secrets(demand.task_definitions.get(user.task_definition))
        selects = set()
        for found in fields:
            try:
                resolved = resolve_reference(Reference(namespace, found.value_from, "restartOnChange"), inventory)
            except ReferenceResolutionError:
                continue
            master = masters[resolved.item.key]
            if (namespace, master) in served:
                selects.add((master, resolved.json_key or WHOLE_VALUE_KEY))
        if selects:
            targets.append(RestartTarget(user.cluster, user.name, user.arn, namespace, tuple(sorted(selects))))
    return tuple(sorted(targets))


def _changed(old: Mapping[str, object] | None, new: Mapping[str, object] | None, key: str) -> bool:
    if not isinstance(old, Mapping) or not isinstance(new, Mapping) or old.get("version") == new.get("version"):
        return False
    before, after = (old.get("prints") or {}), (new.get("prints") or {})
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return False
    return bool(before.get(key)) and bool(after.get(key)) and before.get(key) != after.get(key)


def services_to_restart(
    services: Mapping[str, Sequence[Sequence[str]]],
    old: Mapping[str, Mapping[str, object]],
    new: Mapping[str, Mapping[str, object]],
) -> list[str]:
    """The services (keys of ``services``: service -> its (master, key) pairs) that read a pair that changed.

    ``old`` / ``new``: master -> ``{"version": ..., "prints": {data key: fingerprint}}`` at the last update and now.
    """
    return sorted(
        service for service, pairs in services.items() if any(_changed(old.get(m), new.get(m), k) for m, k in pairs)
    )


def restart_candidates(targets: Sequence[RestartTarget], changed: frozenset[str]) -> list[str]:
    """For a preview: the services that read a master whose value this run changes (``changed``: master names).

    The fingerprints of the new values are not known before the update reads them, so a service that selects
    one JSON key is listed when its secret changed, and restarted only if that key did.
    """
    return [t.shown for t in targets if any(master in changed for master, _ in t.selects)]
