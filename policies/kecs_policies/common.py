"""Helpers shared by the policies: type tokens, safe property access, config with defaults, messages.

Rules every policy follows:
- Never put a property value into a message: secret material arrives here as plaintext in
  ``args.props``. Messages name objects (kind, namespace, name), label/annotation keys, data KEYS and
  RBAC verbs/resources, and show label/annotation values only for ``kecs.io/*`` keys (:func:`shown`).
- An unknown value (preview) is not a violation: :func:`get` returns :data:`UNKNOWN` and the
  policies skip what they cannot know yet; ``pulumi up`` sees the resolved inputs and checks them.
- Every default lives in one place: the ``DEFAULT_*`` constants below feed both the config schemas
  (which the CLI uses to fill in the config) and :func:`config_value` (direct calls in tests).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from kecs_secrets.config import DEFAULT_DENIED_NAMESPACES
from kecs_secrets.model import (
    ANNOTATION_SOURCE_NAME,
    LABEL_MANAGED_BY,
    LABEL_REPLICATED_FROM,
    LABEL_SOURCE,
    SECRETSMANAGER,
    SSM,
)

__all__ = [
    "CLUSTER_ROLE",
    "CLUSTER_ROLE_BINDING",
    "CONFIG_MAP",
    "DEFAULT_CREDENTIAL_PATTERN",
    "DEFAULT_DENIED",
    "DEFAULT_MASTER_NAMESPACE",
    "MANAGED_BY_VALUE",
    "ROLE",
    "ROLE_BINDING",
    "SECRET",
    "SERVICE_ACCOUNT",
    "SOURCES",
    "SOURCE_VALUES",
    "UNKNOWN",
    "annotations",
    "compile_pattern",
    "config_value",
    "get",
    "is_kecs_master",
    "is_replica",
    "is_rfc3339",
    "labels",
    "master_namespace_schema",
    "namespace_of",
    "object_id",
    "plain",
    "shown",
    "stack_of_urn",
]

SECRET: Final = "kubernetes:core/v1:Secret"
CONFIG_MAP: Final = "kubernetes:core/v1:ConfigMap"
SERVICE_ACCOUNT: Final = "kubernetes:core/v1:ServiceAccount"
ROLE: Final = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE: Final = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE_BINDING: Final = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING: Final = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
# ``class SourceValues(Resource, module="kecs", name="SourceValues")`` in providers/source_values.py.
SOURCE_VALUES: Final = "pulumi-python:dynamic/kecs:SourceValues"

SOURCES: Final = (SECRETSMANAGER, SSM)
MANAGED_BY_VALUE: Final = "kecs"
DEFAULT_MASTER_NAMESPACE: Final = "kecs-system"
DEFAULT_DENIED: Final = tuple(DEFAULT_DENIED_NAMESPACES)
# Key or parameter names that look like credentials (case-insensitive search anywhere in the name).
DEFAULT_CREDENTIAL_PATTERN: Final = (
    r"(?i)(passw(or)?d|passwd|pwd|secret|token|api[-_.]?key|private[-_.]?key|credential|"
    r"access[-_.]?key|auth[-_.]?key|session[-_.]?key|client[-_.]?key|signing[-_.]?key)"
)


class _Unknown:
    """Marker for a value that is not known yet (preview)."""

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Final = _Unknown()

# The policy SDK's own markers for values not known yet (it leaves them in place of strings, numbers, ...).
_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


def get(mapping: Any, *path: str) -> Any:
    """``mapping[path[0]][path[1]]...``: ``None`` when absent, :data:`UNKNOWN` when not known yet."""
    current = mapping
    for key in path:
        if current is UNKNOWN or current is None:
            return current
        if not isinstance(current, Mapping):
            return None
        try:
            current = current[key] if key in current else None
        except UnknownValueError:
            return UNKNOWN
        if isinstance(current, str) and current in _UNKNOWN_SENTINELS:
            return UNKNOWN
    return current


def plain(value: Any) -> Any:
    """A plain dict/list copy of a (possibly proxied) property value; unknowns become :data:`UNKNOWN`."""
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    if isinstance(value, Mapping):
        return {key: plain(get(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        result = []
        for index in range(len(value)):
            try:
                result.append(plain(value[index]))
            except UnknownValueError:
                result.append(UNKNOWN)
        return result
    return value


def _string_map(value: Any) -> Mapping[str, Any] | _Unknown:
    if value is UNKNOWN:
        return UNKNOWN
    if not isinstance(value, Mapping):
        return {}
    return {key: get(value, key) for key in value}


def labels(props: Any) -> Mapping[str, Any] | _Unknown:
    return _string_map(get(props, "metadata", "labels"))


def annotations(props: Any) -> Mapping[str, Any] | _Unknown:
    return _string_map(get(props, "metadata", "annotations"))


def namespace_of(props: Any, provider_props: Any = None) -> str | _Unknown:
    """The object's namespace: metadata.namespace, else the provider's default namespace, else ``default``."""
    namespace = get(props, "metadata", "namespace")
    if namespace is UNKNOWN:
        return UNKNOWN
    if isinstance(namespace, str) and namespace:
        return namespace
    from_provider = get(provider_props, "namespace") if provider_props is not None else None
    if isinstance(from_provider, str) and from_provider:
        return from_provider
    return "default"


def is_replica(props: Any) -> bool:
    found = labels(props)
    return found is not UNKNOWN and LABEL_REPLICATED_FROM in found


def is_kecs_master(props: Any) -> bool:
    """A Secret/ConfigMap that is not a replica and carries the kecs labels (or the source-name annotation)."""
    found, notes = labels(props), annotations(props)
    if found is UNKNOWN or LABEL_REPLICATED_FROM in found:
        return False
    return (
        found.get(LABEL_MANAGED_BY) == MANAGED_BY_VALUE
        or LABEL_SOURCE in found
        or (notes is not UNKNOWN and ANNOTATION_SOURCE_NAME in notes)
    )


def object_id(kind: str, props: Any, namespaced: bool = True, provider_props: Any = None) -> str:
    """``Kind namespace/name`` for messages (names are not secret)."""
    name = get(props, "metadata", "name")
    name_text = name if isinstance(name, str) and name else "<unnamed>"
    if not namespaced:
        return f"{kind} {name_text}"
    namespace = namespace_of(props, provider_props)
    return f"{kind} {namespace if isinstance(namespace, str) else '<unknown>'}/{name_text}"


def shown(value: Any, limit: int = 80) -> str:
    """A label/annotation value or an object name for a message: quoted, cut, and only if it is a string."""
    if value is UNKNOWN:
        return "<unknown>"
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def config_value(config: Mapping[str, Any] | None, key: str, default: Any) -> Any:
    """A policy config property, or its default (the CLI fills defaults from the schema; tests call directly)."""
    if config and key in config and config[key] is not None:
        return config[key]
    return default


def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, TypeError):
        return None


_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def is_rfc3339(value: Any) -> bool:
    """RFC 3339 date-time (section 5.6) with a real calendar date and time."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return False
    try:
        dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def stack_of_urn(urn: str) -> str:
    """The stack name of ``urn:pulumi:<stack>::<project>::<type>::<name>`` ("" if it is not such a URN)."""
    parts = urn.split("::")
    if len(parts) < 2 or not parts[0].startswith("urn:pulumi:"):
        return ""
    return parts[0][len("urn:pulumi:") :]


def string_list_schema(default: list[str] | tuple[str, ...], description: str) -> dict[str, Any]:
    """Config schema of a list of strings with its default."""
    return {"type": "array", "items": {"type": "string"}, "default": list(default), "description": description}


def master_namespace_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "default": DEFAULT_MASTER_NAMESPACE,
        "description": "Namespace that holds the masters (kecs-secrets:masterNamespace of the program).",
    }
