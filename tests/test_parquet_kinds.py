"""Parquet export, the parts that need no pyarrow: each column's kind, and the
one line (exit code 2) when the extra is not installed."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.access import parquet
from warehouse.access.parquet.columns import (BINARY, FLOAT64, INT64, MIXED, STRING, Seen,
                                              affinity, kind_of, scan_sql, seen_from)
from warehouse.cli import main
from warehouse.errors import WarehouseError


# The examples of section 3.1.1 of https://www.sqlite.org/datatype3.html
@pytest.mark.parametrize("declared, expected", [
    ("INT", "INTEGER"), ("INTEGER", "INTEGER"), ("TINYINT", "INTEGER"), ("UNSIGNED BIG INT", "INTEGER"),
    ("INT8", "INTEGER"), ("CHARACTER(20)", "TEXT"), ("VARCHAR(255)", "TEXT"),
    ("NATIVE CHARACTER(70)", "TEXT"), ("NVARCHAR(100)", "TEXT"), ("TEXT", "TEXT"), ("CLOB", "TEXT"),
    ("BLOB", "BLOB"), ("", "BLOB"), ("REAL", "REAL"), ("DOUBLE", "REAL"),
    ("DOUBLE PRECISION", "REAL"), ("FLOAT", "REAL"), ("NUMERIC", "NUMERIC"),
    ("DECIMAL(10,5)", "NUMERIC"), ("BOOLEAN", "NUMERIC"), ("DATE", "NUMERIC"),
    ("DATETIME", "NUMERIC"),
    ("FLOATING POINT", "INTEGER"),  # the page's own warning: "POINT" holds "INT"
    ("integer", "INTEGER"),
])
def test_affinity_follows_sqlite(declared: str, expected: str) -> None:
    assert affinity(declared) == expected


@pytest.mark.parametrize("declared, seen, expected", [
    ("INTEGER", Seen(integers=True, int_min=-2**63, int_max=2**63 - 1), INT64),
    ("", Seen(integers=True, int_min=0, int_max=5), INT64),
    ("REAL", Seen(reals=True), FLOAT64),
    ("REAL", Seen(reals=True, nan_texts=True), FLOAT64),
    ("REAL", Seen(nan_texts=True), FLOAT64),  # every value a NaN
    ("", Seen(nan_texts=True), FLOAT64),
    ("TEXT", Seen(nan_texts=True), STRING),  # a label that reads 'NaN' is a text
    ("TEXT", Seen(other_texts=True, nan_texts=True), STRING),
    ("", Seen(other_texts=True, nan_texts=True), STRING),
    ("INTEGER", Seen(integers=True, nan_texts=True, int_min=1, int_max=2**53), FLOAT64),
    ("INTEGER", Seen(integers=True, reals=True, int_min=-2**53, int_max=7), FLOAT64),
    # an integer a double cannot hold beside reals: never through a float
    ("", Seen(integers=True, reals=True, int_min=0, int_max=2**53 + 1), MIXED),
    ("", Seen(integers=True, nan_texts=True, int_min=-2**53 - 1, int_max=0), MIXED),
    ("", Seen(integers=True, reals=True, other_texts=True, nan_texts=True, int_min=1, int_max=2),
     MIXED),  # parameter.value
    ("", Seen(integers=True, other_texts=True, int_min=1, int_max=1), MIXED),
    ("BLOB", Seen(blobs=True), BINARY),
    ("", Seen(blobs=True, other_texts=True), MIXED),
    # no value at all: the declared type decides; a string without one
    ("INTEGER", Seen(), INT64), ("REAL", Seen(), FLOAT64), ("TEXT", Seen(), STRING),
    ("BLOB", Seen(), BINARY), ("", Seen(), STRING), ("NUMERIC", Seen(), STRING),
])
def test_kind_of(declared: str, seen: Seen, expected: str) -> None:
    assert kind_of(declared, seen) == expected


def test_the_scan_sees_each_storage_class(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "x.sqlite")
    con.execute("CREATE TABLE t (a INTEGER, b REAL, c, \"we\"\"ird\" TEXT, model_class_label TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [
        (2**63 - 1, 1.5, b"\x00", "x", "allneutral"),
        (-2**63, "NaN", "NaN", "NaN", None),
        (None, float("inf"), 7, None, "allneutral"),
        (3, None, "text", "y", "a/b"),
    ])
    columns = ["a", "b", "c", 'we"ird']
    row = con.execute(scan_sql("t", columns, "model_class_label")).fetchone()
    assert row[0] == 4
    assert set(json.loads(row[1])) == {"a/b", "allneutral", None}
    assert row[2] == 0
    seen = seen_from(row[3:], columns)
    assert seen["a"] == Seen(integers=True, int_min=-2**63, int_max=2**63 - 1)
    assert seen["b"] == Seen(reals=True, nan_texts=True)
    assert seen["c"] == Seen(integers=True, nan_texts=True, other_texts=True, blobs=True,
                             int_min=7, int_max=7)
    assert seen['we"ird'] == Seen(nan_texts=True, other_texts=True)


def test_a_partition_column_holding_other_than_texts_is_flagged(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "x.sqlite")
    con.execute("CREATE TABLE t (model_class_label TEXT)")
    con.executemany("INSERT INTO t VALUES (?)", [("a",), (b"\x01",)])
    rows, values, other_classes = con.execute(scan_sql("t", [], "model_class_label")).fetchone()
    assert (rows, set(json.loads(values)), other_classes) == (2, {None, "a"}, 1)


@pytest.fixture
def no_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if pyarrow were not installed: importing it fails."""
    for name in list(sys.modules):
        if name == "pyarrow" or name.startswith("pyarrow."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)


def test_without_pyarrow_the_command_says_so_in_one_line(no_pyarrow, tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE t (a)")
    result = CliRunner().invoke(main, ["export", "--db", str(db), "--out", str(tmp_path / "out"),
                                       "--format", "parquet"])
    assert result.exit_code == 2
    assert result.stderr == ("warehouse: Parquet needs pyarrow, an optional extra: "
                             "pip install 'ctwarehouse[parquet]'\n")
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_without_pyarrow_the_library_raises_the_one_error_type(no_pyarrow, tmp_path: Path) -> None:
    assert not parquet.available()
    with pytest.raises(WarehouseError, match=r"ctwarehouse\[parquet\]"):
        parquet.export_parquet(tmp_path / "w.sqlite", tmp_path / "out")


def test_csv_export_still_needs_its_basename(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--db", "w.sqlite", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--format csv needs --basename" in result.output
    result = CliRunner().invoke(main, ["export", "--db", "w.sqlite", "--out", str(tmp_path),
                                       "--format", "parquet", "--basename", "B"])
    assert result.exit_code == 2 and "not with --format parquet" in result.output


@pytest.mark.parametrize("name, folder", [
    ("tasampled_data", "tasampled_data"), ("a/b", "a%2Fb"), ("..", "%2E."), (".hidden", "%2Ehidden"),
    ("x y", "x%20y"),
])
def test_folder_names_never_leave_the_output_folder(name: str, folder: str) -> None:
    assert parquet.folder_name(name) == folder
