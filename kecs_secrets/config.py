"""Every stack config key, read once and validated at once; errors name the key, never a value.

The defaults live here (DEFAULTS); Pulumi.yaml declares the same keys with the same defaults, and a
unit test keeps the two equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kecs_secrets.errors import ConfigError
from kecs_secrets.naming import is_dns1123_label

__all__ = [
    "DEFAULTS",
    "DEFAULT_DENIED_NAMESPACES",
    "NAMESPACE",
    "RBAC_MODES",
    "REMOVED",
    "SSM_KINDS",
    "LayoutSettings",
    "Settings",
    "TaskDefinitionSource",
    "parse_config",
]

NAMESPACE = "kecs-secrets"
DEFAULT_DENIED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")
RBAC_MODES = ("cluster-role", "need-to-know")
UNRESOLVED_MODES = ("error", "warn")
# "secret": every SSM parameter is a Secret with key `value`, as KECS's pods reference it.
# "by-sensitivity": ADR 21's rule, SecureString -> Secret, String/StringList -> ConfigMap (KECS pods cannot read those).
SSM_KINDS = ("secret", "by-sensitivity")
# Keys that no longer exist, with what replaces them: a stack that still sets one is refused by name.
REMOVED: Mapping[str, str] = {
    "ssmAllSecrets": (
        "use kecs-secrets:ssmKind instead ('secret', the default, makes every SSM parameter a Secret; "
        "'by-sensitivity' makes String/StringList ConfigMaps)"
    ),
}

DEFAULTS: Mapping[str, Any] = {
    "endpoint": "http://localhost:4566",
    "region": "us-east-1",
    "masterNamespace": "kecs-system",
    "ssmPaths": ["/"],
    "namePrefixes": [],
    "tags": {},
    "ssmKind": "secret",
    "demand": {},
    "taskDefinitions": [],
    "podDemand": False,
    "unresolvedReferences": "error",
    "rbacMode": "cluster-role",
    "maxMasterDeletions": 10,
    "allowMassDeletion": False,
    "deniedNamespaces": list(DEFAULT_DENIED_NAMESPACES),
    "kubeconfig": "",
    "kubeContext": "",
    "adoptExisting": False,
    "checkCluster": True,
    "kubeClientQps": 1000,
    "kubeClientBurst": 2000,
}

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


@dataclass(frozen=True)
class LayoutSettings:
    """The settings the layout depends on (validated by :func:`parse_config`)."""

    master_namespace: str = "kecs-system"
    ssm_kind: str = DEFAULTS["ssmKind"]
    rbac_mode: str = "cluster-role"
    unresolved_references: str = "error"  # or "warn"
    denied_namespaces: tuple[str, ...] = DEFAULT_DENIED_NAMESPACES
    stack: str = ""


@dataclass(frozen=True)
class TaskDefinitionSource:
    path: str  # a file or a glob, relative to the project directory
    cluster: str
    region: str


@dataclass(frozen=True)
class Settings:
    endpoint: str
    region: str
    master_namespace: str
    ssm_paths: tuple[str, ...]
    name_prefixes: tuple[str, ...]
    tags: Mapping[str, str]
    ssm_kind: str
    demand: Mapping[str, list[str]]
    task_definitions: tuple[TaskDefinitionSource, ...]
    pod_demand: bool
    unresolved_references: str
    rbac_mode: str
    max_master_deletions: int
    allow_mass_deletion: bool
    denied_namespaces: tuple[str, ...]
    kubeconfig: str
    kube_context: str
    adopt_existing: bool
    check_cluster: bool
    kube_client_qps: int
    kube_client_burst: int

    def layout_settings(self, stack: str) -> LayoutSettings:
        return LayoutSettings(
            master_namespace=self.master_namespace,
            ssm_kind=self.ssm_kind,
            rbac_mode=self.rbac_mode,
            unresolved_references=self.unresolved_references,
            denied_namespaces=self.denied_namespaces,
            stack=stack,
        )


def _key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


def _typed(raw: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = raw.get(name, DEFAULTS[name])
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"config {_key(name)} must be an integer")
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"config {_key(name)} must be of type {expected}")
    return value


def _string_list(raw: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = _typed(raw, name, list)
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"config {_key(name)} must be a list of strings")
    return tuple(value)


def _choice(raw: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = _typed(raw, name, str)
    if value not in choices:
        raise ConfigError(f"config {_key(name)} must be one of {list(choices)}")
    return value


def _task_definitions(raw: Mapping[str, Any], region: str) -> tuple[TaskDefinitionSource, ...]:
    result = []
    for index, entry in enumerate(_typed(raw, "taskDefinitions", list)):
        where = f"config {_key('taskDefinitions')}[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str) or not isinstance(entry.get("cluster"), str):
            raise ConfigError(f"{where} must be an object with string 'path' and 'cluster' (and optional 'region')")
        entry_region = entry.get("region", region)
        if not isinstance(entry_region, str) or not _REGION.match(entry_region):
            raise ConfigError(f"{where}.region is not an AWS region name")
        if not is_dns1123_label(f"{entry['cluster']}-{entry_region}"):
            raise ConfigError(f"{where}.cluster gives an invalid namespace name")
        unknown = set(entry) - {"path", "cluster", "region"}
        if unknown:
            raise ConfigError(f"{where} has unknown fields {sorted(unknown)}")
        result.append(TaskDefinitionSource(entry["path"], entry["cluster"], entry_region))
    return tuple(result)


def _decoded(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Config values may arrive as text (Pulumi passes every value as a string): decode non-string keys as JSON."""
    decoded = {}
    for name, value in raw.items():
        if isinstance(value, str) and not isinstance(DEFAULTS[name], str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(f"config {_key(name)} is not valid for its type") from None
        decoded[name] = value
    return decoded


def parse_config(raw: Mapping[str, Any]) -> Settings:
    """Validate a mapping of config key (without the ``kecs-secrets:`` namespace) to value."""
    for name in sorted(set(raw) & set(REMOVED)):
        raise ConfigError(f"config {_key(name)} was removed: {REMOVED[name]}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown config key(s) {[_key(k) for k in unknown]}")
    raw = _decoded(raw)
    endpoint = _typed(raw, "endpoint", str)
    if endpoint and not re.match(r"^https?://[^\s/]+(/.*)?$", endpoint):
        raise ConfigError(f"config {_key('endpoint')} must be empty (real AWS) or an http(s) URL")
    region = _typed(raw, "region", str)
    if not _REGION.match(region):
        raise ConfigError(f"config {_key('region')} is not an AWS region name")
    master_namespace = _typed(raw, "masterNamespace", str)
    if not is_dns1123_label(master_namespace):
        raise ConfigError(f"config {_key('masterNamespace')} is not a valid namespace name")
    ssm_paths = _string_list(raw, "ssmPaths")
    if not all(p.startswith("/") for p in ssm_paths):
        raise ConfigError(f"config {_key('ssmPaths')} entries must start with '/'")
    tags = _typed(raw, "tags", Mapping)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ConfigError(f"config {_key('tags')} must map tag names to string values")
    demand = _typed(raw, "demand", Mapping)
    for namespace, refs in demand.items():
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise ConfigError(f"config {_key('demand')}.{namespace} must be a list of strings")
    max_deletions = _typed(raw, "maxMasterDeletions", int)
    if max_deletions < 0:
        raise ConfigError(f"config {_key('maxMasterDeletions')} must be >= 0")
    qps, burst = _typed(raw, "kubeClientQps", int), _typed(raw, "kubeClientBurst", int)
    for name, value in (("kubeClientQps", qps), ("kubeClientBurst", burst)):
        if value < 1:
            raise ConfigError(f"config {_key(name)} must be >= 1")
    return Settings(
        endpoint=endpoint,
        region=region,
        master_namespace=master_namespace,
        ssm_paths=ssm_paths,
        name_prefixes=_string_list(raw, "namePrefixes"),
        tags=dict(tags),
        ssm_kind=_choice(raw, "ssmKind", SSM_KINDS),
        demand={str(k): list(v) for k, v in demand.items()},
        task_definitions=_task_definitions(raw, region),
        pod_demand=_typed(raw, "podDemand", bool),
        unresolved_references=_choice(raw, "unresolvedReferences", UNRESOLVED_MODES),
        rbac_mode=_choice(raw, "rbacMode", RBAC_MODES),
        max_master_deletions=max_deletions,
        allow_mass_deletion=_typed(raw, "allowMassDeletion", bool),
        denied_namespaces=_string_list(raw, "deniedNamespaces"),
        kubeconfig=_typed(raw, "kubeconfig", str),
        kube_context=_typed(raw, "kubeContext", str),
        adopt_existing=_typed(raw, "adoptExisting", bool),
        check_cluster=_typed(raw, "checkCluster", bool),
        kube_client_qps=qps,
        kube_client_burst=burst,
    )
