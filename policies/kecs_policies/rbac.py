"""RBAC of ADR 21: read-only reader roles, one correct RoleBinding per namespace, no cluster-wide secret read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from kecs_secrets.model import LABEL_FOR_NAMESPACE, LABEL_MANAGED_BY
from kecs_secrets.naming import cluster_role_name, reader_name

from .common import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    DEFAULT_MASTER_NAMESPACE,
    MANAGED_BY_VALUE,
    ROLE,
    ROLE_BINDING,
    UNKNOWN,
    config_value,
    get,
    labels,
    master_namespace_schema,
    namespace_of,
    plain,
    shown,
    string_list_schema,
)

__all__ = [
    "DEFAULT_SECRET_READING_CLUSTER_ROLES",
    "READER_PREFIX",
    "READ_VERBS",
    "is_reader_object",
    "named_reads",
    "no_cluster_wide_secret_read",
    "no_cluster_wide_secret_read_validator",
    "reader_binding",
    "reader_binding_validator",
    "reader_rbac_read_only",
    "reader_rbac_read_only_validator",
    "rule_reads_secrets",
]

READ_ONLY_NAME = "kecs-reader-rbac-read-only"
BINDING_NAME = "kecs-reader-binding"
CLUSTER_WIDE_NAME = "kecs-no-cluster-wide-secret-read"

READ_VERBS = ("get", "list", "watch")
READER_PREFIX = reader_name("")
DEFAULT_READER_RESOURCES = ("secrets", "configmaps")
# Built-in ClusterRoles that can read Secrets, plus the program's reader role for the default master namespace
# (reader roles in the stack itself are recognised by their rules anyway).
DEFAULT_SECRET_READING_CLUSTER_ROLES = (cluster_role_name(DEFAULT_MASTER_NAMESPACE), "cluster-admin", "admin", "edit")
RBAC_GROUP = "rbac.authorization.k8s.io"


def _strings(value: Any) -> list[str]:
    value = plain(value)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def _rules(props: Any) -> list[Mapping[str, Any]]:
    rules = plain(get(props, "rules"))
    if not isinstance(rules, list):
        return []
    return [rule for rule in rules if isinstance(rule, Mapping)]


def rule_reads_secrets(rule: Mapping[str, Any]) -> bool:
    """Whether one PolicyRule lets its holder read Secrets (wildcards included)."""
    groups, resources, verbs = _strings(rule.get("apiGroups")), _strings(rule.get("resources")), _strings(rule.get("verbs"))
    return (
        any(group in ("", "*") for group in groups)
        and any(resource in ("secrets", "*") for resource in resources)
        and any(verb in (*READ_VERBS, "*") for verb in verbs)
    )


def named_reads(props: Any) -> set[tuple[str, str]] | None:
    """(resource, name) pairs a reader role's rules name, or None while its rules are not known."""
    if plain(get(props, "rules")) is UNKNOWN:
        return None
    found = set()
    for rule in _rules(props):
        found |= {(resource, name) for resource in _strings(rule.get("resources")) for name in _strings(rule.get("resourceNames"))}
    return found


def is_reader_object(props: Any, master_ns: str) -> bool:
    """The reader ClusterRole of the master namespace, a kecs-secret-reader-* object, or one carrying the kecs labels."""
    name = get(props, "metadata", "name")
    found = labels(props)
    if isinstance(name, str) and (name == cluster_role_name(master_ns) or name.startswith(READER_PREFIX)):
        return True
    return found is not UNKNOWN and (LABEL_FOR_NAMESPACE in found or found.get(LABEL_MANAGED_BY) == MANAGED_BY_VALUE)


def reader_rbac_read_only_validator(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A reader Role/ClusterRole (<master ns>-secret-reader, kecs-secret-reader-*, or labelled for kecs)
    grants only get/list/watch on the allowed resources of the core group, with no wildcard and no aggregation,
    and only of named objects: each rule names its objects (resourceNames) for one resource."""
    master_ns = config_value(args.get_config(), "masterNamespace", DEFAULT_MASTER_NAMESPACE)
    if args.resource_type not in (ROLE, CLUSTER_ROLE) or not is_reader_object(args.props, master_ns):
        return
    allowed = tuple(config_value(args.get_config(), "allowedResources", list(DEFAULT_READER_RESOURCES)))
    if args.resource_type == CLUSTER_ROLE and get(args.props, "aggregationRule") not in (None, UNKNOWN):
        report_violation("reader ClusterRole uses an aggregationRule: its rules would come from other roles", None)
    for index, rule in enumerate(_rules(args.props)):
        verbs, resources = _strings(rule.get("verbs")), _strings(rule.get("resources"))
        groups, urls = _strings(rule.get("apiGroups")), _strings(rule.get("nonResourceURLs"))
        where = f"rule {index}"
        if "*" in verbs:
            report_violation(f"{where}: wildcard verb '*'; readers may only {list(READ_VERBS)}", None)
        extra = sorted({verb for verb in verbs if verb not in (*READ_VERBS, "*")})
        if extra:
            report_violation(f"{where}: verbs {extra} are not read-only; readers may only {list(READ_VERBS)}", None)
        if any("*" in resource for resource in resources):
            report_violation(f"{where}: wildcard resource; name the resources ({list(allowed)})", None)
        others = sorted({r for r in resources if "*" not in r and r not in allowed})
        if others:
            report_violation(f"{where}: resources {others} are not among the reader resources {list(allowed)}", None)
        if "*" in groups:
            report_violation(f"{where}: wildcard apiGroup '*'; readers use only the core group \"\"", None)
        if urls:
            report_violation(f"{where}: nonResourceURLs are not for secret readers", None)
        names = rule.get("resourceNames")
        if resources and names is not UNKNOWN and not _strings(names):
            report_violation(
                f"{where}: no resourceNames: it reads every object of {resources} in the namespace, not only the stack's "
                "masters; name them",
                None,
            )
        elif len(resources) > 1 and names is not UNKNOWN:
            report_violation(
                f"{where}: one list of resourceNames for {resources}: a master's name would also open an object of the "
                "other resource under that name; one rule per resource",
                None,
            )


reader_rbac_read_only = ResourceValidationPolicy(
    name=READ_ONLY_NAME,
    description=(
        "The secret-reader Role/ClusterRole (<master namespace>-secret-reader, kecs-secret-reader-<ns>) only gets, lists and "
        "watches secrets/configmaps of the core group, by name (each rule lists resourceNames for one resource): no other "
        "verb, no wildcard verb, resource or group, no aggregation."
    ),
    validate=reader_rbac_read_only_validator,
    severity=Severity.CRITICAL,
    remediation_steps="Let the program's layout (kecs_secrets.layout.ReadRule) make the reader roles' rules.",
    config_schema=PolicyConfigSchema(
        properties={
            "masterNamespace": master_namespace_schema(),
            "allowedResources": string_list_schema(
                list(DEFAULT_READER_RESOURCES), "Resources a reader role may name (no wildcards, ever)."
            ),
        }
    ),
)


def _is_reader_binding(props: Any, master_ns: str) -> bool:
    if is_reader_object(props, master_ns):
        return True
    subjects = plain(get(props, "subjects"))
    return isinstance(subjects, list) and any(
        isinstance(s, Mapping) and isinstance(s.get("name"), str) and s["name"].startswith(READER_PREFIX) for s in subjects
    )


def reader_binding_validator(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A reader RoleBinding lives in the master namespace, is named and labelled for its namespace <ns>, binds exactly
    the ServiceAccount kecs-secret-reader-<ns> in <ns>, to the reader ClusterRole or the namespace's reader Role."""
    master_ns = config_value(args.get_config(), "masterNamespace", DEFAULT_MASTER_NAMESPACE)
    if args.resource_type != ROLE_BINDING or not _is_reader_binding(args.props, master_ns):
        return
    provider_props = args.provider.props if args.provider is not None else None
    namespace = namespace_of(args.props, provider_props)
    if namespace is not UNKNOWN and namespace != master_ns:
        report_violation(f"reader RoleBinding is in namespace {shown(namespace)}; it must be in {master_ns!r}", None)
    found = labels(args.props)
    if found is UNKNOWN:
        return
    assert isinstance(found, Mapping)
    target = found.get(LABEL_FOR_NAMESPACE)
    if target is UNKNOWN:
        return
    if not isinstance(target, str) or not target:
        report_violation(f"reader RoleBinding has no {LABEL_FOR_NAMESPACE} label naming the namespace it serves", None)
        return
    expected = reader_name(target)
    if found.get(LABEL_MANAGED_BY) not in (MANAGED_BY_VALUE, UNKNOWN):
        report_violation(f"reader RoleBinding: label {LABEL_MANAGED_BY} must be {MANAGED_BY_VALUE!r}", None)
    name = get(args.props, "metadata", "name")
    if name is not UNKNOWN and name != expected:
        report_violation(f"reader RoleBinding for {target!r} is named {shown(name)}; expected {expected!r}", None)

    subjects = plain(get(args.props, "subjects"))
    if subjects is not UNKNOWN:
        wanted = {"kind": "ServiceAccount", "name": expected, "namespace": target}
        given = [
            {key: subject.get(key) for key in ("kind", "name", "namespace")} if isinstance(subject, Mapping) else {}
            for subject in (subjects if isinstance(subjects, Sequence) else [])
        ]
        if given != [wanted]:
            described = ", ".join(f"{shown(s.get('kind'))} {shown(s.get('namespace'))}/{shown(s.get('name'))}" for s in given) or "none"
            report_violation(
                f"reader RoleBinding for {target!r} must bind exactly ServiceAccount {target}/{expected}; it binds: {described}",
                None,
            )

    role_ref = plain(get(args.props, "roleRef"))
    if isinstance(role_ref, Mapping) and UNKNOWN not in role_ref.values():
        ref = (role_ref.get("apiGroup"), role_ref.get("kind"), role_ref.get("name"))
        cluster_role = cluster_role_name(master_ns)
        if ref not in ((RBAC_GROUP, "ClusterRole", cluster_role), (RBAC_GROUP, "Role", expected)):
            report_violation(
                f"reader RoleBinding for {target!r} refers to {shown(ref[1])} {shown(ref[2])}; expected ClusterRole "
                f"{cluster_role!r} or Role {expected!r}",
                None,
            )


reader_binding = ResourceValidationPolicy(
    name=BINDING_NAME,
    description=(
        "A namespace's reader RoleBinding kecs-secret-reader-<ns> lives in the master namespace, is labelled "
        "kecs.io/for-namespace=<ns>, and binds exactly the ServiceAccount kecs-secret-reader-<ns> of namespace <ns>."
    ),
    validate=reader_binding_validator,
    severity=Severity.HIGH,
    remediation_steps="Let components/rbac.py's NamespaceReader create reader bindings.",
    config_schema=PolicyConfigSchema(properties={"masterNamespace": master_namespace_schema()}),
)


def no_cluster_wide_secret_read_validator(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """No ClusterRoleBinding binds a ClusterRole that can read Secrets (a configured name, or one in this stack
    whose rules read secrets), and none binds a kecs secret-reader ServiceAccount at all."""
    configured = set(config_value(args.get_config(), "secretReadingClusterRoles", list(DEFAULT_SECRET_READING_CLUSTER_ROLES)))
    reading_in_stack = set()
    for resource in args.resources:
        if resource.resource_type == CLUSTER_ROLE:
            name = get(resource.props, "metadata", "name")
            if isinstance(name, str) and any(rule_reads_secrets(rule) for rule in _rules(resource.props)):
                reading_in_stack.add(name)
    for resource in args.resources:
        if resource.resource_type != CLUSTER_ROLE_BINDING:
            continue
        binding = shown(get(resource.props, "metadata", "name"))
        role_ref = plain(get(resource.props, "roleRef"))
        if isinstance(role_ref, Mapping) and role_ref.get("kind") == "ClusterRole":
            role = role_ref.get("name")
            if isinstance(role, str) and (role in configured or role in reading_in_stack):
                report_violation(
                    f"ClusterRoleBinding {binding} grants ClusterRole {role!r}, which can read Secrets, in every namespace; "
                    "bind it with a RoleBinding in one namespace instead",
                    resource.urn,
                )
        subjects = plain(get(resource.props, "subjects"))
        if isinstance(subjects, list):
            readers = sorted(
                s["name"]
                for s in subjects
                if isinstance(s, Mapping)
                and s.get("kind") == "ServiceAccount"
                and isinstance(s.get("name"), str)
                and s["name"].startswith(READER_PREFIX)
            )
            if readers:
                report_violation(
                    f"ClusterRoleBinding {binding} binds secret-reader ServiceAccounts {readers} cluster-wide",
                    resource.urn,
                )


no_cluster_wide_secret_read = StackValidationPolicy(
    name=CLUSTER_WIDE_NAME,
    description=(
        "No ClusterRoleBinding hands out Secret read access cluster-wide: none binds a ClusterRole that can read "
        "Secrets, and none binds a kecs-secret-reader-* ServiceAccount."
    ),
    validate=no_cluster_wide_secret_read_validator,
    severity=Severity.CRITICAL,
    remediation_steps="Grant the reader ClusterRole through a RoleBinding in the master namespace (components/rbac.py).",
    config_schema=PolicyConfigSchema(
        properties={
            "secretReadingClusterRoles": string_list_schema(
                list(DEFAULT_SECRET_READING_CLUSTER_ROLES), "ClusterRoles known to read Secrets, besides those in the stack whose rules do."
            )
        }
    ),
)
