"""``kecs-replica-metadata``: every replica carries the labels and annotations of ADR 21, consistently."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from kecs_secrets.model import (
    ANNOTATION_LAST_REPLICATED,
    ANNOTATION_SOURCE_NAMESPACE,
    LABEL_MANAGED_BY,
    LABEL_REPLICATED_FROM,
    LABEL_SOURCE,
)
from kecs_secrets.naming import PREFIXES

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
    is_replica,
    is_rfc3339,
    labels,
    master_namespace_schema,
    plain,
    shown,
)

__all__ = ["replica_metadata", "replica_metadata_remediation", "replica_metadata_validator"]

NAME = "kecs-replica-metadata"


def replica_metadata_validator(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Labels managed-by=kecs, replicated-from=<master ns>, source in {secretsmanager, ssm};
    annotations source-namespace (== replicated-from) and last-replicated (RFC 3339)."""
    if args.resource_type not in (SECRET, CONFIG_MAP) or not is_replica(args.props):
        return
    master_ns = config_value(args.get_config(), "masterNamespace", DEFAULT_MASTER_NAMESPACE)
    found, notes = labels(args.props), annotations(args.props)
    assert isinstance(found, Mapping)
    problems: list[str] = []

    managed_by = found.get(LABEL_MANAGED_BY)
    if managed_by is not UNKNOWN and managed_by != MANAGED_BY_VALUE:
        problems.append(f"label {LABEL_MANAGED_BY} must be {MANAGED_BY_VALUE!r} (is {shown(managed_by)})")
    replicated_from = found.get(LABEL_REPLICATED_FROM)
    if replicated_from is not UNKNOWN and replicated_from != master_ns:
        problems.append(f"label {LABEL_REPLICATED_FROM} must be the master namespace {master_ns!r} (is {shown(replicated_from)})")
    source = found.get(LABEL_SOURCE)
    if source is not UNKNOWN:
        if source not in SOURCES:
            problems.append(f"label {LABEL_SOURCE} must be one of {list(SOURCES)} (is {shown(source)})")
        else:
            name = get(args.props, "metadata", "name")
            if isinstance(name, str) and name and not name.startswith(PREFIXES[source]):
                problems.append(f"name {shown(name)} does not start with {PREFIXES[source]!r} although {LABEL_SOURCE} is {source!r}")

    if notes is not UNKNOWN:
        assert isinstance(notes, Mapping)
        source_ns = notes.get(ANNOTATION_SOURCE_NAMESPACE)
        if source_ns is None:
            problems.append(f"annotation {ANNOTATION_SOURCE_NAMESPACE} is missing")
        elif source_ns is not UNKNOWN and replicated_from is not UNKNOWN and source_ns != replicated_from:
            problems.append(
                f"annotation {ANNOTATION_SOURCE_NAMESPACE} ({shown(source_ns)}) differs from label "
                f"{LABEL_REPLICATED_FROM} ({shown(replicated_from)})"
            )
        stamp = notes.get(ANNOTATION_LAST_REPLICATED)
        if stamp is None:
            problems.append(f"annotation {ANNOTATION_LAST_REPLICATED} is missing")
        elif stamp is not UNKNOWN and not is_rfc3339(stamp):
            problems.append(f"annotation {ANNOTATION_LAST_REPLICATED} is not an RFC 3339 date-time")

    for problem in problems:
        report_violation(f"replica: {problem}", None)


def replica_metadata_remediation(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    """Fill in only what can be derived without guessing: the constant managed-by label, and
    source-namespace from the replicated-from label. Never overwrites a value that is there."""
    if args.resource_type not in (SECRET, CONFIG_MAP) or not is_replica(args.props):
        return None
    metadata = plain(get(args.props, "metadata"))
    if not isinstance(metadata, dict):
        return None
    found = metadata.get("labels")
    notes = metadata.get("annotations") if metadata.get("annotations") is not None else {}
    if not isinstance(found, dict) or not isinstance(notes, dict):
        return None
    changed = False
    if LABEL_MANAGED_BY not in found:
        found[LABEL_MANAGED_BY] = MANAGED_BY_VALUE
        changed = True
    replicated_from = found.get(LABEL_REPLICATED_FROM)
    if ANNOTATION_SOURCE_NAMESPACE not in notes and isinstance(replicated_from, str) and replicated_from:
        notes[ANNOTATION_SOURCE_NAMESPACE] = replicated_from
        metadata["annotations"] = notes
        changed = True
    if not changed or any(v is UNKNOWN for v in [*found.values(), *notes.values()]):
        return None
    props = args.props
    props["metadata"] = metadata  # type: ignore[index]  # pulumi-policy's props proxy supports item assignment
    return props


replica_metadata = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Every Secret/ConfigMap labelled kecs.io/replicated-from carries the ADR 21 labels (kecs.io/managed-by: kecs, "
        "kecs.io/replicated-from: <master namespace>, kecs.io/source: secretsmanager|ssm) and annotations "
        "(kecs.io/source-namespace equal to replicated-from, kecs.io/last-replicated in RFC 3339)."
    ),
    validate=replica_metadata_validator,
    remediate=replica_metadata_remediation,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Let the program's layout (components/layout.py) produce replica metadata. Enforcement level 'remediate' fills in "
        "a missing kecs.io/managed-by label and a missing kecs.io/source-namespace annotation (copied from the label)."
    ),
    config_schema=PolicyConfigSchema(properties={"masterNamespace": master_namespace_schema()}),
)
