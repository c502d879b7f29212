"""Summarise py-spy profiles (collapsed stacks, as `python -m bench.run --profile DIR` writes them), and
the Pulumi CLI's own CPU profiles (as `python -m bench.run --engine-profile DIR` writes them).

    .venv/bin/python -m bench.profile DIR/ours-500-10-50-tuned-0-no-change-preview.txt [--top 25]
    .venv/bin/python -m bench.profile --engine DIR [--phase no-change-preview] [--size 500-10-50]

Per Python process of the run (the program, the dynamic provider): samples, and where they go:
- "by area": each sample is charged to the innermost frame of this project's code on its stack
  (components/, providers/, kecs_secrets/, __main__.py), or else to the module of its innermost frame
  (pulumi.runtime.rpc, asyncio, grpc, ...): what our code costs, including what it calls;
- "self": the functions that were running (leaf frames), summed over all stacks.
"""

from __future__ import annotations

import argparse
import re
import subprocess
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


# Where the engine's CPU goes, by what it was doing: each sample is charged to the first area (in this
# order) that any frame of its stack belongs to, so work done for an area (allocation, JSON, copies,
# garbage made there) counts for that area; what is left is the background garbage collector and the rest.
ENGINE_AREAS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (area, re.compile(pattern))
    for area, pattern in (
        ("automatic debug log (pulumi/pulumi#23731)", r"util/logging\.VerboseLogger|pkg/v3/logging\.|log/slog\."),
        ("engine events (copies of each step's state)", r"engine\.NewEvent|engine\.\(\*eventEmitter\)"),
        ("event log and display", r"backend/display\."),
        ("state: load", r"diyStack\)\.Snapshot|DeserializeDeployment|diyBackend\)\.getSnapshot"),
        ("state: save", r"SnapshotManager|SerializeDeployment|saveSnapshot"),
        ("secrets (encrypt, decrypt)", r"pkg/v3/secrets|Crypter|crypter"),
        ("provider calls (Check, Diff, Create, Update, Read, Delete)", r"resource/plugin\.\(\*provider\)\."),
        ("program registrations (RegisterResource and the like)", r"deploy\.\(\*resmon\)\."),
        ("step generation (diffs, goals)", r"deploy\.\(\*stepGenerator\)"),
        ("step execution", r"deploy\.\(\*stepExecutor\)|deploy\.\(\*\w+Step\)"),
        ("gRPC transport", r"google\.golang\.org/grpc"),
        ("background garbage collection", r"runtime\.gcBgMarkWorker|runtime\.bgsweep|runtime\.bgscavenge"),
    )
)


def engine_areas(path: Path) -> tuple[float, dict[str, float]]:
    """CPU seconds of one `pulumi --profiling` CPU profile, in total and per ENGINE_AREAS area (`go tool pprof -traces`)."""
    text = subprocess.run(["go", "tool", "pprof", "-traces", str(path)], check=True, capture_output=True, text=True).stdout
    seconds: Counter = Counter()
    for block in text.split("-----------+-------------------------------------------------------")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        value, _, leaf = lines[0].strip().partition(" ")
        frames = [leaf.strip(), *(line.strip() for line in lines[1:])]
        amount = float(value[:-2]) / 1000 if value.endswith("ms") else float(value.rstrip("s"))
        area = next((name for name, pattern in ENGINE_AREAS if any(pattern.search(f) for f in frames)), "other")
        seconds[area] += amount
    return sum(seconds.values()), dict(seconds)


def engine_profiles(directory: Path, size: str, phase: str) -> dict[str, list[Path]]:
    """Program label -> the CPU profiles of one phase: the main CLI process first (the largest profile), then any
    other `pulumi` command that ran during the phase (e.g. the program's `pulumi stack export`)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(directory.glob(f"*-{size}-*-{phase}.*.cpu")):
        label = path.name.split(f"-{size}-", 1)[0]
        found.setdefault(label, []).append(path)
    return {label: sorted(paths, key=lambda p: -p.stat().st_size) for label, paths in found.items()}


def engine_summary(directory: Path, size: str, phases: list[str]) -> str:
    lines = [f"# The Pulumi CLI's CPU seconds by area, {size} ({directory})"]
    for phase in phases:
        profiles = engine_profiles(directory, size, phase)
        if not profiles:
            continue
        labels = sorted(profiles, key=lambda label: (label != "ours", label))
        columns = {label: engine_areas(profiles[label][0]) for label in labels}
        others = {label: sum(engine_areas(p)[0] for p in profiles[label][1:]) for label in labels}
        lines.append(f"\n## {phase}\n")
        lines.append("| area | " + " | ".join(labels) + (" | difference |" if len(labels) == 2 else " |"))
        lines.append("|---|" + "---|" * (len(labels) + (len(labels) == 2)))
        areas = [name for name, _ in ENGINE_AREAS] + ["other"]
        rows = [(area, [columns[label][1].get(area, 0.0) for label in labels]) for area in areas]
        rows.append(("**main CLI process**", [columns[label][0] for label in labels]))
        rows.append(("other `pulumi` commands in the phase", [others[label] for label in labels]))
        for area, values in rows:
            diff = f" | {values[0] - values[1]:+.2f}" if len(values) == 2 else ""
            lines.append(f"| {area} | " + " | ".join(f"{v:.2f}" for v in values) + diff + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--engine", type=Path, metavar="DIR", help="summarise the CLI profiles in DIR (bench.run --engine-profile)")
    parser.add_argument("--size", default="500-10-50", help="with --engine: the N-M-K of the profiles")
    parser.add_argument("--phase", nargs="+", default=["first-up", "no-change-preview", "no-change-up", "up-after-1-change"])
    args = parser.parse_args()
    if args.engine:
        print(engine_summary(args.engine, args.size, args.phase))
    for path in args.files:
        print(summarise(path, args.top))


if __name__ == "__main__":
    main()
