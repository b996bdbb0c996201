"""Two benchmark runs side by side: ``python -m benchmarks.compare OLD.json NEW.json``.

Figures move by a fifth or more between identical runs on a shared machine, so the comparison
is made on the targets, whose values are ratios to the baseline measured in the same run (or
latencies and counts that do not depend on it). Each target of either run is one line: its
value before and after, the change, and whether it went from met to missed or back.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def compare(old: dict, new: dict) -> list[dict]:
    """One row per target of either run, in the order of the new run (then the old's others)."""
    before = {check["target"]: check for check in old.get("targets", [])}
    after = {check["target"]: check for check in new.get("targets", [])}
    names = list(after) + [name for name in before if name not in after]
    rows = []
    for name in names:
        was, now = before.get(name), after.get(name)
        rows.append(
            {
                "target": name,
                "goal": (now or was)["goal"],
                "old": was["value"] if was else None,
                "new": now["value"] if now else None,
                "change": _change(was, now),
                "status": _status(was, now),
            }
        )
    return rows


def table(rows: list[dict], old_name: str = "old", new_name: str = "new") -> str:
    width = max([len("target"), *(len(row["target"]) for row in rows)])
    values = max(10, len(old_name), len(new_name))
    lines = [f"{'target':<{width}} {old_name:>{values}} {new_name:>{values}} {'change':>8}  goal"]
    for row in rows:
        old = "-" if row["old"] is None else row["old"]
        new = "-" if row["new"] is None else row["new"]
        change = "" if row["change"] is None else f"{row['change']:+.0%}"
        lines.append(
            f"{row['target']:<{width}} {old!s:>{values}} {new!s:>{values}} {change:>8}  "
            f"{row['goal']}" + (f"  {row['status']}" if row["status"] else "")
        )
    return "\n".join(lines)


def _change(was: dict | None, now: dict | None) -> float | None:
    """The relative change of the value, where both runs have a non-zero number."""
    if not was or not now:
        return None
    old, new = was["value"], now["value"]
    if not isinstance(old, int | float) or not isinstance(new, int | float) or not old:
        return None
    return (new - old) / abs(old)


def _status(was: dict | None, now: dict | None) -> str:
    if was is None:
        return "new target"
    if now is None:
        return "no longer measured"
    if was["met"] and not now["met"]:
        return "NOW MISSED"
    if now["met"] and not was["met"]:
        return "now met"
    return ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("old", type=Path, help="the earlier run's JSON (--out of benchmarks.run)")
    parser.add_argument("new", type=Path, help="the later run's JSON")
    args = parser.parse_args(argv)
    old, new = (json.loads(path.read_text()) for path in (args.old, args.new))
    print(table(compare(old, new), args.old.stem, args.new.stem))


if __name__ == "__main__":
    main()
