"""Every Kubernetes name the project makes: masters and replicas, reader RBAC objects, ECS cluster namespaces.

Every name the project produces (masters, replicas, what a pod references, what the policy pack
expects) comes from here, so they can never disagree (KECS had three functions that did).

Master and replica names follow KECS (nandemo-ya/kecs at 02bca9b,
controlplane/internal/converters/task_converter.go, ``getK8sSecretName``), because the pods KECS
creates reference exactly that name through ``secretKeyRef``:

- :func:`kecs_reference_name` is KECS's name, character for character. Secrets Manager: lowercase,
  every ``/`` and every ``_`` becomes ``-`` (one by one: runs are kept, ``a//b`` gives ``a--b``),
  leading and trailing ``-`` trimmed, prefix ``sm-``; ``.``, ``+``, ``=``, ``@`` are kept.
  SSM: ``/`` trimmed at both ends, ``/`` and ``_`` become ``-``, lowercase, prefix ``ssm-``.
- A master gets KECS's name whenever that name is a valid DNS-1123 subdomain of at most 253
  characters and no other item has the same KECS name.
- Otherwise (KECS keeps characters Kubernetes refuses: ``+``, ``=``, ``@``, ``..``, ``.-``, a leading
  ``.``; the name is too long; or two items share one KECS name) our own rule applies: the prefix and
  the *mended* rest of KECS's name (:func:`_mended`: every character outside ``[a-z0-9.-]`` becomes
  ``-``; the rest is cut at each ``.``, each part loses its leading and trailing ``-``, empty parts are
  dropped, the parts are joined with ``.`` again), cut so that the result fits in 253 characters, then ``-`` and
  8 hex digits of sha256(``<source>:<name>``); a further round uses sha256(``<source>:<name>:<round>``).
  Such a name always ends in that hash, so it is never a guess at what some pod meant.
- :func:`assign_names` gives names to a whole inventory. A name once given is kept: every item that
  already holds a name (the stack's state says which, and it is one this rule can give that item) keeps
  it as long as the item exists. The other (new) items get KECS's name if they can have it and nobody
  holds it, then the hashed forms, round by round; a name another item holds or wants in the same round
  is never given twice (on a fresh stack, an item named like another item's hashed name keeps its own
  KECS name, the other moves to the next round). A new item left without a name after
  :data:`MAX_ROUNDS` rounds is left out (the layout skips it with a warning); nothing is ever refused.
  The result depends on the sets of items and held names only, never on their order.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kecs_secrets.errors import LayoutError
from kecs_secrets.model import SECRETSMANAGER, SSM, WHOLE_VALUE_KEY

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_ROUNDS",
    "PREFIXES",
    "KecsSecretRef",
    "assign_names",
    "cluster_role_name",
    "ecs_cluster_namespace",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "kecs_name_problem",
    "kecs_reference_name",
    "kecs_secret_key_ref",
    "kubernetes_name",
    "possible_names",
    "reader_name",
    "short_hash",
]

MAX_NAME_LENGTH = 253
HASH_LENGTH = 8
# How many hashed forms a new item may try before it is skipped (each round is a fresh hash: only items
# named on purpose like its earlier rounds' names can take them, one item per round).
MAX_ROUNDS = 16
PREFIXES: Mapping[str, str] = {SECRETSMANAGER: "sm-", SSM: "ssm-"}

_OUTSIDE_SUBDOMAIN = re.compile(r"[^a-z0-9.-]")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# What KECS takes for the random suffix of a Secrets Manager ARN's name part (it strips it, once).
_KECS_ARN_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}\Z")


def short_hash(text: str) -> str:
    """8 hex digits of sha256(text): short, deterministic, independent of any ordering."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def _prefix(source: str) -> str:
    try:
        return PREFIXES[source]
    except KeyError:
        raise LayoutError(f"unknown source {source!r}: expected one of {sorted(PREFIXES)}") from None


def kecs_reference_name(source: str, source_name: str) -> str:
    """The name KECS's converter references for this item, exactly (it may not be a valid Kubernetes name).

    For Secrets Manager this is what KECS derives from the item's full ARN: it drops the random
    ``-XXXXXX`` of the ARN, which leaves the item's own name.
    """
    prefix = _prefix(source)
    if source == SECRETSMANAGER:
        return prefix + source_name.lower().replace("/", "-").replace("_", "-").strip("-")
    return prefix + source_name.strip("/").replace("/", "-").replace("_", "-").lower()


def kecs_name_problem(name: str) -> str | None:
    """Why ``name`` (KECS's reference) cannot be a Kubernetes object name, or None if it can."""
    if is_dns1123_subdomain(name):
        return None
    if len(name) > MAX_NAME_LENGTH:
        return f"it has {len(name)} characters (Kubernetes allows {MAX_NAME_LENGTH})"
    refused = sorted(set(_OUTSIDE_SUBDOMAIN.findall(name)))
    if refused:
        return f"Kubernetes names cannot contain {', '.join(repr(c) for c in refused)}"
    return "Kubernetes names need letters or digits on both sides of every '.' and at both ends"


def _mended(name: str) -> str:
    """A valid DNS-1123 subdomain (of any length) made from ``name`` with as few changes as possible."""
    parts = (part.strip("-") for part in _OUTSIDE_SUBDOMAIN.sub("-", name.lower()).split("."))
    return ".".join(part for part in parts if part)


def _fit(name: str, suffix: str) -> str:
    """``name-suffix``, cutting ``name`` so that the result has at most 253 characters."""
    room = MAX_NAME_LENGTH - len(suffix) - 1
    return f"{name[:room].rstrip('-.')}-{suffix}"


def kubernetes_name(source: str, source_name: str, *, round: int = 0) -> str:
    """The name of an item's master and replicas when no other item is in its way (``round`` 0).

    Round 0 is KECS's reference name if that is a valid Kubernetes name, else round 1. Round ``r`` >= 1
    is the mended KECS name followed by ``-`` and a hash of the source, the name and the round.
    Every result is a valid DNS-1123 subdomain of at most 253 characters.
    """
    if not source_name:
        raise LayoutError(f"empty {source} name")
    kecs = kecs_reference_name(source, source_name)
    if round == 0 and is_dns1123_subdomain(kecs):
        return kecs
    if not 0 <= round <= MAX_ROUNDS:
        raise LayoutError(f"name round {round} out of range 0..{MAX_ROUNDS}")
    seed = f"{source}:{source_name}" if round <= 1 else f"{source}:{source_name}:{round}"
    prefix = PREFIXES[source]
    name = _fit(prefix + _mended(kecs[len(prefix):]), short_hash(seed))
    assert is_dns1123_subdomain(name), name
    return name


def possible_names(source: str, source_name: str) -> tuple[str, ...]:
    """Every name :func:`assign_names` may give this item (the policy pack checks masters against them)."""
    return tuple(dict.fromkeys(kubernetes_name(source, source_name, round=r) for r in range(MAX_ROUNDS + 1)))


def assign_names(
    items: Iterable[tuple[str, str]], held: Mapping[tuple[str, str], str] | None = None
) -> dict[tuple[str, str], str]:
    """Names for many ``(source, source_name)`` items at once, unique, whatever names the source holds.

    ``held`` maps items to the name their master already has (from the stack's state).
    1. Every item that holds a name this rule can give it (:func:`possible_names`), and that no other
       item claims, keeps it: a new item never takes, moves or blocks an existing item's name.
    2. Every other item whose KECS name is valid, held by nobody and shared with no other item gets it.
    3. The rest (invalid KECS name, a KECS name another item holds, or one two items share: which of
       them a pod means cannot be known, so a new one never gets it) take their round-1 hashed name,
       then round 2, ...: a candidate another item holds or wants in the same round is skipped to the
       next round.
    4. An item still without a name after round :data:`MAX_ROUNDS` is left out of the result.
    The result depends on the sets of items and held names only, not on their order.
    """
    keys = sorted(set(items))
    kecs = {key: kecs_reference_name(*key) for key in keys}
    claims: dict[str, list[tuple[str, str]]] = {}
    for key in keys:
        name = (held or {}).get(key)
        # The KECS name first: what almost every master holds, without hashing every round.
        if name is not None and ((name == kecs[key] and is_dns1123_subdomain(name)) or name in possible_names(*key)):
            claims.setdefault(name, []).append(key)
    holder = {name: claimants[0] for name, claimants in claims.items() if len(claimants) == 1}
    incumbents = set(holder.values())
    sharing = Counter(kecs.values())
    pending = []
    for key in keys:
        if key in incumbents:
            continue
        if is_dns1123_subdomain(kecs[key]) and sharing[kecs[key]] == 1 and kecs[key] not in holder:
            holder[kecs[key]] = key
        else:
            pending.append(key)
    for round in range(1, MAX_ROUNDS + 1):
        if not pending:
            break
        wanted = {key: kubernetes_name(*key, round=round) for key in pending}
        count = Counter(wanted.values())
        still = []
        for key in pending:
            if count[wanted[key]] == 1 and wanted[key] not in holder:
                holder[wanted[key]] = key
            else:
                still.append(key)
        pending = still
    return {key: name for name, key in holder.items()}


@dataclass(frozen=True)
class KecsSecretRef:
    """What a KECS pod's env var holds for one ``valueFrom``: ``secretKeyRef{name, key}`` in the pod's namespace."""

    source: str  # secretsmanager | ssm
    arn_name: str  # the name KECS reads from the ARN (for Secrets Manager: after dropping what looks like the suffix)
    name: str
    key: str


def kecs_secret_key_ref(value_from: str) -> KecsSecretRef | None:
    """The ``secretKeyRef`` KECS's ``convertSecrets`` makes of a ``valueFrom``, or None when KECS passes none on.

    KECS passes on ARNs only (a ``valueFrom`` with fewer than 6 ``:`` parts, a bare name, is dropped)
    and only of secretsmanager (name part: field 7, key: field 8 unless empty or ``*``, else ``value``)
    and ssm (the path after ``parameter/``, key ``value``, always a Secret).
    """
    parts = value_from.split(":")
    if len(parts) < 6:
        return None
    if parts[2] == SECRETSMANAGER:
        if len(parts) < 7:
            return None
        arn_name = _KECS_ARN_SUFFIX.sub("", parts[6], count=1)
        key = parts[7] if len(parts) > 7 and parts[7] not in ("", "*") else WHOLE_VALUE_KEY
        return KecsSecretRef(SECRETSMANAGER, arn_name, kecs_reference_name(SECRETSMANAGER, arn_name), key)
    if parts[2] == SSM:
        resource = parts[5]
        if resource.startswith("parameter/"):
            path = resource[len("parameter/"):]
        elif resource.startswith("parameter") and len(parts) > 6:
            path = parts[6]
        else:
            path = resource
        return KecsSecretRef(SSM, path, kecs_reference_name(SSM, path), WHOLE_VALUE_KEY)
    return None


def is_dns1123_subdomain(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME_LENGTH and bool(_SUBDOMAIN.fullmatch(name))


def is_dns1123_label(name: str) -> bool:
    return 0 < len(name) <= 63 and bool(_LABEL.fullmatch(name))


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
