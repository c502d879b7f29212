"""``kecs-master-placement``: masters only in the master namespace, named exactly as the program names them."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from kecs_secrets.model import ANNOTATION_SOURCE_NAME, LABEL_MANAGED_BY, LABEL_SOURCE
from kecs_secrets.naming import PREFIXES, possible_names

from .common import (
    CONFIG_MAP,
    DEFAULT_MASTER_NAMESPACE,
    MANAGED_BY_VALUE,
    SECRET,
    SOURCES,
    UNKNOWN,
    annotations,
    config_value,
    get,
    is_kecs_master,
    labels,
    master_namespace_schema,
    namespace_of,
    shown,
)

__all__ = ["expected_names", "master_placement", "master_placement_validator"]

NAME = "kecs-master-placement"


def expected_names(source: str, source_name: str) -> tuple[str, ...]:
    """The names the program may give a master: KECS's reference name (when Kubernetes accepts it), else
    and on a collision the hashed forms ``<mended name>-<8 hex>`` of each round (kecs_secrets.naming).

    A master keeps its name while its item exists, and the program keeps only a name that is one of
    these for that item, so the check holds for every master it ever made under the current rule."""
    return possible_names(source, source_name)


def master_placement_validator(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A master (kecs-labelled Secret/ConfigMap that is not a replica) lives in the master namespace and its name
    is one kecs_secrets.naming gives for the kecs.io/source-name it carries."""
    if args.resource_type not in (SECRET, CONFIG_MAP) or not is_kecs_master(args.props):
        return
    master_ns = config_value(args.get_config(), "masterNamespace", DEFAULT_MASTER_NAMESPACE)
    provider_props = args.provider.props if args.provider is not None else None
    found, notes = labels(args.props), annotations(args.props)
    assert isinstance(found, Mapping)
    namespace = namespace_of(args.props, provider_props)
    if namespace is not UNKNOWN and namespace != master_ns:
        report_violation(f"master is in namespace {shown(namespace)}; masters live only in {master_ns!r}", None)
    managed_by = found.get(LABEL_MANAGED_BY)
    if managed_by is not UNKNOWN and managed_by != MANAGED_BY_VALUE:
        report_violation(f"master: label {LABEL_MANAGED_BY} must be {MANAGED_BY_VALUE!r} (is {shown(managed_by)})", None)

    name = get(args.props, "metadata", "name")
    source = found.get(LABEL_SOURCE)
    if name is UNKNOWN or source is UNKNOWN or notes is UNKNOWN:
        return
    if source not in SOURCES:
        report_violation(f"master: label {LABEL_SOURCE} must be one of {list(SOURCES)} (is {shown(source)})", None)
        return
    if not isinstance(name, str) or not name:
        report_violation("master has no metadata.name (it must be the name the naming function gives)", None)
        return
    assert isinstance(notes, Mapping)
    source_name = notes.get(ANNOTATION_SOURCE_NAME)
    if source_name is UNKNOWN:
        return
    if not isinstance(source_name, str) or not source_name:
        report_violation(f"master {shown(name)} has no {ANNOTATION_SOURCE_NAME} annotation", None)
        if not name.startswith(PREFIXES[source]):
            report_violation(f"master {shown(name)} does not start with {PREFIXES[source]!r}", None)
        return
    expected = expected_names(source, source_name)
    if name not in expected:
        others = f" (or, on a name collision, a hashed form such as {expected[1]!r})" if len(expected) > 1 else ""
        report_violation(
            f"master {shown(name)} is not the name given for {source} item {shown(source_name)}: "
            f"expected {expected[0]!r}{others}",
            None,
        )


master_placement = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Masters (kecs-labelled Secrets/ConfigMaps that are not replicas) live only in the master namespace, under the "
        "sm-/ssm- name that kecs_secrets.naming gives for their kecs.io/source-name: KECS's reference name, or a hashed form."
    ),
    validate=master_placement_validator,
    severity=Severity.HIGH,
    remediation_steps="Create masters only through the program's layout; never rename or move them by hand.",
    config_schema=PolicyConfigSchema(properties={"masterNamespace": master_namespace_schema()}),
)
