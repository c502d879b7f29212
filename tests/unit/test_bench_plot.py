"""The benchmark's drawing (bench/plot.py), from a small results file: no benchmark run needed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bench import plot
from bench.run import write_results

PHASES = ["first up", "no-change preview", "no-change up", "up after 1 change", "destroy"]
RESULTS = """Benchmark of 2026-12-01 on x86_64 with 2 cores and 24 GiB: `python -m bench.run --sizes 5,1,2 10,2,4` (medians of 1 runs).

| N, M, K | mode | | first up | no-change preview | no-change up | up after 1 change | destroy | state |
|---|---|---|---|---|---|---|---|---|
| 5, 1, 2 | tuned | ours | 6.0 s / 500 MiB | 5.0 s / 500 MiB | 6.0 s / 500 MiB | 7.0 s / 500 MiB | 2.0 s / 300 MiB | 100 KB |
| 5, 1, 2 | tuned | floor | 4.0 s / 400 MiB | 2.5 s / 400 MiB | 4.0 s / 400 MiB | 3.5 s / 400 MiB | 1.0 s / 300 MiB | 80 KB |
| 5, 1, 2 | tuned | **ours ÷ floor** | **1.50x** / 1.25x | **2.00x** / 1.25x | **1.50x** / 1.25x | **2.00x** / 1.25x | **2.00x** / 1.00x | **1.25x** |
| 5, 1, 2 | tuned | direct script | 0.4 s | 0.2 s | 0.2 s | 0.2 s | 0.3 s |  |
| 5, 1, 2 | tuned | ours ÷ direct | 15.00x | 25.00x | 30.00x | 35.00x | 6.67x |  |
| 10, 2, 4 | tuned | ours | 9.0 s / 600 MiB | - | - | 8.0 s / 600 MiB | - | 200 KB |
| 10, 2, 4 | tuned | floor | 9.0 s / 500 MiB | - | - | 10.0 s / 500 MiB | - | 160 KB |
| 10, 2, 4 | tuned | **ours ÷ floor** | **1.00x** / 1.20x | - | - | **0.80x** / 1.20x | - | **1.25x** |
| 10, 2, 4 | checkpoints | ours | 99.0 s / 900 MiB | - | - | - | - | 200 KB |

Each program cell: wall time / peak RSS.

---

| N, M, K | mode | | first up | no-change preview | no-change up | up after 1 change | destroy | state |
|---|---|---|---|---|---|---|---|---|
| 5, 1, 2 | tuned | ours | 60.0 s / 500 MiB | - | - | - | - | 100 KB |
"""


def test_parse_reads_the_first_tables_tuned_rows():
    results = plot.parse(RESULTS)
    assert results.phases == PHASES
    assert results.sizes == ["5, 1, 2", "10, 2, 4"]
    assert results.date == "2026-12-01"
    assert results.series("ours", "first up") == [6.0, 9.0]  # not the checkpoints row, not the second table's
    assert results.series("floor", "up after 1 change") == [3.5, 10.0]
    assert results.series("direct script", "destroy") == [0.3, None]
    assert results.series("**ours ÷ floor**", "no-change preview") == [2.0, None]
    assert results.series("**ours ÷ floor**", "up after 1 change") == [2.0, 0.8]


def test_a_file_without_tuned_rows_is_refused_in_one_line():
    with pytest.raises(ValueError, match="no tuned rows"):
        plot.parse("Benchmark of 2026-12-01\n\nnothing measured\n")


def texts(svg: bytes) -> list[str]:
    return [t.strip() for t in ET.fromstring(svg).itertext() if t.strip()]


def test_the_drawing_has_a_panel_per_phase_and_one_of_ours_over_the_floor(tmp_path):
    out = tmp_path / "results.svg"
    plot.draw(plot.parse(RESULTS), out)
    svg = out.read_bytes()
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    shown = texts(svg)
    for title in [*PHASES, "ours ÷ floor (wall time)"]:
        assert shown.count(title) >= 1, title
    for label in ("ours", "floor", "direct script"):
        assert label in shown, label
    assert shown.count("5, 1, 2") == 6 and shown.count("10, 2, 4") == 6  # the sizes on every panel's axis
    assert any("2026-12-01" in t for t in shown)
    # One line per program in each phase panel (3 in the first, where the direct script was measured) and one per
    # phase in the ratio panel: matplotlib writes each as a line2d group.
    assert svg.count(b'<g id="line2d_') > 15


def test_the_drawing_is_the_same_for_the_same_results(tmp_path):
    plot.draw(plot.parse(RESULTS), tmp_path / "a.svg")
    plot.draw(plot.parse(RESULTS), tmp_path / "b.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_the_benchmark_writes_its_drawing_beside_its_results(tmp_path):
    write_results(tmp_path / "results.md", RESULTS)
    assert (tmp_path / "results.md").read_text(encoding="utf-8") == RESULTS
    assert b"ours \xc3\xb7 floor (wall time)" in (tmp_path / "results.svg").read_bytes()


def test_the_module_redraws_a_results_file(tmp_path):
    (tmp_path / "r.md").write_text(RESULTS, encoding="utf-8")
    assert plot.main([str(tmp_path / "r.md")]) == 0
    assert (tmp_path / "r.svg").is_file()
    assert plot.main([str(tmp_path / "missing.md")]) == 1
