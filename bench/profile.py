"""Summarise py-spy profiles (collapsed stacks, as `python -m bench.run --profile DIR` writes them).

    .venv/bin/python -m bench.profile DIR/ours-500-10-50-tuned-0-no-change-preview.txt [--top 25]

Per Python process of the run (the program, the dynamic provider): samples, and where they go:
- "by area": each sample is charged to the innermost frame of this project's code on its stack
  (components/, providers/, kecs_secrets/, __main__.py), or else to the module of its innermost frame
  (pulumi.runtime.rpc, asyncio, grpc, ...): what our code costs, including what it calls;
- "self": the functions that were running (leaf frames), summed over all stacks.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from bench.run import process_kind

OUR_CODE = re.compile(r"\((?:.*/)?(components/[^:]+|providers/[^:]+|kecs_secrets/[^:]+|__main__\.py|bench/floor/[^:]+|echo\.py):\d+\)$")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::\d+)?\)$")


def module_of(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "lib/python3.11/", "lib/python3.12/", "lib/python3.13/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return path.removesuffix(".py").replace("/", ".").lstrip("<").rstrip(">")


def function_of(frame: str) -> str:
    match = FRAME.match(frame)
    return f"{match.group('func')} ({module_of(frame)})" if match else frame


def summarise(path: Path, top: int) -> str:
    per_process: dict[str, Counter] = {}
    areas: dict[str, Counter] = {}
    leaves: dict[str, Counter] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        processes = [f for f in frames if f.startswith("process ")]
        code = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not processes or not code:
            continue
        cmdline = processes[-1].split(":", 1)[1].strip('"')
        kind = process_kind(cmdline)
        if kind == "other":
            continue  # the benchmark itself
        per_process.setdefault(kind, Counter())["samples"] += int(count)
        ours = [f for f in code if OUR_CODE.search(f)]
        area = f"ours: {function_of(ours[-1])}" if ours else module_of(code[-1])
        areas.setdefault(kind, Counter())[area] += int(count)
        leaves.setdefault(kind, Counter())[function_of(code[-1])] += int(count)
    lines = [f"# {path.name}"]
    for kind, counter in sorted(per_process.items(), key=lambda kv: -kv[1]["samples"]):
        total = counter["samples"]
        lines.append(f"\n## {kind}: {total} samples")
        ours_total = sum(n for area, n in areas[kind].items() if area.startswith("ours: "))
        lines.append(f"\nby area (this project's code and what it calls: {100 * ours_total / total:.0f}%):")
        lines += [f"  {100 * n / total:5.1f}%  {area}" for area, n in areas[kind].most_common(top)]
        lines.append("\nself:")
        lines += [f"  {100 * n / total:5.1f}%  {leaf}" for leaf, n in leaves[kind].most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for path in args.files:
        print(summarise(path, args.top))


if __name__ == "__main__":
    main()
