"""The layout of ADR 21 as a pure function: inventory + demand + settings -> masters, replicas, RBAC.

No Pulumi, no I/O, no clock: the same inputs always give the same layout, so a run with nothing
changed in LocalStack or in the demand changes nothing in the cluster.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kecs_secrets.config import LayoutSettings
from kecs_secrets.errors import LayoutError, ReferenceResolutionError
from kecs_secrets.isolation import Unserved, is_isolated, skipped_line
from kecs_secrets.model import (
    ANNOTATION_LAST_CHANGED,
    ANNOTATION_LAST_REPLICATED,
    ANNOTATION_SOURCE_ARN,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    ANNOTATION_SOURCE_TYPE,
    ANNOTATION_SOURCE_VERSION,
    ANNOTATION_STACK,
    LABEL_FOR_NAMESPACE,
    LABEL_MANAGED_BY,
    LABEL_REPLICATED_FROM,
    LABEL_SOURCE,
    SECRETSMANAGER,
    SSM,
    WHOLE_VALUE_KEY,
    Reference,
    SourceItem,
)
from kecs_secrets.naming import (
    MAX_ROUNDS,
    assign_names,
    cluster_role_name,
    is_dns1123_label,
    kecs_name_problem,
    kecs_reference_name,
    kecs_secret_key_ref,
    reader_name,
)
from kecs_secrets.references import Inventory, ResolvedReference, resolve_reference, unresolved

__all__ = [
    "READ_RESOURCES",
    "READ_VERBS",
    "STRING_LIST_ITEMS_KEY",
    "ClusterRolePlan",
    "Layout",
    "MasterPlan",
    "RbacPlan",
    "ReadRule",
    "ReplicaPlan",
    "plan_layout",
]

# The extra key of a StringList parameter: its elements as a JSON array (``value`` keeps the list as stored).
STRING_LIST_ITEMS_KEY = "items"

# What a reader may do in the master namespace: read its masters by name, nothing else.
READ_VERBS = ("get", "list", "watch")
_RESOURCE_OF_KIND = {"Secret": "secrets", "ConfigMap": "configmaps"}
READ_RESOURCES = tuple(_RESOURCE_OF_KIND.values())


@dataclass(frozen=True)
class MasterPlan:
    name: str
    kind: str  # "Secret" | "ConfigMap"
    item: SourceItem
    json_keys: tuple[str, ...]  # JSON fields some consumer selects: must exist in the value
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    selected_by: Mapping[str, str] = field(default_factory=dict)  # JSON key -> the first reference selecting it, with its origin
    # JSON keys that only tenants' references select (kecs_secrets.isolation.is_isolated): a value without one of them
    # is that reference's problem, not the item's (the reader skips the key, and the master keeps the rest).
    isolated_keys: tuple[str, ...] = ()

    @property
    def data_keys(self) -> tuple[str, ...]:
        """The keys its data is sure to have: ``value``, every JSON key a consumer selects, ``items`` of a StringList."""
        keys = {WHOLE_VALUE_KEY, *self.json_keys}
        if self.item.source == SSM and self.item.item_type == "StringList":
            keys.add(STRING_LIST_ITEMS_KEY)
        return tuple(sorted(keys))


@dataclass(frozen=True)
class ReplicaPlan:
    namespace: str
    name: str
    kind: str
    master: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class ReadRule:
    """One rule of a reader role: get/list/watch of the named objects of one resource, never of all of them.

    One rule per resource: a rule naming ``secrets`` and ``configmaps`` with one list of names would also let
    its holder read a ConfigMap someone made under a Secret master's name. ``list`` and ``watch`` restricted
    by name only answer a request with the field selector ``metadata.name=<one of the names>``.
    """

    resource: str  # "secrets" | "configmaps"
    names: tuple[str, ...]  # never empty: a rule without names would grant every object of the resource

    def as_api(self) -> dict[str, Any]:
        """The rule as the Kubernetes API writes it (rbac.authorization.k8s.io/v1 PolicyRule)."""
        return {"apiGroups": [""], "resources": [self.resource], "verbs": list(READ_VERBS), "resourceNames": list(self.names)}


@dataclass(frozen=True)
class RbacPlan:
    namespace: str
    service_account: str
    role_binding: str
    role_kind: str  # "ClusterRole" (shared, cluster-role mode) or "Role" (in the master namespace, need-to-know)
    role_name: str
    rules: tuple[ReadRule, ...]  # need-to-know: the Role's rules, naming exactly the masters the namespace needs
    labels: Mapping[str, str] = field(default_factory=dict)  # of the ServiceAccount, RoleBinding and Role
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterRolePlan:
    """The shared read-only ClusterRole (cluster-role mode): get/list/watch of the masters some namespace receives."""

    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    rules: tuple[ReadRule, ...] = ()


@dataclass(frozen=True)
class Layout:
    masters: tuple[MasterPlan, ...]
    replicas: tuple[ReplicaPlan, ...]
    rbac: tuple[RbacPlan, ...]
    cluster_role: ClusterRolePlan | None = None
    warnings: tuple[str, ...] = field(default=())
    origins: Mapping[str, str] = field(default_factory=dict)  # namespace -> where its first demand came from
    unserved: tuple[Unserved, ...] = ()  # tenants' references this layout does not serve, and why
    # (namespace, master name) -> the references that ask for that replica
    demanded_by: Mapping[tuple[str, str], tuple[Reference, ...]] = field(default_factory=dict)

    def replicas_by_namespace(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for replica in self.replicas:
            result.setdefault(replica.namespace, []).append(replica.name)
        return result


def _master_kind(item: SourceItem, settings: LayoutSettings) -> str:
    """Secret, except an SSM String/StringList parameter under ``ssmKind: by-sensitivity`` (ADR 21's ConfigMap)."""
    if item.source == SSM and settings.ssm_kind == "by-sensitivity" and item.item_type != "SecureString":
        return "ConfigMap"
    return "Secret"


def _check_namespace(ref: Reference, settings: LayoutSettings) -> None:
    ns = ref.namespace
    if not is_dns1123_label(ns):
        raise LayoutError(f"namespace {ns!r} from {ref.origin} is not a valid namespace name")
    if ns == settings.master_namespace:
        raise LayoutError(f"namespace {ns!r} from {ref.origin} is the master namespace: replicas never go there")
    if ns in settings.denied_namespaces:
        raise LayoutError(f"namespace {ns!r} from {ref.origin} is on the deny list {list(settings.denied_namespaces)}")


def plan_layout(
    items: Iterable[SourceItem],
    demand: Sequence[Reference],
    settings: LayoutSettings,
    region: str = "",
    known_keys: Mapping[tuple[str, str], Collection[str]] | None = None,
    held: Mapping[tuple[str, str], str] | None = None,
) -> Layout:
    """Plan every master, replica and RBAC object. Raises on any bad input, before anything is made.

    ``known_keys`` maps ``(arn, version)`` to the data keys a value had when it was last read (from the
    stack's state): a reference selecting a JSON key that version does not have fails here, naming the
    reference and its origin, without reading the value again.

    ``held`` maps items to the name their master already has (from the stack's state): they keep it
    (:func:`kecs_secrets.naming.assign_names`). An item left without a name is skipped with a warning,
    and so is every reference to it.
    """
    known = known_keys or {}
    inventory = Inventory(items, region)
    _check_unique_items(inventory.items)
    names = assign_names((item.key for item in inventory.items), held)

    warnings: list[str] = []
    unserved: list[Unserved] = []
    needed: dict[str, set[str]] = {}  # namespace -> master names
    origins: dict[str, str] = {}
    json_keys: dict[str, dict[str, str]] = {}  # master name -> selected JSON key -> first reference selecting it
    owner_keys: dict[str, set[str]] = {}  # master name -> JSON keys an owner's reference selects
    demanded_by: dict[tuple[str, str], list[Reference]] = {}
    resolved_refs: list[ResolvedReference] = []
    for ref in sorted(demand):
        try:
            _check_namespace(ref, settings)
            resolved = resolve_reference(ref, inventory)
            _check_known_key(resolved, known)
        except (LayoutError, ReferenceResolutionError) as err:
            if is_isolated(ref.demander):
                warnings.append(skipped_line(str(err)))
                unserved.append(Unserved(ref, getattr(err, "why", "") or str(err)))
                continue
            if isinstance(err, ReferenceResolutionError) and settings.unresolved_references == "warn":
                warnings.append(str(err))
                continue
            raise
        if resolved.item.key not in names:
            why = f"{resolved.item.source} item {resolved.item.name!r} has no name"
            warnings.append(f"reference {ref.value_from!r} from {ref.origin} is not served: {why} (skipped)")
            if is_isolated(ref.demander):
                unserved.append(Unserved(ref, why))
            continue
        resolved_refs.append(resolved)
        master_name = names[resolved.item.key]
        needed.setdefault(ref.namespace, set()).add(master_name)
        demanded_by.setdefault((ref.namespace, master_name), []).append(ref)
        origins.setdefault(ref.namespace, ref.origin)
        if resolved.json_key:
            json_keys.setdefault(master_name, {}).setdefault(resolved.json_key, f"reference {ref.value_from!r} from {ref.origin}")
            if not is_isolated(ref.demander):
                owner_keys.setdefault(master_name, set()).add(resolved.json_key)

    masters = tuple(
        sorted(
            (
                _master(item, names[item.key], json_keys.get(names[item.key], {}), owner_keys.get(names[item.key], set()), settings)
                for item in inventory.items
                if item.key in names
            ),
            key=lambda m: m.name,
        )
    )
    by_name = {m.name: m for m in masters}
    replicas = tuple(
        _replica(ns, by_name[name], settings) for ns in sorted(needed) for name in sorted(needed[ns])
    )
    rbac = tuple(_rbac(ns, [by_name[name] for name in sorted(needed[ns])], settings) for ns in sorted(needed))
    cluster_role = None
    if settings.rbac_mode == "cluster-role" and rbac:
        served = [by_name[name] for name in sorted(set().union(*needed.values()))]
        cluster_role = ClusterRolePlan(
            cluster_role_name(settings.master_namespace), {LABEL_MANAGED_BY: "kecs"}, _stack_annotation(settings), _read_rules(served)
        )
    warnings = _kecs_item_warnings(inventory.items, names) + warnings
    for ref, why in _kecs_reference_problems(resolved_refs, names, by_name):
        warnings.append(f"reference {ref.value_from!r} from {ref.origin}: {why}")
        if is_isolated(ref.demander):
            unserved.append(Unserved(ref, why))
    by_replica = {key: tuple(refs) for key, refs in sorted(demanded_by.items())}
    return Layout(masters, replicas, rbac, cluster_role, tuple(warnings), origins, tuple(sorted(unserved)), by_replica)


def _kecs_item_warnings(items: Sequence[SourceItem], names: Mapping[tuple[str, str], str]) -> list[str]:
    """One line per item (or group of items) that no KECS pod can find under the name KECS references."""
    groups: dict[str, list[SourceItem]] = {}
    for item in items:
        groups.setdefault(kecs_reference_name(*item.key), []).append(item)
    holders = {name: key for key, name in names.items()}
    warnings = []
    for kecs_name, group in sorted(groups.items()):
        if all(names.get(item.key) == kecs_name for item in group):
            continue
        holder = holders.get(kecs_name)
        problem = kecs_name_problem(kecs_name)
        if problem:
            problem += " (the API server refuses every pod that references it)"
        served = " and ".join(repr(names[item.key]) for item in group if item.key in names)
        for item in group:
            if item.key not in names:
                warnings.append(
                    f"{item.source} item {item.name!r} skipped: other items hold every name it could have (KECS's "
                    f"{kecs_name!r} and {MAX_ROUNDS} hashed forms), so KECS pods referencing it are not served"
                )
        if holder is not None:
            # The name is held (kept by an existing master, or the KECS name of an item that shares it with nobody).
            for item in group:
                if item.key in names and item.key != holder:
                    warnings.append(
                        f"KECS pods cannot be served {item.source} item {item.name!r}: they reference {kecs_name!r}, "
                        f"which {holder[0]} item {holder[1]!r} already holds (a master keeps its name while its item "
                        f"exists), so such a pod reads that item instead; it is served as {names[item.key]!r}"
                    )
        elif len(group) == 1:
            (item,) = group
            if served:
                why = problem or "its master keeps the name it was given earlier (a master keeps its name while its item exists)"
                warnings.append(
                    f"KECS pods cannot be served {item.source} item {item.name!r}: they reference {kecs_name!r} and {why}; "
                    f"it is served as {served}"
                )
        elif served:
            shown = " and ".join(repr(item.name) for item in group)
            why = f" ({problem})" if problem else ""
            warnings.append(
                f"KECS pods cannot be served {group[0].source} items {shown}: KECS references each of them as "
                f"{kecs_name!r}{why}, so no pod can say which one it means and neither gets that name; "
                f"they are served as {served}"
            )
    return warnings


def _kecs_reference_problems(
    resolved: Sequence[ResolvedReference], names: Mapping[tuple[str, str], str], masters: Mapping[str, MasterPlan]
) -> list[tuple[Reference, str]]:
    """Each demanded reference whose ``secretKeyRef`` in a KECS pod would not resolve, and why.

    A KECS pod in the reference's namespace reads ``secretKeyRef{name, key}`` as :func:`kecs_secret_key_ref`
    gives it; bare names are not passed on by KECS (no variable, nothing to resolve).
    """
    problems = []
    for entry in resolved:
        ref, item = entry.reference, entry.item
        kecs = kecs_secret_key_ref(ref.value_from.strip())
        if kecs is None:
            continue
        ours = names[item.key]
        master = masters[ours]
        if kecs.name != ours:
            if kecs.name == kecs_reference_name(*item.key):
                invalid = kecs_name_problem(kecs.name)
                if invalid:
                    problem = f"{invalid} (the API server refuses the pod)"
                elif kecs.name in masters:
                    other = masters[kecs.name].item
                    problem = f"{other.source} item {other.name!r} already holds that name, so such a pod reads it instead"
                else:
                    problem = "another item has the same KECS name, so neither gets it"
                why = f"{problem}; item {item.name!r} is served as {ours!r}"
            else:
                why = (
                    f"KECS reads the name {kecs.arn_name!r} from this ARN (it drops a trailing '-' and 6 letters or digits "
                    f"as if they were the random suffix), but the reference is to item {item.name!r}, served as {ours!r}"
                )
                if kecs.name in masters:
                    why += f"; such a pod would read item {masters[kecs.name].item.name!r} instead, if its namespace had it"
        elif master.kind != "Secret":
            why = f"it is served as a {master.kind} (kecs-secrets:ssmKind is by-sensitivity) and KECS pods read Secrets only"
        elif kecs.key not in master.data_keys:
            why = f"the data has no key {kecs.key!r} (it has {list(master.data_keys)})"
        else:
            continue
        problems.append((ref, f"a KECS pod in {ref.namespace} reads secretKeyRef {kecs.name}/{kecs.key}, which is not served: {why}"))
    return problems


def _check_known_key(resolved: ResolvedReference, known: Mapping[tuple[str, str], Collection[str]]) -> None:
    keys = known.get((resolved.item.arn, resolved.item.version))
    if resolved.json_key and keys is not None and resolved.json_key not in keys:
        why = f"secret {resolved.item.name!r} has no JSON field {resolved.json_key!r} at its current version"
        raise unresolved(resolved.reference, why)


def _check_unique_items(items: Sequence[SourceItem]) -> None:
    seen: dict[tuple[str, str], SourceItem] = {}
    for item in items:
        if item.source not in (SECRETSMANAGER, SSM):
            raise LayoutError(f"item {item.name!r} has unknown source {item.source!r}")
        if item.key in seen:
            raise LayoutError(f"{item.source} item {item.name!r} is listed twice by the inventory")
        seen[item.key] = item


def _common_labels(item: SourceItem) -> dict[str, str]:
    return {LABEL_MANAGED_BY: "kecs", LABEL_SOURCE: item.source}


def _stack_annotation(settings: LayoutSettings) -> dict[str, str]:
    return {ANNOTATION_STACK: settings.stack} if settings.stack else {}


def _master(
    item: SourceItem, name: str, selected: Mapping[str, str], owner_keys: Collection[str], settings: LayoutSettings
) -> MasterPlan:
    annotations = {
        ANNOTATION_SOURCE_NAME: item.name,
        ANNOTATION_SOURCE_ARN: item.arn,
        ANNOTATION_SOURCE_VERSION: item.version,
        ANNOTATION_SOURCE_TYPE: item.item_type,
        ANNOTATION_LAST_CHANGED: item.last_changed,
        **_stack_annotation(settings),
    }
    keys = tuple(sorted(selected))
    isolated = tuple(key for key in keys if key not in owner_keys)
    return MasterPlan(
        name, _master_kind(item, settings), item, keys, _common_labels(item), annotations, dict(sorted(selected.items())), isolated
    )


def _replica(namespace: str, master: MasterPlan, settings: LayoutSettings) -> ReplicaPlan:
    labels = {**_common_labels(master.item), LABEL_REPLICATED_FROM: settings.master_namespace}
    annotations = {
        ANNOTATION_SOURCE_NAMESPACE: settings.master_namespace,
        # The source's own last-changed time, never "now": an unchanged source gives an unchanged replica.
        ANNOTATION_LAST_REPLICATED: master.item.last_changed,
        ANNOTATION_SOURCE_NAME: master.item.name,
        ANNOTATION_SOURCE_VERSION: master.item.version,
        **_stack_annotation(settings),
    }
    return ReplicaPlan(namespace, master.name, master.kind, master.name, labels, annotations)


def _read_rules(masters: Sequence[MasterPlan]) -> tuple[ReadRule, ...]:
    """A reader's rules: per resource, exactly these masters' names (no rule for a resource without one)."""
    rules = []
    for kind, resource in _RESOURCE_OF_KIND.items():
        names = tuple(sorted(m.name for m in masters if m.kind == kind))
        if names:
            rules.append(ReadRule(resource, names))
    return tuple(rules)


def _rbac(namespace: str, masters: Sequence[MasterPlan], settings: LayoutSettings) -> RbacPlan:
    name = reader_name(namespace)
    labels = {LABEL_MANAGED_BY: "kecs", LABEL_FOR_NAMESPACE: namespace}
    annotations = _stack_annotation(settings)
    if settings.rbac_mode == "need-to-know":
        return RbacPlan(namespace, name, name, "Role", name, _read_rules(masters), labels, annotations)
    return RbacPlan(namespace, name, name, "ClusterRole", cluster_role_name(settings.master_namespace), (), labels, annotations)
