"""`make bench` keeps working: one tiny size, one run, ours and the floor side by side, on this test run's
LocalStack and control plane (real CLI). It checks that the benchmark runs end to end and writes its ratios;
it measures nothing (figures come from `make bench` alone on a quiet machine, never from a test)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.real import ROOT

pytestmark = pytest.mark.e2e


def test_the_benchmark_runs_ours_and_the_floor_side_by_side_and_writes_the_ratios(endpoint, kubeconfig, tmp_path):
    out = tmp_path / "results.md"
    env = {**os.environ, "LOCALSTACK_ENDPOINT": endpoint, "KECS_KUBECONFIG": kubeconfig}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--sizes", "4,1,2", "--runs", "1", "--compare", "none",
         "--programs", "ours", "floor", "--out", str(out), "--keep-states", str(tmp_path / "states")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    text = out.read_text()
    rows = {line.split("|")[3].strip(): line for line in text.splitlines() if line.startswith("| 4, 1, 2 | tuned |")}
    assert {"ours", "floor", "**ours ÷ floor**", "direct script", "ours ÷ direct"} <= set(rows), sorted(rows)
    ratio_cells = rows["**ours ÷ floor**"].split("|")[4:10]
    assert all(re.fullmatch(r"\s*\*\*\d+\.\d\dx\*\* / \d+\.\d\dx\s*|\s*\*\*\d+\.\d\dx\*\*\s*", cell) for cell in ratio_cells), ratio_cells
    # The no-change phases of ours read no value (the benchmark itself exits 1 otherwise; this checks the report says so).
    ours = text.split("(ours, tuned):", 1)[1].split("\n- ", 1)[0]
    assert "no-change preview: value reads 0;" in ours and "no-change up: value reads 0;" in ours
    # How soon the changed value reached the cluster, for both programs (from the engine's events).
    for label in ("ours", "floor"):
        section = text.split(f"({label}, tuned):", 1)[1].split("\n- ", 1)[0]
        change = next(line for line in section.splitlines() if "up after 1 change:" in line)
        assert re.search(r"; changed objects updated \d+\.\d-\d+\.\d s into the run \(medians\)$", change), change
    # Each phase's progress line says when the last resource event came (the rest of the run is the end of it).
    progress = [line for line in done.stdout.splitlines() if re.match(r"\s+(ours|floor) \(tuned\) N=4 M=1 K=2 run 1: ", line)]
    assert len(progress) == 10, done.stdout[-3000:]
    assert all(re.search(r", last resource event \d+\.\d s into it$", line) for line in progress), progress
    # The kept checkpoints compare: by type, per Secret, and the first up's timeline from the states' own stamps.
    ours_state, floor_state = tmp_path / "states" / "ours-4-1-2-tuned-0.json", tmp_path / "states" / "floor-4-1-2-tuned-0.json"
    compared = subprocess.run([sys.executable, "-m", "bench.state", str(ours_state), str(floor_state)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    assert re.search(r"^total: [\d,]+ B against [\d,]+ B \(\d+\.\d{3}x", compared, re.M), compared
    assert "- pulumi-python:dynamic/kecs:SourceValues: " in compared and "- kubernetes:core/v1:Secret: " in compared, compared
    marks = [line for line in compared.splitlines() if line.startswith("- ours-4-1-2-tuned-0.json: ")]
    assert marks and all(m in marks[0] for m in ("value reader", "first Secret", "last Secret", "last resource")), compared


def test_the_watch_benchmark_measures_the_watch_and_a_plain_up_and_the_four_designs(endpoint, kubeconfig, tmp_path):
    """bench/watch.py at a tiny size, one repetition: every phase gives a figure for the watch and for the plain up,
    the watch's updates were the focused ones, every replica and value arrived (the benchmark exits 1 otherwise), and
    the section lands in the results file beside what was there. No figure is checked against a goal."""
    out = tmp_path / "results.md"
    out.write_text("Benchmark of the main runs\n", encoding="utf-8")
    env = {**os.environ, "LOCALSTACK_ENDPOINT": endpoint, "KECS_KUBECONFIG": kubeconfig}
    done = subprocess.run(
        [sys.executable, "-m", "bench.watch", "--sizes", "8,1,2", "--runs", "1", "--interval", "2",
         "--options", "8,1,2", "--option-runs", "1", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    text = out.read_text()
    assert text.startswith("Benchmark of the main runs\n\n## Watch mode\n") and "Failures:" not in text, text
    seconds = r"\d+\.\d s \(\d+\.\d-\d+\.\d\)"
    for phase in ("pod -> replica", "rotation -> replicas"):
        (row,) = [line for line in text.splitlines() if line.startswith(f"| 8, 1, 2 | {phase} |")]
        cells = [cell.strip() for cell in row.split("|")[3:-1]]
        assert all(re.fullmatch(seconds, cells[i]) for i in (0, 1, 5, 6)) and re.fullmatch(r"\*\*\d+\.\d\dx\*\*", cells[2]), row
    # Each progress line: the watch's update was a focused one of the right trigger; the plain up's replica arrived.
    assert re.search(r"watch: pod -> replica: \d+\.\ds; its update: \('pod-demand', 'focused', ", done.stdout), done.stdout
    assert re.search(r"watch: rotation -> replicas: \d+\.\ds; its update: \('source-change', 'focused', ", done.stdout), done.stdout
    assert len(re.findall(r"plain up: (pod -> replica|rotation -> replicas): \d+\.\ds \(the up: ", done.stdout)) == 2, done.stdout
    # The four designs: a figure each, or the engine's refusal named; the watch's own (iv) succeeds.
    options = [line for line in text.splitlines() if line.startswith("| 8, 1, 2 | (i")]
    assert len(options) == 4 and options[3].startswith("| 8, 1, 2 | (iv) ") and options[3].endswith("| succeeded |"), text
    for row in options:
        cells = [cell.strip() for cell in row.split("|")[3:-1]]
        assert (re.fullmatch(seconds, cells[0]) and cells[2] == "succeeded") or cells[2].startswith("failed: "), row
    assert "- the new replica's create done: " in text and "- the update returned " in text, text
