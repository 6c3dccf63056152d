"""The Parquet benchmark (make bench): figures of a real export, or a skip without pyarrow."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from warehouse.bench.parquet import bench_parquet, report


def test_without_pyarrow_it_is_skipped_with_a_message(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.delitem(sys.modules, "pyarrow.parquet", raising=False)
    found = bench_parquet(tmp_path, runs=10)
    assert found == {"skipped": "Parquet needs pyarrow, an optional extra: "
                                "pip install 'ctwarehouse[parquet]'"}
    assert "Parquet benchmark skipped" in capsys.readouterr().err
    assert "skipped" in report(found)
    assert not any(tmp_path.iterdir())  # nothing generated or built


def test_it_times_the_export_of_every_row(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    found = bench_parquet(tmp_path, runs=12, repeat=1)
    db = tmp_path / "runs-12" / "warehouse.sqlite"
    with sqlite3.connect(db) as con:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type IN "
                                           "('table', 'view') AND name NOT LIKE 'sqlite%'")]
        rows = sum(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names)
    assert found["rows"] == rows > 0
    assert found["runs"] == 12 and found["seconds"] > 0 and found["peak_rss_mb"] > 0
    assert found["rows_per_s"] == round(rows / found["seconds"])
    assert found["written_mb"] > 0
    assert "rows/s" in report(found)
