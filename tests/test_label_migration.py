"""A warehouse built before schema 10 stores its labels once at the next build.

The old warehouse is built with the schema steps up to 8 and written as those
builds wrote (labels as text in the table sample_configuration, see
``old_schema``); the next build applies step 10. Its tables must then equal a
fresh build's, label ids included, and the view sample_configuration must
give the old table's rows.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from click.testing import CliRunner

from old_schema import old_schema
from test_labels import LABELED_ROWS, LABELS, MAPS_A, MAPS_B, RUN_A, RUN_B, record, rows
from warehouse.access.verify import problems
from warehouse.cli import main
from warehouse.demo import write_demo
from warehouse.demo.dialects import write_json_lines
from warehouse.pipeline.build import build
from warehouse.profiles.ctmixtures import TABLES
from warehouse.store import schema_version

# Ledger columns that tell when and by which build a file was loaded (the old
# build counted the rows it wrote then).
LEDGER_TIMES = ("loaded_at", "rows_written", "values_written")


def kind(db: Path, name: str) -> str:
    return rows(db, f"SELECT type FROM sqlite_master WHERE name = '{name}'")[0][0]


def version(db: Path) -> int:
    return rows(db, "PRAGMA user_version")[0][0]


def build_old(db: Path, raw: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """An old warehouse (schema 8) of ``raw``; the rows of its sample_configuration table."""
    old_schema(monkeypatch, 8)
    assert build(db, [raw]).ok
    monkeypatch.undo()
    assert version(db) == 8 and kind(db, "sample_configuration") == "table"
    return rows(db, "SELECT * FROM sample_configuration ORDER BY sample_id, position")


def rebuild(db: Path, raw: Path) -> None:
    """``warehouse build`` again: nothing new to load, the schema steps run."""
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", str(raw)])
    assert result.exit_code == 0, result.output
    assert version(db) == schema_version() and kind(db, "sample_configuration") == "view"


def every_row(db: Path) -> dict[str, list[tuple]]:
    found = {}
    for table in [*TABLES, "source"]:
        names = [row[1] for row in rows(db, f"PRAGMA table_info({table})")]
        kept = ", ".join(c for c in names if c not in LEDGER_TIMES)
        found[table] = sorted(rows(db, f"SELECT {kept} FROM {table}"), key=repr)
    return found


def test_labels_of_an_old_warehouse_get_ids_as_a_build_gives_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    with gzip.open(raw / "runs.json.gz", "wb") as fh:
        write_json_lines(fh, [record(RUN_A, MAPS_A), record(RUN_B, MAPS_B)], "3.x")
    db = tmp_path / "old.sqlite"
    old = build_old(db, raw, monkeypatch)
    assert old[3:5] == [(2, 0, 3, "(1, 1)"), (2, 1, 1, "(0, 1)")]  # text in every row

    rebuild(db, raw)

    # as tests/test_labels.py worked them out for a fresh build
    assert rows(db, "SELECT * FROM configuration_label ORDER BY label_id") == LABELS
    assert rows(db, "SELECT * FROM sample_config_count WHERE label_id IS NOT NULL") == \
        LABELED_ROWS
    assert rows(db, "SELECT * FROM sample_configuration ORDER BY sample_id, position") == old


def test_an_old_demo_warehouse_ends_as_a_fresh_build(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    write_demo(raw, n_runs=40, nodes=3, seed=21)  # JSON eras and compressions mixed
    db, fresh = tmp_path / "old.sqlite", tmp_path / "fresh.sqlite"
    old = build_old(db, raw, monkeypatch)
    assert sum(1 for *_, label in old if label is not None) > 1000

    rebuild(db, raw)

    assert rows(db, "SELECT * FROM sample_configuration ORDER BY sample_id, position") == old
    assert build(fresh, [raw]).ok
    assert every_row(db) == every_row(fresh)
    assert list(problems(db)) == []

