"""The watch benchmark's figures and report (bench/watch.py, bench/sections.py), from made-up figures: no run needed."""

from __future__ import annotations

from pathlib import Path

from bench.run import write_results
from bench.sections import keep_section, replace_section
from bench.watch import PLAIN, POD, ROTATION, WATCH, Figures, goal_met, ratio, section, spread
from tests.unit.test_bench_plot import RESULTS

# bench/run.py's first table (test_bench_plot's), then a section after it.
MAIN = RESULTS.split("\n\nEach program cell", 1)[0] + "\n\n## ECS calls of one demand read\n\nthe ECS table\n"


def test_spread_is_the_median_and_the_range_and_ratio_the_medians_quotient():
    assert spread([3.0, 1.0, 2.0, 10.0, 4.0]) == "3.0 s (1.0-10.0)"
    assert spread([]) == "-"
    assert ratio([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]) == "0.10x"
    assert ratio([], [1.0]) == "-" and ratio([1.0], []) == "-" and ratio([1.0], [0.0]) == "-"


def test_a_goal_is_met_when_the_median_and_the_worst_are_within_it():
    assert goal_met([1.0, 2.0, 3.0], 5.0) == "yes"
    assert goal_met([1.0, 2.0, 6.0], 5.0) == "median yes, max no"
    assert goal_met([6.0, 7.0, 1.0], 5.0) == "median no, max no"
    assert goal_met([], 5.0) == "no figure"


def test_the_section_has_a_row_per_size_and_phase_with_the_goals_and_the_options():
    f = Figures((50, 3, 10))
    for value in (2.0, 3.0, 4.0):
        f.add(f.times, (POD, WATCH), value)
        f.add(f.times, (POD, PLAIN), value * 4)
        f.add(f.times, (ROTATION, WATCH), value + 8)
    f.add(f.times, (ROTATION, PLAIN), None)  # nothing arrived: no figure
    f.options["focused"] = [2.0]
    f.option_errors["targets"] = "failed: error: will be destroyed but was not specified in --target list"
    text = section([f], "header", interval=10.0)
    rows = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| 50, 3, 10 |")}
    assert rows[POD].split("|")[3:8] == [" 3.0 s (2.0-4.0) ", " 12.0 s (8.0-16.0) ", " **0.25x** ", " <= 5 s ", " yes "]
    assert rows[ROTATION].split("|")[3:8] == [" 11.0 s (10.0-12.0) ", " - ", " **-** ", " <= 15 s ", " yes "]
    assert "| (ii) `pulumi up --target` the namespace's objects, whole program registered | - | - | failed: error: will be" in text
    assert text.startswith("## Watch mode\n\nheader\n")


def test_the_watch_section_is_replaced_in_place_and_bench_run_keeps_it(tmp_path: Path):
    first = replace_section(MAIN, "## Watch mode\n\nold figures\n")
    assert first == MAIN + "\n## Watch mode\n\nold figures\n"
    second = replace_section(first, "## Watch mode\n\nnew figures\n")
    assert second == MAIN + "\n## Watch mode\n\nnew figures\n" and "old figures" not in second
    # A section in the middle is replaced there; what follows it stays.
    middle = "top\n\n## Watch mode\n\nold\n\n## Later\n\nkept\n"
    assert replace_section(middle, "## Watch mode\n\nnew\n") == "top\n\n## Watch mode\n\nnew\n\n## Later\n\nkept\n"
    # bench/run.py rewrites the file with its own tables and keeps the watch section.
    assert keep_section(second, MAIN.replace("2026-12-01", "2026-12-02")) == second.replace("2026-12-01", "2026-12-02")
    assert keep_section(MAIN, "fresh\n") == "fresh\n"
    out = tmp_path / "results.md"
    out.write_text(second, encoding="utf-8")
    write_results(out, MAIN)
    assert out.read_text(encoding="utf-8") == second and out.with_suffix(".svg").exists()
