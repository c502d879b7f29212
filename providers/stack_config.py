"""Reading the ``kecs-secrets:*`` stack settings with Pulumi's typed config getters (the core validates them).

The schema (type and default of every key) is the core's :data:`kecs_secrets.config.SCHEMA`; this
adapter only picks the getter for each type, turns Pulumi's type errors into the project's one-line
:class:`~kecs_secrets.errors.ConfigError` (naming the key and the expected type, never the value), and
refuses keys the schema does not know (the Pulumi CLI passes them through silently).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi.runtime
import yaml

from kecs_secrets.config import NAMESPACE, SCHEMA, Settings, check_known_keys, parse_config
from kecs_secrets.errors import ConfigError

__all__ = ["configured_keys", "load_settings", "read_stack_file"]

_GETTERS: Mapping[str, Callable[[pulumi.Config, str], Any]] = {
    "string": pulumi.Config.get,
    "boolean": pulumi.Config.get_bool,
    "integer": pulumi.Config.get_int,
    "array": pulumi.Config.get_object,
    "object": pulumi.Config.get_object,
}


def configured_keys() -> set[str]:
    """The full names of every key the stack's config sets, project defaults included.

    The language host hands the program the whole config map as ``PULUMI_CONFIG``, which
    ``pulumi.runtime.get_config_env`` reads (``set_all_config`` fills the same map in tests).
    """
    return set(pulumi.runtime.get_config_env()) | set(pulumi.runtime.config.CONFIG.get())


def load_settings() -> Settings:
    """Read every ``kecs-secrets:*`` key with the getter of its type and validate them all at once."""
    prefix = f"{NAMESPACE}:"
    check_known_keys(key[len(prefix) :] for key in configured_keys() if key.startswith(prefix))
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for name, key in SCHEMA.items():
        try:
            value = _GETTERS[key.type](config, name)
        except pulumi.ConfigTypeError:
            raise ConfigError(f"config {prefix}{name} must be of type {key.type_name}") from None
        if value is not None:
            raw[name] = value
    return parse_config(raw)


def read_stack_file(path: str) -> dict[str, str]:
    """Every key of a stack config file (``Pulumi.<stack>.yaml``), as the text the Pulumi CLI hands a program.

    For reading a stack's settings without the CLI (``kecs-secrets plan``): hand the result to
    ``pulumi.runtime.set_all_config`` and :func:`load_settings` reads it with the same getters.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except OSError as err:
        raise ConfigError(f"stack config {path!r} cannot be read: {err.strerror}") from None
    except yaml.YAMLError:
        raise ConfigError(f"stack config {path!r} is not valid YAML") from None
    config = document.get("config") or {} if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(f"stack config {path!r} is not a mapping with a 'config' mapping")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
