"""Every Kubernetes name the project makes: masters and replicas, reader RBAC objects, ECS cluster namespaces.

Every name the project produces (masters, replicas, what a pod references, what the policy pack
expects) comes from here, so they can never disagree (KECS had three functions that did).

Master and replica names:

Rule (documented in the README):
1. lowercase the source name;
2. every run of characters outside ``[a-z0-9.]`` becomes one ``-``;
3. every run of ``-``/``.`` longer than one character becomes one ``-`` (so ``..``, ``.-``
   and ``-.`` never appear), then leading/trailing ``-``/``.`` are trimmed;
4. the prefix (``sm-`` / ``ssm-``) is put in front;
5. a name longer than 253 characters is cut and ends in ``-`` + 8 hex digits of the sha256 of the
   source and its name, so it stays unique and valid; a name with no valid character at all
   (``@@@``) is the prefix plus that hash.
Collisions (two source items giving one name) are resolved by :func:`assign_names`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from kecs_secrets.errors import LayoutError, NameCollisionError

__all__ = [
    "MAX_NAME_LENGTH",
    "PREFIXES",
    "NameCollisionError",
    "assign_names",
    "cluster_role_name",
    "ecs_cluster_namespace",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "kubernetes_name",
    "reader_name",
    "short_hash",
]

MAX_NAME_LENGTH = 253
HASH_LENGTH = 8
PREFIXES: Mapping[str, str] = {"secretsmanager": "sm-", "ssm": "ssm-"}

_INVALID_RUN = re.compile(r"[^a-z0-9.]+")
_SEPARATOR_RUN = re.compile(r"[-.]{2,}")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def short_hash(text: str) -> str:
    """8 hex digits of sha256(text): short, deterministic, independent of any ordering."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def _body(source_name: str) -> str:
    body = _INVALID_RUN.sub("-", source_name.lower())
    body = _SEPARATOR_RUN.sub("-", body)
    return body.strip("-.")


def _fit(name: str, suffix: str) -> str:
    """Append ``-suffix`` (if any), cutting ``name`` so the result has at most 253 characters."""
    if not suffix:
        return name
    room = MAX_NAME_LENGTH - len(suffix) - 1
    return f"{name[:room].rstrip('-.')}-{suffix}"


def kubernetes_name(source: str, source_name: str, *, disambiguate: bool = False) -> str:
    """Kubernetes name for a source item: ``sm-<name>`` or ``ssm-<name>``, always a valid DNS-1123 subdomain.

    ``source`` is ``secretsmanager`` or ``ssm``. With ``disambiguate`` the name ends in a hash of the
    source and its original name (used when two items would otherwise share a name).
    """
    try:
        prefix = PREFIXES[source]
    except KeyError:
        raise LayoutError(f"unknown source {source!r}: expected one of {sorted(PREFIXES)}") from None
    if not source_name:
        raise LayoutError(f"empty {source} name")
    body = _body(source_name)
    name = f"{prefix}{body}" if body else prefix.rstrip("-")
    suffix = ""
    if disambiguate or not body or len(name) > MAX_NAME_LENGTH:
        suffix = short_hash(f"{source}:{source_name}")
    name = _fit(name, suffix)
    assert is_dns1123_subdomain(name), name
    return name


def assign_names(items: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Names for many ``(source, source_name)`` items at once, with collisions resolved.

    Every item whose plain name is shared with another item gets the hash suffix; items with a
    unique plain name keep it. The result does not depend on the order of ``items``.
    """
    keys = sorted(set(items))
    plain = {key: kubernetes_name(*key) for key in keys}
    owners: dict[str, list[tuple[str, str]]] = {}
    for key, name in plain.items():
        owners.setdefault(name, []).append(key)
    result = {}
    for key, name in plain.items():
        result[key] = kubernetes_name(*key, disambiguate=True) if len(owners[name]) > 1 else name
    seen: dict[str, tuple[str, str]] = {}
    for key, name in sorted(result.items()):
        if name in seen:
            raise NameCollisionError(
                f"{key[0]} item {key[1]!r} and {seen[name][0]} item {seen[name][1]!r} both map to {name!r}"
            )
        seen[name] = key
    return result


def is_dns1123_subdomain(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME_LENGTH and bool(_SUBDOMAIN.match(name))


def is_dns1123_label(name: str) -> bool:
    return 0 < len(name) <= 63 and bool(_LABEL.match(name))


def ecs_cluster_namespace(cluster: str, region: str) -> str:
    """KECS's namespace for an ECS cluster: ``<cluster-name>-<region>``."""
    return f"{cluster}-{region}"


def reader_name(namespace: str) -> str:
    """Name of a namespace's ServiceAccount and of its RoleBinding (and Role) in the master namespace."""
    return f"kecs-secret-reader-{namespace}"


def cluster_role_name(master_namespace: str) -> str:
    """The shared read-only ClusterRole: ``kecs-system-secret-reader`` for the default master namespace.

    Named after the master namespace so that two stacks with different master namespaces on one
    cluster never fight over one ClusterRole.
    """
    return f"{master_namespace}-secret-reader"
