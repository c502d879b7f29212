"""Ownership marks: what makes an object this stack's own, in a way a copy of it cannot fake.

The stack annotation (``kecs-secrets.io/stack: <project>/<stack>``) is predictable and travels with
every ``kubectl get -o yaml``, so it only says whom an object claims to belong to. The mark
(``kecs-secrets.io/owner-mark``) is an HMAC-SHA256, under a key derived from the stack's own secret
key (the value reader's, kept only in the state as a Pulumi secret), of the stack, the object's kind,
namespace and name. A copy of a marked object under another kind, namespace or name carries a mark
that does not verify there, and nobody without the state's secrets can make a valid one.

The key is only known inside the dynamic providers (and to the program, as a secret Output): the
program's preflight reads the state without decrypting it, so it compares marks with the ones its
state recorded, and whatever deletes by discovery (``kecs:LeftoverSweep``) verifies under the key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from kecs_secrets.model import StateObject
from kecs_secrets.naming import cluster_role_name, is_dns1123_label, is_dns1123_subdomain, reader_name

__all__ = ["ANNOTATION_MARK", "MARK_HEX_LENGTH", "mark_of", "mark_verifies", "naming_could_produce", "ownership_mark", "recorded_marks"]

ANNOTATION_MARK = "kecs-secrets.io/owner-mark"
MARK_HEX_LENGTH = 32  # HMAC-SHA256 truncated to 128 bits (RFC 2104 allows truncation to half the output)
# Fingerprints are HMACs of messages that start with a data key's first character ([-._a-zA-Z0-9]); marks use a
# key derived with, and messages starting with, a byte no data key holds, so no fingerprint is ever a mark.
_KEY_LABEL = b"\x01kecs-secrets ownership mark key v1"
_MESSAGE_PREFIX = b"\x01kecs-secrets ownership mark v1\x00"
_MASTER_PREFIXES = ("sm-", "ssm-")


def _mark_key(key: bytes) -> bytes:
    return hmac.new(key, _KEY_LABEL, hashlib.sha256).digest()


def ownership_mark(key: bytes, stack: str, kind: str, namespace: str, name: str) -> str:
    """The mark of object ``kind namespace/name`` (namespace "" when cluster-scoped) of ``stack`` under the stack's key."""
    message = _MESSAGE_PREFIX + "\x00".join((stack, kind, namespace, name)).encode("utf-8")
    return hmac.new(_mark_key(key), message, hashlib.sha256).hexdigest()[:MARK_HEX_LENGTH]


def mark_verifies(key: bytes, stack: str, kind: str, namespace: str, name: str, mark: str) -> bool:
    """Whether ``mark`` is the one ``stack`` makes for exactly this kind, namespace and name (constant time)."""
    if not key or not isinstance(mark, str) or len(mark) != MARK_HEX_LENGTH:
        return False
    return hmac.compare_digest(ownership_mark(key, stack, kind, namespace, name), mark)


def mark_of(metadata: Mapping[str, Any]) -> str:
    """The mark an object's metadata carries, "" when none."""
    mark = (metadata.get("annotations") or {}).get(ANNOTATION_MARK, "")
    return mark if isinstance(mark, str) else ""


def recorded_marks(state: Iterable[StateObject]) -> dict[tuple[str, str, str], str]:
    """The mark the stack gave each object its state holds (from what the last run asked for), by (kind, namespace, name)."""
    return {obj.key: obj.annotations[ANNOTATION_MARK] for obj in state if obj.annotations.get(ANNOTATION_MARK)}


def naming_could_produce(kind: str, namespace: str, name: str, master_namespace: str) -> bool:
    """Whether the stack's naming could give this name to an object of this kind in this namespace.

    Masters and replicas are Secrets or ConfigMaps named ``sm-…``/``ssm-…``; a namespace's reader is the
    ServiceAccount ``kecs-secret-reader-<namespace>`` there and its RoleBinding (and Role) of that name in
    the master namespace; the shared ClusterRole is named after the master namespace.
    """
    if kind in ("Secret", "ConfigMap"):
        return bool(namespace) and name.startswith(_MASTER_PREFIXES) and is_dns1123_subdomain(name)
    if kind == "ServiceAccount":
        return bool(namespace) and namespace != master_namespace and name == reader_name(namespace)
    if kind in ("RoleBinding", "Role"):
        prefix = reader_name("")
        return namespace == master_namespace and name.startswith(prefix) and is_dns1123_label(name[len(prefix):])
    if kind == "ClusterRole":
        return not namespace and name == cluster_role_name(master_namespace)
    return False
