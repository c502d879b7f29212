#!/usr/bin/env python3
"""Draw a benchmark's results: time per phase against size for ours, the floor and the direct script, and ours ÷ floor.

    .venv/bin/python -m bench.plot [bench/results.md] [--out bench/results.svg]

Reads the table `python -m bench.run` writes (its tuned rows: medians of the wall time per phase) and writes one
SVG beside it: a panel per phase (seconds, log scale) and a panel of ours ÷ floor per phase (the ratio cells).
`make bench` draws it after every size; this module redraws it from a results file alone. The SVG is the
same for the same table (no date, fixed ids), so a redraw of committed results changes nothing.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

__all__ = ["Results", "draw", "parse"]

OURS, FLOOR, DIRECT, RATIO = "ours", "floor", "direct script", "**ours ÷ floor**"
SERIES = {OURS: ("#1f77b4", "o"), FLOOR: ("#7f7f7f", "s"), DIRECT: ("#2ca02c", "^")}
_SECONDS = re.compile(r"^\s*(?:\*\*)?([0-9.]+)(?: s|x)")
_DATE = re.compile(r"^Benchmark of (\S+)")


@dataclass
class Results:
    """The tuned rows of a results table: per size (N, M, K) and row label, the first number of each phase's cell."""

    phases: list[str]
    sizes: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    date: str = ""

    def series(self, label: str, phase: str) -> list[float | None]:
        return [self.cells.get((size, label), {}).get(phase) for size in self.sizes]


def parse(text: str) -> Results:
    """The tuned rows of the first table in `bench/results.md` (cells "71.9 s / 1209 MiB", "**1.00x** / 1.19x", "16.2 s",
    "-"); a file may hold further runs below it (a checkpoints comparison run on its own), which are not drawn."""
    date = next((m.group(1) for m in map(_DATE.match, text.splitlines()) if m), "")
    results: Results | None = None
    for line in text.splitlines():
        if results is not None and results.sizes and not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| N, M, K |"):
            results = Results(phases=cells[3:-1], date=date)
        elif results is not None and line.startswith("|") and len(cells) == len(results.phases) + 4 and cells[1] == "tuned":
            size, label = cells[0], cells[2]
            if size not in results.sizes:
                results.sizes.append(size)
            results.cells[(size, label)] = {
                phase: float(m.group(1)) for phase, cell in zip(results.phases, cells[3:-1], strict=True) if (m := _SECONDS.match(cell))
            }
    if results is None or not results.sizes:
        raise ValueError("no tuned rows in the results table (expected the table `python -m bench.run` writes)")
    return results


def draw(results: Results, out: Path) -> None:
    """One SVG: a panel per phase (ours, the floor, the direct script; seconds, log scale), one of ours ÷ floor."""
    with matplotlib.rc_context({"svg.hashsalt": "kecs-secrets-bench", "svg.fonttype": "none", "font.size": 9}):
        figure = Figure(figsize=(12, 7.5), layout="constrained")
        axes = figure.subplots(2, 3).flatten()
        x = list(range(len(results.sizes)))
        for ax, phase in zip(axes, results.phases, strict=False):
            for label, (color, marker) in SERIES.items():
                ys = results.series(label, phase)
                points = [(i, y) for i, y in zip(x, ys, strict=True) if y]
                if points:
                    ax.plot(*zip(*points, strict=True), marker=marker, color=color, label=label)
            ax.set_title(phase)
            ax.set_yscale("log")
            ax.set_ylabel("wall time (s)")
        ratio_ax = axes[len(results.phases)] if len(results.phases) < len(axes) else figure.add_subplot()
        for phase in results.phases:
            ys = results.series(RATIO, phase)
            points = [(i, y) for i, y in zip(x, ys, strict=True) if y is not None]
            if points:
                ratio_ax.plot(*zip(*points, strict=True), marker="o", label=phase)
        ratio_ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        ratio_ax.set_title("ours ÷ floor (wall time)")
        ratio_ax.set_ylabel("ratio")
        ratio_ax.legend(fontsize=7)
        for ax in axes:
            ax.set_xticks(x, results.sizes)
            ax.set_xlabel("N, M, K")
            ax.grid(True, alpha=0.3)
        axes[0].legend()
        figure.suptitle(f"kecs-secrets benchmark{' of ' + results.date if results.date else ''}: tuned runs, medians "
                        "(ours = this program, floor = a plain Pulumi program making the same objects)")
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, format="svg", metadata={"Date": None})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=str(Path(__file__).parent / "results.md"), help="default: bench/results.md")
    parser.add_argument("--out", help="default: the results file with .svg")
    args = parser.parse_args(argv)
    source = Path(args.results)
    try:
        draw(parse(source.read_text(encoding="utf-8")), Path(args.out) if args.out else source.with_suffix(".svg"))
    except (OSError, ValueError) as err:
        print(f"error: {source}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
