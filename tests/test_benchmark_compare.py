"""Comparing two benchmark runs target by target (benchmarks/compare.py)."""

from __future__ import annotations

import json

from benchmarks import compare


def _run(*targets: tuple[str, object, bool]) -> dict:
    return {
        "targets": [
            {"target": name, "value": value, "goal": "<= 2.0", "met": met}
            for name, value, met in targets
        ]
    }


OLD = _run(
    ("stub identity/c16 CPU per envelope / baseline", 2.5, False),
    ("grouped p95 (ms, largest store)", 800.0, True),
    ("stub identity/c16 non-2xx", 0, True),
    ("dropped target", 1.0, True),
)
NEW = _run(
    ("stub identity/c16 CPU per envelope / baseline", 1.5, True),
    ("grouped p95 (ms, largest store)", 1200.0, False),
    ("stub identity/c16 non-2xx", 0, True),
    ("added target", 3.0, False),
)


def test_each_target_of_either_run_gets_its_values_change_and_status():
    rows = {row["target"]: row for row in compare.compare(OLD, NEW)}
    assert list(rows) == [
        "stub identity/c16 CPU per envelope / baseline",
        "grouped p95 (ms, largest store)",
        "stub identity/c16 non-2xx",
        "added target",
        "dropped target",
    ]
    cpu = rows["stub identity/c16 CPU per envelope / baseline"]
    assert (cpu["old"], cpu["new"], cpu["change"], cpu["status"]) == (2.5, 1.5, -0.4, "now met")
    grouped = rows["grouped p95 (ms, largest store)"]
    assert grouped["change"] == 0.5 and grouped["status"] == "NOW MISSED"
    unchanged = rows["stub identity/c16 non-2xx"]
    assert unchanged["change"] is None and unchanged["status"] == ""  # no change from zero
    assert rows["added target"]["old"] is None and rows["added target"]["status"] == "new target"
    assert rows["dropped target"]["new"] is None
    assert rows["dropped target"]["status"] == "no longer measured"


def test_the_command_prints_one_line_per_target_named_after_the_files(tmp_path, capsys):
    (tmp_path / "monday.json").write_text(json.dumps(OLD))
    (tmp_path / "tuesday.json").write_text(json.dumps(NEW))
    compare.main([str(tmp_path / "monday.json"), str(tmp_path / "tuesday.json")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["target", "monday", "tuesday"]
    assert len(lines) == 1 + 5
    cpu = next(line for line in lines if line.startswith("stub identity/c16 CPU"))
    assert cpu.split()[-7:] == ["2.5", "1.5", "-40%", "<=", "2.0", "now", "met"]
    assert next(line for line in lines if line.startswith("grouped")).endswith("NOW MISSED")
