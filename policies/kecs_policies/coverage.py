"""``kecs-replica-coverage`` (stack): every replica has its master and its namespace's reader, which may read that master;
reader roles name nothing but masters; no replica where it must not be."""

from __future__ import annotations

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from kecs_secrets.naming import reader_name

from .common import (
    CLUSTER_ROLE,
    CONFIG_MAP,
    DEFAULT_DENIED,
    DEFAULT_MASTER_NAMESPACE,
    ROLE,
    ROLE_BINDING,
    SECRET,
    SERVICE_ACCOUNT,
    UNKNOWN,
    config_value,
    get,
    is_kecs_master,
    is_replica,
    master_namespace_schema,
    namespace_of,
    plain,
    string_list_schema,
)
from .rbac import is_reader_object, named_reads

__all__ = ["replica_coverage", "replica_coverage_validator"]

NAME = "kecs-replica-coverage"
KINDS = {SECRET: "Secret", CONFIG_MAP: "ConfigMap"}
RESOURCES = {"Secret": "secrets", "ConfigMap": "configmaps"}


def _where(resource: PolicyResource) -> tuple[str, str] | None:
    """(namespace, name) of a Kubernetes object, or None while either is unknown."""
    provider_props = resource.provider.props if resource.provider is not None else None
    namespace, name = namespace_of(resource.props, provider_props), get(resource.props, "metadata", "name")
    if namespace is UNKNOWN or not isinstance(name, str) or not name:
        return None
    assert isinstance(namespace, str)
    return namespace, name


def replica_coverage_validator(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Each replica has a master of the same name and kind in the master namespace of this stack; each namespace
    holding replicas has its reader ServiceAccount and RoleBinding, whose role names that master; reader roles name
    only masters of this stack; no replica in the master namespace or a denied one."""
    config = args.get_config()
    master_ns = config_value(config, "masterNamespace", DEFAULT_MASTER_NAMESPACE)
    denied = set(config_value(config, "deniedNamespaces", list(DEFAULT_DENIED)))

    masters: dict[str, str] = {}  # name -> kind
    bindings: dict[str, tuple[str, str] | None] = {}  # RoleBinding name in the master namespace -> (role kind, role name)
    accounts: set[tuple[str, str]] = set()
    replicas: list[tuple[PolicyResource, str, str, str]] = []
    readers: dict[tuple[str, str], tuple[PolicyResource, set[tuple[str, str]] | None]] = {}  # (kind, name) -> what it names
    for resource in args.resources:
        typ = resource.resource_type
        if typ == CLUSTER_ROLE and is_reader_object(resource.props, master_ns):
            name = get(resource.props, "metadata", "name")
            if isinstance(name, str):
                readers[("ClusterRole", name)] = (resource, named_reads(resource.props))
            continue
        where = _where(resource) if typ in (*KINDS, ROLE, ROLE_BINDING, SERVICE_ACCOUNT) else None
        if where is None:
            continue
        namespace, name = where
        if typ in KINDS:
            if is_replica(resource.props):
                replicas.append((resource, KINDS[typ], namespace, name))
            elif namespace == master_ns and is_kecs_master(resource.props):
                masters[name] = KINDS[typ]
        elif typ == ROLE and namespace == master_ns and is_reader_object(resource.props, master_ns):
            readers[("Role", name)] = (resource, named_reads(resource.props))
        elif typ == ROLE_BINDING and namespace == master_ns:
            role_ref = plain(get(resource.props, "roleRef"))
            known = isinstance(role_ref, dict) and all(isinstance(role_ref.get(k), str) for k in ("kind", "name"))
            bindings[name] = (role_ref["kind"], role_ref["name"]) if known else None
        elif typ == SERVICE_ACCOUNT:
            accounts.add(where)

    namespaces: set[str] = set()
    for resource, kind, namespace, name in replicas:
        if namespace == master_ns:
            report_violation(f"{kind} replica {name!r} is in the master namespace {master_ns!r}", resource.urn)
            continue
        if namespace in denied:
            report_violation(f"{kind} replica {namespace}/{name} is in a denied namespace ({sorted(denied)})", resource.urn)
        namespaces.add(namespace)
        if name not in masters:
            report_violation(f"{kind} replica {namespace}/{name} has no master {master_ns}/{name} in this stack", resource.urn)
            continue
        if masters[name] != kind:
            report_violation(
                f"{kind} replica {namespace}/{name} differs in kind from its master ({masters[name]} {master_ns}/{name})",
                resource.urn,
            )
            continue
        role = bindings.get(reader_name(namespace))
        reads = readers[role][1] if role in readers else None
        if reads is not None and (RESOURCES[kind], name) not in reads:
            report_violation(
                f"{kind} replica {namespace}/{name}: the reader role of {namespace!r} ({role[0]} {role[1]}) does not name "
                f"{RESOURCES[kind]} {name!r}",
                resource.urn,
            )
    for (role_kind, role_name), (resource, reads) in sorted(readers.items(), key=lambda entry: entry[0]):
        for resource_name, name in sorted(reads or ()):
            if RESOURCES.get(masters.get(name, "")) != resource_name:
                report_violation(
                    f"reader {role_kind} {role_name} names {resource_name} {name!r}, which is not a master of this stack in "
                    f"{master_ns!r}: no reader may read anything else there",
                    resource.urn,
                )
    for namespace in sorted(namespaces):
        reader = reader_name(namespace)
        if reader not in bindings:
            report_violation(f"namespace {namespace!r} holds replicas but has no RoleBinding {master_ns}/{reader}", None)
        if (namespace, reader) not in accounts:
            report_violation(f"namespace {namespace!r} holds replicas but has no ServiceAccount {namespace}/{reader}", None)


replica_coverage = StackValidationPolicy(
    name=NAME,
    description=(
        "Every replica has a master of the same name (and kind) in the master namespace of the same stack; every "
        "namespace holding replicas has its reader ServiceAccount and RoleBinding, whose role names that master; reader "
        "roles name only this stack's masters; no replica sits in the master namespace or in a denied namespace."
    ),
    validate=replica_coverage_validator,
    severity=Severity.HIGH,
    remediation_steps="Plan replicas with the program's layout, which derives them from masters and demand.",
    config_schema=PolicyConfigSchema(
        properties={
            "masterNamespace": master_namespace_schema(),
            "deniedNamespaces": string_list_schema(
                list(DEFAULT_DENIED), "Namespaces that never receive replicas (kecs-secrets:deniedNamespaces of the program)."
            ),
        }
    ),
)
