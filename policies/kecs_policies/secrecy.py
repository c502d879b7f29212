"""``kecs-secret-data-is-secret``: values are Pulumi secrets from the first moment.

Secretness is invisible in ``args.props`` (they arrive as plaintext), but the resource options are not:
the value reader ``kecs:SourceValues`` must declare its value outputs in ``additional_secret_outputs`` (otherwise a
value read from LocalStack is plaintext in state), and Kubernetes Secrets must not use ``stringData``
(only ``data``, which the program fills from the reader's secret output).
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .common import SECRET, SOURCE_VALUES, UNKNOWN, config_value, get, string_list_schema

__all__ = ["DEFAULT_SECRET_OUTPUTS", "secret_data_is_secret", "secret_data_is_secret_validator"]

NAME = "kecs-secret-data-is-secret"
DEFAULT_SECRET_OUTPUTS = ("values",)  # providers/source_values.py SECRET_OUTPUTS


def secret_data_is_secret_validator(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """SourceValues declares its value outputs secret; a Secret carries no plain stringData."""
    if args.resource_type == SOURCE_VALUES:
        wanted = list(config_value(args.get_config(), "secretOutputs", list(DEFAULT_SECRET_OUTPUTS)))
        declared = set(args.opts.additional_secret_outputs or [])
        missing = [output for output in wanted if output not in declared]
        if missing:
            report_violation(
                f"kecs:SourceValues does not declare {missing} in additional_secret_outputs: the value would be "
                "stored in state as plaintext",
                None,
            )
    elif args.resource_type == SECRET:
        string_data = get(args.props, "stringData")
        if string_data is UNKNOWN or (isinstance(string_data, Mapping) and len(string_data) > 0):
            report_violation(
                "Secret uses stringData; set data (base64) from a secret output instead, so the value is never a plain input",
                None,
            )


secret_data_is_secret = ResourceValidationPolicy(
    name=NAME,
    description=(
        "The data of every Secret is a Pulumi secret: the value reader kecs:SourceValues declares its value outputs (values) in "
        "additional_secret_outputs, and Secrets do not use plain stringData."
    ),
    validate=secret_data_is_secret_validator,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Read values with providers.source_values.SourceValues (it sets additional_secret_outputs=['values', ...]) and pass "
        "its values output to the Secret's data."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "secretOutputs": string_list_schema(list(DEFAULT_SECRET_OUTPUTS), "Outputs of kecs:SourceValues that must be declared secret.")
        }
    ),
)
