"""Write the four classic export files from the warehouse views."""

from __future__ import annotations

import csv
import re
import sqlite3
from pathlib import Path
from typing import Any

from ..store import open_for_reading

# file suffix -> view; the files of analytics/ctmixtures-export-data.py
EXPORTS = {
    "simulation-data": "simulation_data",
    "population-data": "population_data",
    "sampled-data": "sampled_data",
    "tasampled-data": "tasampled_data",
}
# Columns that hold text; in every other column the TEXT 'NaN' is a float NaN.
TEXT_COLUMNS = frozenset({
    "simulation_run_id", "model_class_label", "network_class", "interaction_rule_classes",
    "innovation_class", "pop_class", "trait_class", "script_filename", "full_command_line",
})
_RENAMED_DUPLICATE = re.compile(r":\d+$")  # SQLite names a repeated column `name:1`


def format_value(value: Any, text_column: bool) -> str:
    """A value as the Python exporter printed it (floats by repr: 'nan', 'inf')."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if value == "NaN" and not text_column:
        return "nan"
    return str(value)


def export_view(db: sqlite3.Connection, view: str, path: Path) -> int:
    """Write one view as a CSV file, every field quoted; return the row count."""
    cursor = db.execute(f"SELECT * FROM {view}")  # view names come from EXPORTS only
    header = [_RENAMED_DUPLICATE.sub("", column[0]) for column in cursor.description]
    is_text = [name in TEXT_COLUMNS for name in header]
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        for row in cursor:
            writer.writerow([format_value(v, t) for v, t in zip(row, is_text)])
            count += 1
    return count


def export(db_path: str | Path, out_dir: str | Path, basename: str) -> dict[Path, int]:
    """Write ``B-simulation-data.csv`` and its three siblings; return rows per file."""
    db = open_for_reading(db_path)  # before the folder is made: nothing to export into it
    out = Path(out_dir)
    written = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        for suffix, view in EXPORTS.items():
            path = out / f"{basename}-{suffix}.csv"
            written[path] = export_view(db, view, path)
    finally:
        db.close()
    return written
