"""A focused update: the part of the layout one update of the watch mode converges, the rest left as the state has it.

The watch turns a pod's new demand into a focus on the replicas its namespace lacks (or, in a namespace that holds
none yet, on the namespace: its replicas and RBAC) and a rotated value into a focus on its master (its replicas in
every namespace). The program
still plans the whole layout from the same inputs and gives each object it registers exactly the inputs a
full update would; it only registers fewer objects, and the update targets exactly the objects of the focus
(kecs_secrets/targets.py names them). So a focused update makes, changes and deletes what a full update would
for those objects, and nothing else: the follow-up full update finds nothing to do there.

The focus travels from the watch to the program in one environment variable (``FOCUS_ENV``), as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kecs_secrets.errors import ConfigError

__all__ = ["FOCUS_ENV", "Focus"]

FOCUS_ENV = "KECS_SECRETS_FOCUS"


@dataclass(frozen=True)
class Focus:
    """Namespaces whose replicas and RBAC converge, masters that converge with their replicas everywhere, and
    single replicas (namespace, master) that converge alone (their namespace's other objects left as they are)."""

    namespaces: frozenset[str] = frozenset()
    masters: frozenset[str] = frozenset()
    replicas: frozenset[tuple[str, str]] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.masters or self.replicas)

    def __or__(self, other: Focus) -> Focus:
        return Focus(self.namespaces | other.namespaces, self.masters | other.masters, self.replicas | other.replicas)

    def covers_replica(self, namespace: str, master: str) -> bool:
        return namespace in self.namespaces or master in self.masters or (namespace, master) in self.replicas

    def masters_wanted(self, replicas_by_namespace: Mapping[str, Iterable[str]]) -> frozenset[str]:
        """The masters a focused update registers: those the focused namespaces receive (their RBAC waits for them).
        A focused master's own object waits for the full update that follows (kecs_secrets/targets.py)."""
        return frozenset(name for ns in self.namespaces for name in replicas_by_namespace.get(ns, ()))

    def to_env(self) -> str:
        return json.dumps({"namespaces": sorted(self.namespaces), "masters": sorted(self.masters),
                           "replicas": [list(pair) for pair in sorted(self.replicas)]}, separators=(",", ":"))

    @classmethod
    def from_env(cls, text: str | None) -> Focus | None:
        """The focus in ``FOCUS_ENV`` (None when unset or empty: a full update). Anything else is a ConfigError."""
        if not text:
            return None
        try:
            raw = json.loads(text)
        except ValueError:
            raise ConfigError(f"{FOCUS_ENV}: not JSON") from None
        if not isinstance(raw, dict) or set(raw) - {"namespaces", "masters", "replicas"}:
            raise ConfigError(f"{FOCUS_ENV}: expected an object with 'namespaces', 'masters' and 'replicas' lists")
        parts = []
        for key in ("namespaces", "masters"):
            values = raw.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
                raise ConfigError(f"{FOCUS_ENV}.{key}: expected a list of names")
            parts.append(frozenset(values))
        pairs = raw.get("replicas", [])
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) and v for v in p) for p in pairs
        ):
            raise ConfigError(f"{FOCUS_ENV}.replicas: expected a list of [namespace, master] pairs")
        focus = cls(*parts, frozenset((ns, master) for ns, master in pairs))
        return focus or None
