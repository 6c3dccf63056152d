"""A warehouse built before schema 7 gets the exporter's min and max at the next build.

The old warehouse is built by the old rule itself (the function builds before
schema 7 used, copied below) with the schema steps up to 6 only: exactly what
those builds left. The old values and the corrected ones are both written out
by hand.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from old_schema import old_schema
from test_csv_load import write_csv
from test_nan_aggregates import (NAN, POPULATION, RECORD, RUN, SAMPLED, TASAMPLED, VIEWS,
                                 assert_views, built, invoke)
from warehouse.demo import write_demo
from warehouse.pipeline.build import build
from warehouse.profiles.ctmixtures import document
from warehouse.profiles.ctmixtures.csv import headers

RUN_B = "urn:uuid:00000000-0000-4000-8000-0000000000e2"


def old_min_max_mean(values):
    """The rule of builds before schema 7, as it was: any NaN made all three NaN."""
    if not values:
        return None, None, None
    total = sum(values)
    if total != total:
        if any(v != v for v in values):
            return NAN, NAN, NAN
        return min(values), max(values), NAN
    return min(values), max(values), total / len(values)


def with_nan(row: list, *positions: int) -> list:
    return ["NaN" if index in positions else value for index, value in enumerate(row)]


# What the old rule stored, by hand: min, max and mean NaN wherever a locus is NaN.
OLD_VIEWS = {
    "population_data": with_nan(POPULATION, 5, 6, 11, 12, 23, 24),  # slatkin, iqv, t_f max/min
    "sampled_data": with_nan(SAMPLED, 15, 16),                      # iqv min/max
    "tasampled_data": with_nan(TASAMPLED, 12, 13, 15, 16),          # entropy, iqv min/max
}


@pytest.fixture
def schema_6(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds apply the schema steps up to 6 only, as builds before schema 7 did
    (and store configuration labels as those builds did)."""
    old_schema(monkeypatch, 6)


@pytest.fixture
def old_rule(monkeypatch: pytest.MonkeyPatch, schema_6) -> None:
    # a build with jobs=1 maps documents in this process: the patch reaches it
    monkeypatch.setattr(document, "min_max_mean", old_min_max_mean)


def as_schema_6(db: Path) -> None:
    """The warehouse an old build left: schema steps up to 6."""
    assert version(db) == 6


def rebuild(db: Path, *paths: Path) -> None:
    """``warehouse build`` again: nothing new to load, the schema steps run."""
    result = invoke("build", "--db", str(db), "-q", "--jobs", "1", *map(str, paths))
    assert result.exit_code == 0, result.output


def version(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("PRAGMA user_version").fetchone()[0]


def test_an_old_warehouse_is_corrected_by_the_next_build(tmp_path: Path, old_rule,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    db = built(tmp_path)
    monkeypatch.undo()
    assert_views(db, OLD_VIEWS)
    as_schema_6(db)
    assert invoke("verify", "--db", str(db)).exit_code == 1  # verify names the old numbers

    rebuild(db, tmp_path / "raw")

    assert version(db) >= 7
    assert_views(db, VIEWS)
    result = invoke("verify", "--db", str(db))
    assert result.exit_code == 0, result.output


def csv_cell(value: Any) -> str:
    """A value as the exporter wrote it (Python's repr of a float: nan, inf)."""
    if value == "NaN":
        return "nan"
    return repr(value) if isinstance(value, float) else str(value)


def export_files(folder: Path, population: list, sampled: list) -> Path:
    write_csv(folder / "x-population-data.csv", headers.POPULATION_25,
              [[csv_cell(v) for v in population]])
    write_csv(folder / "x-sampled-data.csv", headers.SAMPLED, [[csv_cell(v) for v in sampled]])
    return folder


def disagreements(db: Path) -> set[tuple]:
    with sqlite3.connect(db) as con:
        return set(con.execute("SELECT table_name, column_name, ta_duration, sample_size, "
                               "stored_value, file_value FROM disagreement"))


def test_disagreements_with_export_files_are_settled(tmp_path: Path, old_rule,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The exporter's files for the same run, read beside its document; one value
    # differs from the document anyway (iqv max of the sample: 0.9, not 1.0).
    sampled = SAMPLED[:16] + [0.9] + SAMPLED[17:]
    csv = export_files(tmp_path / "csv", POPULATION, sampled)
    db = built(tmp_path)
    assert build(db, [csv], jobs=1).ok
    monkeypatch.undo()
    assert disagreements(db) == {
        ("census", "slatkin_locus_max", None, None, "NaN", 0.31),
        ("census", "slatkin_locus_min", None, None, "NaN", 0.09),
        ("census", "iqv_locus_max", None, None, "NaN", 0.75),
        ("census", "iqv_locus_min", None, None, "NaN", 0.25),
        ("census", "neiman_tf_locus_min", None, None, "NaN", 0.0),
        ("census", "neiman_tf_locus_max", None, None, "NaN", 3.0),
        ("sample", "iqv_locus_min", None, 4, "NaN", 0.0),
        ("sample", "iqv_locus_max", None, 4, "NaN", 0.9),
    }
    as_schema_6(db)

    rebuild(db, tmp_path / "raw", csv)

    settled = {("sample", "iqv_locus_max", None, 4, 1.0, 0.9)}  # it names the new value
    assert disagreements(db) == settled
    fresh = tmp_path / "fresh"  # a build by the new rule finds the same
    fresh.mkdir()
    assert build(fresh / "w.sqlite", [tmp_path / "raw"], jobs=1).ok
    assert build(fresh / "w.sqlite", [csv], jobs=1).ok
    assert disagreements(fresh / "w.sqlite") == settled


def census_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT simulation_run_id, slatkin_locus_min, slatkin_locus_max, "
                           "slatkin_locus_mean, iqv_locus_min, iqv_locus_max, iqv_locus_mean "
                           "FROM census JOIN run USING (run_id) ORDER BY run_id").fetchall()


def test_values_from_export_files_stay_as_the_files_gave_them(
        tmp_path: Path, schema_6, monkeypatch: pytest.MonkeyPatch) -> None:
    # RUN: its document lacks iqv at locus 1, so the build left iqv unknown and
    # the population file filled it in. RUN_B: known only from export files, its
    # slatkin all NaN beside per-locus values whose first is a number.
    record = {**RECORD, "iqv_diversity": [0.5, None, 0.25, NAN]}
    db = built(tmp_path, "3.x", record)
    population = POPULATION[:11] + ["NaN", "NaN", "NaN"] + POPULATION[14:]
    population_b = [RUN_B] + with_nan(POPULATION, 5, 6)[1:]
    csv = tmp_path / "csv"
    write_csv(csv / "x-population-data.csv", headers.POPULATION_25,
              [[csv_cell(v) for v in row] for row in (population, population_b)])
    write_csv(csv / "x-pop-slatkin-locus-data.csv", headers.SLATKIN_LOCUS,
              [[RUN_B, "allneutral", "0.5", v] for v in ("0.31", "nan", "0.09", "0.2")])
    summary = build(db, [csv], jobs=1)
    assert summary.ok, [str(f.error) for f in summary.failed]
    expected = [(RUN, 0.09, 0.31, "NaN", "NaN", "NaN", "NaN"),
                (RUN_B, "NaN", "NaN", "NaN", 0.25, 0.75, "NaN")]
    assert census_rows(db) == expected
    as_schema_6(db)
    monkeypatch.undo()

    rebuild(db, tmp_path / "raw", csv)

    assert version(db) >= 7
    assert census_rows(db) == expected


def aggregates(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return (con.execute("SELECT * FROM census ORDER BY run_id").fetchall()
                + con.execute("SELECT * FROM sample ORDER BY sample_id").fetchall())


def typed(rows: list[tuple]) -> list[tuple]:
    """Rows with each value's type beside it: 2 and 2.0 differ."""
    return [tuple((type(v).__name__, v) for v in row) for row in rows]


def test_a_demo_built_by_the_old_rule_ends_as_one_built_by_the_new(
        tmp_path: Path, old_rule, monkeypatch: pytest.MonkeyPatch) -> None:
    write_demo(tmp_path / "raw", n_runs=30, nodes=2, seed=11)  # 2 NaNs after locus 0
    old, new = tmp_path / "old.sqlite", tmp_path / "new.sqlite"
    assert build(old, [tmp_path / "raw"], jobs=1).ok
    monkeypatch.undo()
    assert build(new, [tmp_path / "raw"], jobs=1).ok
    assert typed(aggregates(old)) != typed(aggregates(new))
    as_schema_6(old)

    rebuild(old, tmp_path / "raw")

    assert typed(aggregates(old)) == typed(aggregates(new))
