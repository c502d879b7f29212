"""Policies for stacks that also declare the source side with pulumi-aws.

``kecs-aws-credential-parameter-securestring``: an SSM parameter whose name looks like a credential is a SecureString.
``kecs-aws-secret-recovery-window``: a Secrets Manager secret keeps a recovery window (recoveryWindowInDays != 0)
unless the stack is disposable. A stack is disposable when its name is listed in the policy config
``disposableStacks`` (``stack`` or ``project/stack``; the names come from the resource URN), or when it carries the
stack tag named by ``disposableStackTag`` (default ``disposable``) with the value ``true``
(``pulumi stack tag set disposable true``; the file backend stores stack tags too).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .common import DEFAULT_CREDENTIAL_PATTERN, UNKNOWN, compile_pattern, config_value, get, shown, stack_of_urn, string_list_schema

__all__ = [
    "AWS_PARAMETER",
    "AWS_SECRET",
    "credential_parameter_securestring",
    "credential_parameter_securestring_validator",
    "is_disposable",
    "secret_recovery_window",
    "secret_recovery_window_remediation",
    "secret_recovery_window_validator",
]

SECURESTRING_NAME = "kecs-aws-credential-parameter-securestring"
RECOVERY_NAME = "kecs-aws-secret-recovery-window"
AWS_PARAMETER = "aws:ssm/parameter:Parameter"
AWS_SECRET = "aws:secretsmanager/secret:Secret"
DEFAULT_DISPOSABLE_TAG = "disposable"
DEFAULT_RECOVERY_WINDOW = 7  # days; AWS accepts 7-30


def credential_parameter_securestring_validator(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A parameter named like a credential (the configured pattern) must have type SecureString."""
    if args.resource_type != AWS_PARAMETER:
        return
    pattern = compile_pattern(config_value(args.get_config(), "credentialNamePattern", DEFAULT_CREDENTIAL_PATTERN))
    if pattern is None:
        report_violation("policy config credentialNamePattern is not a valid regular expression", None)
        return
    name = get(args.props, "name")
    if name is UNKNOWN:
        return
    if not isinstance(name, str) or not name:
        name = args.name  # autonamed from the resource name
    kind = get(args.props, "type")
    if kind is UNKNOWN or not pattern.search(name):
        return
    if kind != "SecureString":
        report_violation(
            f"SSM parameter {shown(name)} looks like a credential but has type {shown(kind)}; use SecureString",
            None,
        )


credential_parameter_securestring = ResourceValidationPolicy(
    name=SECURESTRING_NAME,
    description="An aws:ssm/parameter:Parameter whose name looks like a credential has type SecureString.",
    validate=credential_parameter_securestring_validator,
    severity=Severity.HIGH,
    remediation_steps="Declare the parameter with type='SecureString' (a replacement: consumers must read with decryption).",
    config_schema=PolicyConfigSchema(
        properties={
            "credentialNamePattern": {
                "type": "string",
                "default": DEFAULT_CREDENTIAL_PATTERN,
                "description": "Python regular expression searched in the parameter name.",
            }
        }
    ),
)


def _stack_names(args: ResourceValidationArgs) -> set[str]:
    stack = stack_of_urn(args.urn) or os.environ.get("PULUMI_STACK", "")
    if not stack:
        return set()
    parts = args.urn.split("::")
    project = parts[1] if len(parts) > 2 else os.environ.get("PULUMI_PROJECT", "")
    return {stack, f"{project}/{stack}"} if project else {stack}


def is_disposable(args: ResourceValidationArgs) -> bool:
    config = args.get_config()
    listed = set(config_value(config, "disposableStacks", []))
    tag = config_value(config, "disposableStackTag", DEFAULT_DISPOSABLE_TAG)
    tags: Mapping[str, str] = args.stack_tags or {}
    return bool(listed & _stack_names(args)) or str(tags.get(tag, "")).lower() == "true"


def _window(props: Any) -> Any:
    value = get(props, "recoveryWindowInDays")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def secret_recovery_window_validator(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """recoveryWindowInDays 0 (immediate, unrecoverable deletion) only in disposable stacks."""
    if args.resource_type != AWS_SECRET:
        return
    window = _window(args.props)
    if isinstance(window, int | float) and not isinstance(window, bool) and window == 0 and not is_disposable(args):
        report_violation(
            "Secrets Manager secret has recoveryWindowInDays 0 (deleted at once, unrecoverable) in a stack that is "
            "not disposable (policy config disposableStacks, or stack tag disposable=true)",
            None,
        )


def secret_recovery_window_remediation(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    """Safe fix: the window only matters when the secret is deleted; set it to the configured number of days."""
    if args.resource_type != AWS_SECRET:
        return None
    window = _window(args.props)
    if not (isinstance(window, int | float) and not isinstance(window, bool) and window == 0) or is_disposable(args):
        return None
    props = args.props
    days = int(config_value(args.get_config(), "recoveryWindowInDays", DEFAULT_RECOVERY_WINDOW))
    props["recoveryWindowInDays"] = days  # type: ignore[index]  # pulumi-policy's props proxy supports item assignment
    return props


secret_recovery_window = ResourceValidationPolicy(
    name=RECOVERY_NAME,
    description=(
        "An aws:secretsmanager/secret:Secret is not created with recoveryWindowInDays 0 unless the stack is disposable "
        "(listed in disposableStacks, or stack tag disposable=true)."
    ),
    validate=secret_recovery_window_validator,
    remediate=secret_recovery_window_remediation,
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Drop recoveryWindowInDays=0, or mark the stack disposable. Enforcement level 'remediate' sets the window to "
        "recoveryWindowInDays days (it only matters on deletion)."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "disposableStacks": string_list_schema([], "Stacks (name or project/name) where immediate deletion is fine (tests, previews)."),
            "disposableStackTag": {
                "type": "string",
                "default": DEFAULT_DISPOSABLE_TAG,
                "description": "A stack carrying this tag with the value 'true' is disposable.",
            },
            "recoveryWindowInDays": {
                "type": "integer",
                "minimum": 7,
                "maximum": 30,
                "default": DEFAULT_RECOVERY_WINDOW,
                "description": "The window the remediation sets.",
            },
        }
    ),
)
