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
