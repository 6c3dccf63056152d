"""JSON -> warehouse -> `warehouse export` -> CSV -> a fresh warehouse: the same four views."""

from __future__ import annotations

import gzip
import math
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.pipeline.build import build
from warehouse.cli import main
from warehouse.demo import write_demo

VIEWS = ("simulation_data", "population_data", "sampled_data", "tasampled_data")
SEED = 17  # 30 runs of this demo seed hold a NaN and an infinity


def same_value(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != b:
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return a == b


def assert_same_views(expected: Path, actual: Path) -> None:
    a, b = sqlite3.connect(expected), sqlite3.connect(actual)
    for view in VIEWS:
        left = a.execute(f"SELECT * FROM {view}").fetchall()
        right = b.execute(f"SELECT * FROM {view}").fetchall()
        assert len(left) == len(right), view
        header = [d[0] for d in a.execute(f"SELECT * FROM {view} LIMIT 0").description]
        for row_a, row_b in zip(left, right):
            for name, x, y in zip(header, row_a, row_b):
                assert same_value(x, y), (view, row_a[0], name, x, y)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """A warehouse built from demo JSON of every era, and its four export files."""
    root = tmp_path_factory.mktemp("roundtrip")
    write_demo(root / "raw", n_runs=30, nodes=4, seed=SEED)
    db = root / "json.sqlite"
    assert build(db, [root / "raw"]).ok
    result = CliRunner().invoke(main, ["export", "--db", str(db), "--out", str(root / "csv"),
                                       "--basename", "eq"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return db, root / "csv"


def test_the_demo_data_holds_the_hard_values(exported):
    db, _ = exported
    con = sqlite3.connect(db)
    values = [v for view in VIEWS for row in con.execute(f"SELECT * FROM {view}") for v in row]
    assert "NaN" in values and math.inf in values
    assert any(isinstance(v, int) and v > 2 ** 53 for v in values)  # random seeds


def test_csv_export_builds_the_same_views(exported, tmp_path):
    db, csv_dir = exported
    summary = build(tmp_path / "csv.sqlite", [csv_dir])
    assert summary.ok, [str(f.error) for f in summary.failed]
    assert sorted(f.format for f in summary.files) == [
        "csv-population-2.5", "csv-sampled-2.5", "csv-simulation-2.5", "csv-tasampled-2.5"]
    assert summary.total("runs") == 30 and summary.total("disagreements") == 0
    assert_same_views(db, tmp_path / "csv.sqlite")


def test_compressed_and_in_another_order_too(exported, tmp_path):
    db, csv_dir = exported
    packed = tmp_path / "packed"
    packed.mkdir()
    for k, path in enumerate(sorted(csv_dir.iterdir(), reverse=True)):
        # names that sort the tasampled file first, and hide what each file is
        (packed / f"{k}.gz").write_bytes(gzip.compress(path.read_bytes()))
    summary = build(tmp_path / "csv.sqlite", [packed])
    assert summary.ok and [f.compression for f in summary.files] == ["gzip"] * 4
    assert summary.files[0].format == "csv-tasampled-2.5"
    assert_same_views(db, tmp_path / "csv.sqlite")
