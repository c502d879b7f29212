"""Every stack config key: the schema (type and default), and validation of all keys at once.

The schema lives here (SCHEMA); Pulumi.yaml declares the same keys with the same types and defaults
(the Pulumi CLI checks the declared types before the program runs), and a unit test keeps the two
equal. The program reads the values with Pulumi's typed getters (providers/stack_config.py) and hands
them to :func:`parse_config`. Errors name the key, never a value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
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
    "SCHEMA",
    "SSM_KINDS",
    "ConfigKey",
    "EcsDemandSettings",
    "LayoutSettings",
    "Settings",
    "TaskDefinitionSource",
    "check_known_keys",
    "is_region_name",
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


@dataclass(frozen=True)
class ConfigKey:
    """One key: its Pulumi config type (string, integer, boolean, array, object), items' type, default."""

    type: str
    default: Any
    items: str | None = None

    @property
    def type_name(self) -> str:
        return f"array of {self.items}" if self.items else self.type


SCHEMA: Mapping[str, ConfigKey] = {
    "endpoint": ConfigKey("string", "http://localhost:4566"),
    "region": ConfigKey("string", "us-east-1"),
    "masterNamespace": ConfigKey("string", "kecs-system"),
    "ssmPaths": ConfigKey("array", ["/"], items="string"),
    "namePrefixes": ConfigKey("array", [], items="string"),
    "tags": ConfigKey("object", {}),
    "ssmKind": ConfigKey("string", "secret"),
    "demand": ConfigKey("object", {}),
    "taskDefinitions": ConfigKey("array", [], items="object"),
    "podDemand": ConfigKey("boolean", False),
    "unresolvedReferences": ConfigKey("string", "error"),
    "rbacMode": ConfigKey("string", "cluster-role"),
    "maxMasterDeletions": ConfigKey("integer", 10),
    "allowMassDeletion": ConfigKey("boolean", False),
    "deniedNamespaces": ConfigKey("array", list(DEFAULT_DENIED_NAMESPACES), items="string"),
    "allowedNamespaces": ConfigKey("array", [], items="string"),
    "clusters": ConfigKey("array", [], items="string"),
    "strictPodDemand": ConfigKey("boolean", False),
    "kubeconfig": ConfigKey("string", ""),
    "kubeContext": ConfigKey("string", ""),
    "adoptExisting": ConfigKey("boolean", False),
    "checkCluster": ConfigKey("boolean", True),
    "kubeClientQps": ConfigKey("integer", 1000),
    "kubeClientBurst": ConfigKey("integer", 2000),
    "ecsDemand": ConfigKey("object", {}),
}
DEFAULTS: Mapping[str, Any] = {name: key.default for name, key in SCHEMA.items()}

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


def is_region_name(text: str) -> bool:
    """An AWS region name such as ``us-east-1`` (the shape, not a list of regions)."""
    return bool(_REGION.fullmatch(text))


@dataclass(frozen=True)
class LayoutSettings:
    """The settings the layout depends on (validated by :func:`parse_config`)."""

    master_namespace: str = "kecs-system"
    ssm_kind: str = "secret"
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
class EcsDemandSettings:
    """``kecs-secrets:ecsDemand``: read demand from a live ECS API (off unless ``enabled``).

    ``endpoint``: the ECS API ("" is real AWS; the source's endpoint unless set); ``clusters`` empty means every
    cluster; ``region``: the ECS API's region, which names the namespaces ``<cluster>-<region>``.
    """

    enabled: bool = False
    endpoint: str = ""
    region: str = ""
    clusters: tuple[str, ...] = ()
    all_revisions: bool = False
    restart_on_change: bool = False


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
    allowed_namespaces: tuple[str, ...]
    clusters: tuple[str, ...]  # ECS clusters whose namespaces (in ``region``) this stack serves; empty: every cluster
    strict_pod_demand: bool
    kubeconfig: str
    kube_context: str
    adopt_existing: bool
    check_cluster: bool
    kube_client_qps: int
    kube_client_burst: int
    ecs_demand: EcsDemandSettings = EcsDemandSettings()

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


_PYTHON_TYPES: Mapping[str, type] = {"string": str, "integer": int, "boolean": bool, "array": list, "object": Mapping}


def _typed(raw: Mapping[str, Any], name: str) -> Any:
    """The value of ``name`` (or its default), checked against the schema's type."""
    key = SCHEMA[name]
    value = raw.get(name, key.default)
    wrong_int = key.type == "integer" and isinstance(value, bool)
    if wrong_int or not isinstance(value, _PYTHON_TYPES[key.type]):
        raise ConfigError(f"config {_key(name)} must be of type {key.type_name}")
    return value


def check_known_keys(names: Iterable[str]) -> None:
    """Every key must be one the schema knows; a removed one is named with its replacement, an unknown one
    with the closest known key."""
    names = set(names)
    for name in sorted(names & set(REMOVED)):
        raise ConfigError(f"config {_key(name)} was removed: {REMOVED[name]}")
    unknown = sorted(names - set(SCHEMA))
    if not unknown:
        return
    shown = []
    for name in unknown:
        closest = difflib.get_close_matches(name, list(SCHEMA), n=1, cutoff=0.0)
        by_case = [known for known in SCHEMA if known.lower() == name.lower()]
        shown.append(f"{_key(name)} (closest known key: {_key((by_case or closest)[0])})")
    raise ConfigError(f"unknown config key{'s' if len(shown) > 1 else ''} {', '.join(shown)}")


def _string_list(raw: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = _typed(raw, name)
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"config {_key(name)} must be a list of strings")
    return tuple(value)


def _choice(raw: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = _typed(raw, name)
    if value not in choices:
        raise ConfigError(f"config {_key(name)} must be one of {list(choices)}")
    return value


def _task_definitions(raw: Mapping[str, Any], region: str) -> tuple[TaskDefinitionSource, ...]:
    result = []
    for index, entry in enumerate(_typed(raw, "taskDefinitions")):
        where = f"config {_key('taskDefinitions')}[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str) or not isinstance(entry.get("cluster"), str):
            raise ConfigError(f"{where} must be an object with string 'path' and 'cluster' (and optional 'region')")
        entry_region = entry.get("region", region)
        if not isinstance(entry_region, str) or not is_region_name(entry_region):
            raise ConfigError(f"{where}.region is not an AWS region name")
        if not is_dns1123_label(f"{entry['cluster']}-{entry_region}"):
            raise ConfigError(f"{where}.cluster gives an invalid namespace name")
        unknown = set(entry) - {"path", "cluster", "region"}
        if unknown:
            raise ConfigError(f"{where} has unknown fields {sorted(unknown)}")
        result.append(TaskDefinitionSource(entry["path"], entry["cluster"], entry_region))
    return tuple(result)


_ECS_FIELDS: Mapping[str, str] = {
    "enabled": "boolean", "endpoint": "string", "region": "string", "clusters": "array", "allRevisions": "boolean",
    "restartOnChange": "boolean",
}
_ECS_CLUSTER = re.compile(r"\A[A-Za-z0-9_-]{1,255}\Z")


def _ecs_demand(raw: Mapping[str, Any], endpoint: str, region: str) -> EcsDemandSettings:
    """``ecsDemand``: an object of the fields in ``_ECS_FIELDS``, each optional; unknown fields are refused."""
    value = _typed(raw, "ecsDemand")
    where = f"config {_key('ecsDemand')}"
    unknown = sorted(set(value) - set(_ECS_FIELDS))
    if unknown:
        closest = difflib.get_close_matches(unknown[0], list(_ECS_FIELDS), n=1, cutoff=0.0)
        raise ConfigError(f"{where} has unknown field {unknown[0]!r} (known fields: {', '.join(_ECS_FIELDS)}; closest: {closest[0]!r})")
    for name, kind in _ECS_FIELDS.items():
        wanted = _PYTHON_TYPES[kind]
        if name in value and (not isinstance(value[name], wanted) or (wanted is not bool and isinstance(value[name], bool))):
            raise ConfigError(f"{where}.{name} must be of type {kind}")
    ecs_endpoint = value.get("endpoint", None)
    if ecs_endpoint and not re.match(r"^https?://[^\s/]+(/.*)?$", ecs_endpoint):
        raise ConfigError(f"{where}.endpoint must be empty (real AWS) or an http(s) URL")
    ecs_region = value.get("region", region)
    if not is_region_name(ecs_region):
        raise ConfigError(f"{where}.region is not an AWS region name")
    clusters = value.get("clusters", [])
    for cluster in clusters:
        if not isinstance(cluster, str) or not _ECS_CLUSTER.match(cluster):
            raise ConfigError(f"{where}.clusters entries must be ECS cluster names (letters, digits, '-', '_')")
        if not is_dns1123_label(f"{cluster}-{ecs_region}"):
            raise ConfigError(f"{where}.clusters entry {cluster!r} gives an invalid namespace name")
    restart = value.get("restartOnChange", False)
    enabled = value.get("enabled", False)
    if restart and not enabled:
        raise ConfigError(f"{where}.restartOnChange needs {where}.enabled: true")
    return EcsDemandSettings(
        enabled=enabled,
        endpoint=endpoint if ecs_endpoint is None else ecs_endpoint,
        region=ecs_region,
        clusters=tuple(sorted(set(clusters))),
        all_revisions=value.get("allRevisions", False),
        restart_on_change=restart,
    )


def parse_config(raw: Mapping[str, Any]) -> Settings:
    """Validate a mapping of config key (without the ``kecs-secrets:`` namespace) to typed value.

    Missing keys take their default. Values are typed already (Pulumi's typed getters read them).
    """
    check_known_keys(raw)
    endpoint = _typed(raw, "endpoint")
    if endpoint and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", endpoint):
        raise ConfigError(f"config {_key('endpoint')} must be empty (real AWS) or an http(s) URL")
    region = _typed(raw, "region")
    if not is_region_name(region):
        raise ConfigError(f"config {_key('region')} is not an AWS region name")
    master_namespace = _typed(raw, "masterNamespace")
    if not is_dns1123_label(master_namespace):
        raise ConfigError(f"config {_key('masterNamespace')} is not a valid namespace name")
    ssm_paths = _string_list(raw, "ssmPaths")
    if not all(p.startswith("/") for p in ssm_paths):
        raise ConfigError(f"config {_key('ssmPaths')} entries must start with '/'")
    tags = _typed(raw, "tags")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ConfigError(f"config {_key('tags')} must map tag names to string values")
    demand = _typed(raw, "demand")
    for namespace, refs in demand.items():
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise ConfigError(f"config {_key('demand')}.{namespace} must be a list of strings")
    max_deletions = _typed(raw, "maxMasterDeletions")
    if max_deletions < 0:
        raise ConfigError(f"config {_key('maxMasterDeletions')} must be >= 0")
    allowed = _string_list(raw, "allowedNamespaces")
    for namespace in allowed:
        if not is_dns1123_label(namespace) or namespace == master_namespace:
            raise ConfigError(f"config {_key('allowedNamespaces')} entry {namespace!r} is not a namespace that may receive replicas")
    clusters = _string_list(raw, "clusters")
    for cluster in clusters:
        if not cluster or not is_dns1123_label(f"{cluster}-{region}"):
            raise ConfigError(f"config {_key('clusters')} entry {cluster!r} gives no valid namespace name <cluster>-{region}")
    qps, burst = _typed(raw, "kubeClientQps"), _typed(raw, "kubeClientBurst")
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
        pod_demand=_typed(raw, "podDemand"),
        unresolved_references=_choice(raw, "unresolvedReferences", UNRESOLVED_MODES),
        rbac_mode=_choice(raw, "rbacMode", RBAC_MODES),
        max_master_deletions=max_deletions,
        allow_mass_deletion=_typed(raw, "allowMassDeletion"),
        denied_namespaces=_string_list(raw, "deniedNamespaces"),
        allowed_namespaces=allowed,
        clusters=clusters,
        strict_pod_demand=_typed(raw, "strictPodDemand"),
        kubeconfig=_typed(raw, "kubeconfig"),
        kube_context=_typed(raw, "kubeContext"),
        adopt_existing=_typed(raw, "adoptExisting"),
        check_cluster=_typed(raw, "checkCluster"),
        kube_client_qps=qps,
        kube_client_burst=burst,
        ecs_demand=_ecs_demand(raw, endpoint, region),
    )
