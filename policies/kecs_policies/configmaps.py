"""``kecs-no-secret-in-configmap``: no kecs ConfigMap unless ``ssmKind`` is by-sensitivity, then only String/StringList
parameters; no ConfigMap has credential-like keys."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from kecs_secrets.config import DEFAULTS, SSM_KINDS
from kecs_secrets.model import ANNOTATION_SOURCE_TYPE, LABEL_SOURCE, SSM

from .common import (
    CONFIG_MAP,
    DEFAULT_CREDENTIAL_PATTERN,
    UNKNOWN,
    annotations,
    compile_pattern,
    config_value,
    get,
    is_kecs_master,
    is_replica,
    labels,
    shown,
    string_list_schema,
)

__all__ = ["PLAIN_PARAMETER_TYPES", "no_secret_in_configmap", "no_secret_in_configmap_validator"]

NAME = "kecs-no-secret-in-configmap"
PLAIN_PARAMETER_TYPES = ("String", "StringList")


def _credential_keys(args: ResourceValidationArgs) -> list[str] | None:
    """Names of data/binaryData keys matching the pattern (None: the pattern in the config is invalid)."""
    config = args.get_config()
    pattern = compile_pattern(config_value(config, "credentialKeyPattern", DEFAULT_CREDENTIAL_PATTERN))
    if pattern is None:
        return None
    allowed = set(config_value(config, "allowedKeys", []))
    keys: list[str] = []
    for field in ("data", "binaryData"):
        data = get(args.props, field)
        if isinstance(data, Mapping):  # an unknown map (preview) has no keys to judge yet
            keys.extend(str(key) for key in data)
    return sorted({key for key in keys if key not in allowed and pattern.search(key)})


def no_secret_in_configmap_validator(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No kecs ConfigMap at all under ssmKind 'secret' (the program's default); under 'by-sensitivity' a kecs
    ConfigMap comes from an SSM String/StringList parameter. No ConfigMap has credential-like keys.
    Only key NAMES are ever reported, never a value."""
    if args.resource_type != CONFIG_MAP:
        return
    replica, master = is_replica(args.props), is_kecs_master(args.props)
    ssm_kind = config_value(args.get_config(), "ssmKind", DEFAULTS["ssmKind"])
    if (replica or master) and ssm_kind != "by-sensitivity":
        role = "replica" if replica else "master"
        report_violation(
            f"ConfigMap {role} {shown(get(args.props, 'metadata', 'name'))}: with ssmKind {ssm_kind!r} every kecs master and "
            "replica is a Secret, because KECS pods read SSM parameters through secretKeyRef only (set this policy's "
            "ssmKind to 'by-sensitivity' only for a stack that sets kecs-secrets:ssmKind: by-sensitivity)",
            None,
        )
    elif replica or master:
        found, notes = labels(args.props), annotations(args.props)
        assert isinstance(found, Mapping)
        role = "replica" if replica else "master"
        source = found.get(LABEL_SOURCE)
        if source is not UNKNOWN and source != SSM:
            report_violation(
                f"ConfigMap {role} comes from {shown(source)}: only SSM String/StringList parameters may become ConfigMaps",
                None,
            )
        elif notes is not UNKNOWN:
            assert isinstance(notes, Mapping)
            item_type = notes.get(ANNOTATION_SOURCE_TYPE)
            if item_type is None and master:
                report_violation(f"ConfigMap master has no {ANNOTATION_SOURCE_TYPE} annotation (String or StringList)", None)
            elif item_type is not None and item_type is not UNKNOWN and item_type not in PLAIN_PARAMETER_TYPES:
                report_violation(
                    f"ConfigMap {role} holds a parameter of type {shown(item_type)}: only {list(PLAIN_PARAMETER_TYPES)} "
                    "may become ConfigMaps (SecureString must be a Secret)",
                    None,
                )
    keys = _credential_keys(args)
    if keys is None:
        report_violation("policy config credentialKeyPattern is not a valid regular expression", None)
    elif keys:
        report_violation(f"ConfigMap has keys that look like credentials: {keys} (use a Secret)", None)


no_secret_in_configmap = ResourceValidationPolicy(
    name=NAME,
    description=(
        "No secret material in ConfigMaps: with ssmKind 'secret' (the program's default, what KECS pods read) there is "
        "no kecs ConfigMap master or replica at all; with 'by-sensitivity' a kecs ConfigMap comes from an SSM "
        "String/StringList parameter (kecs.io/source=ssm, kecs.io/source-type String|StringList). No ConfigMap has "
        "keys that look like credentials."
    ),
    validate=no_secret_in_configmap_validator,
    severity=Severity.HIGH,
    remediation_steps="Store the value as a Secret (SecureString parameter or Secrets Manager secret), or allow the key in the config.",
    config_schema=PolicyConfigSchema(
        properties={
            "ssmKind": {
                "type": "string",
                "enum": list(SSM_KINDS),
                "default": DEFAULTS["ssmKind"],
                "description": "The program's kecs-secrets:ssmKind: 'secret' allows no kecs ConfigMap, 'by-sensitivity' "
                "allows them for String/StringList parameters.",
            },
            "credentialKeyPattern": {
                "type": "string",
                "default": DEFAULT_CREDENTIAL_PATTERN,
                "description": "Python regular expression searched in every data/binaryData key of every ConfigMap.",
            },
            "allowedKeys": string_list_schema([], "Exact key names that are never reported (e.g. a public token_endpoint)."),
        }
    ),
)
