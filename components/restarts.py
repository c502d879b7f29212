"""What ``kecs:ServiceRestarts`` watches: per master a service reads, its version and the fingerprints of the keys read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pulumi

from kecs_secrets.layout import MasterPlan
from kecs_secrets.model import WHOLE_VALUE_KEY
from kecs_secrets.restarts import RestartTarget

__all__ = ["watched_values"]


def watched_values(
    targets: Iterable[RestartTarget],
    masters: Iterable[MasterPlan],
    fingerprints: pulumi.Output[Mapping[str, str]],
    key_fingerprints: pulumi.Output[Mapping[str, Mapping[str, str]]],
) -> pulumi.Output:
    """master -> ``{"version", "prints": {key: fingerprint}}`` for every (master, key) some target reads.

    ``value``'s fingerprint is the master's own (the whole value changes exactly when any part does); a JSON
    key's is its own, so a change of another key of the same secret leaves it as it was.
    """
    keys: dict[str, set[str]] = {}
    for target in targets:
        for master, key in target.selects:
            keys.setdefault(master, set()).add(key)
    versions = {m.name: m.item.version for m in masters if m.name in keys}

    def seen(prints: list[Mapping]) -> dict[str, dict]:
        whole, by_key = prints[0] or {}, prints[1] or {}

        def print_of(master: str, key: str) -> str | None:
            return whole.get(master) if key == WHOLE_VALUE_KEY else (by_key.get(master) or {}).get(key)

        return {
            master: {"version": versions[master], "prints": {k: print_of(master, k) for k in sorted(keys[master])}}
            for master in sorted(keys)
            if master in versions
        }

    return pulumi.Output.all(fingerprints, key_fingerprints).apply(seen)
