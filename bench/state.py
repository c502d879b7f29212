"""Compare two checkpoints (as `python -m bench.run --keep-states DIR` keeps them after each first `up`):
where the bytes of one state go beyond the other's, and the first `up`'s timeline from the state's own
``created`` stamps.

    .venv/bin/python -m bench.state DIR/ours-1000-20-100-tuned-0.json DIR/floor-1000-20-100-tuned-0.json

- "by type": bytes of each resource type (compact JSON, as the file backend writes it), and the difference;
- "per Secret": the difference per field, averaged over the Secrets of each (the objects both programs make);
- "first up": seconds from the first recorded resource to the value reader, the first and the last Secret
  and the last resource: when the objects started and stopped being created.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SECRET = "kubernetes:core/v1:Secret"
READER = "pulumi-python:dynamic/kecs:SourceValues"


def resources(checkpoint: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(((checkpoint.get("checkpoint") or {}).get("latest") or {}).get("resources") or [])


def size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def by_type(items: Sequence[Mapping[str, Any]]) -> Counter:
    return Counter({t: sum(size(r) for r in items if r["type"] == t) for t in {r["type"] for r in items}})


def per_secret_fields(items: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    secrets = [r for r in items if r["type"] == SECRET]
    fields: Counter = Counter()
    for r in secrets:
        for key, value in r.items():
            fields[key] += size(value)
    return {k: v / len(secrets) for k, v in fields.items()} if secrets else {}


def stamp(text: str) -> dt.datetime:
    """An RFC 3339 stamp as Go writes it (up to nanoseconds, trailing zeros dropped), to the microsecond."""
    whole, _, fraction = text.removesuffix("Z").partition(".")
    return dt.datetime.fromisoformat(f"{whole}.{(fraction + '000000')[:6]}")


def timeline(items: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Seconds after the first ``created`` stamp of the state: reader, first and last Secret, last resource."""
    stamps = [(stamp(r["created"]), r["type"]) for r in items if r.get("created")]
    if not stamps:
        return {}
    start = min(t for t, _ in stamps)

    def after(t: dt.datetime) -> float:
        return round((t - start).total_seconds(), 2)

    secrets = sorted(t for t, kind in stamps if kind == SECRET)
    marks = {"last resource": after(max(t for t, _ in stamps))}
    if secrets:
        marks |= {"first Secret": after(secrets[0]), "last Secret": after(secrets[-1])}
    readers = [t for t, kind in stamps if kind == READER]
    if readers:
        marks["value reader"] = after(readers[0])
    return marks


def report(ours_path: Path, floor_path: Path) -> str:
    ours, floor = (json.loads(p.read_text(encoding="utf-8")) for p in (ours_path, floor_path))
    a, b = resources(ours), resources(floor)
    total_a, total_b = size(ours), size(floor)
    lines = [f"# {ours_path.name} against {floor_path.name}", "",
             f"total: {total_a:,} B against {total_b:,} B ({total_a / total_b:.3f}x, {total_a - total_b:+,} B)", "",
             "## by type (bytes, difference)", ""]
    types_a, types_b = by_type(a), by_type(b)
    for kind in sorted(set(types_a) | set(types_b), key=lambda k: -(types_a[k] - types_b[k])):
        lines.append(f"- {kind}: {types_a[kind]:,} / {types_b[kind]:,} ({types_a[kind] - types_b[kind]:+,})")
    fields_a, fields_b = per_secret_fields(a), per_secret_fields(b)
    lines += ["", "## per Secret (bytes, average, difference)", ""]
    for key in sorted(set(fields_a) | set(fields_b), key=lambda k: -(fields_a.get(k, 0) - fields_b.get(k, 0))):
        mine, theirs = fields_a.get(key, 0.0), fields_b.get(key, 0.0)
        lines.append(f"- {key}: {mine:.1f} / {theirs:.1f} ({mine - theirs:+.1f})")
    lines += ["", "## first up (seconds after the first resource was recorded)", ""]
    for label, marks in ((ours_path.name, timeline(a)), (floor_path.name, timeline(b))):
        lines.append(f"- {label}: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(marks.items(), key=lambda kv: kv[1])))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ours", type=Path)
    parser.add_argument("floor", type=Path)
    args = parser.parse_args()
    print(report(args.ours, args.floor))


if __name__ == "__main__":
    main()
