"""A worker process staging CSV chunks (warehouse/staging.py) stores exactly the
rows the writing process stores when it reads the files itself: same values,
same types, same keys, whichever path each chunk takes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_csv_load import RUN_A, RUN_B, population_row, ta_row, write_csv

from warehouse import build as build_module
from warehouse import worker as worker_module
from warehouse.build import build
from warehouse.demo import write_demo
from warehouse.export import export
from warehouse.formats import exportcsv
from warehouse.profiles import ctmixtures_csv

MODES = ("writer reads", "worker stages", "worker passes on")
# what a build stores, and the ledger without the time of loading
STORED = ("run", "parameter", "census", "census_locus", "sample", "csv_origin",
          "csv_correction", "disagreement", "skipped", "failure")


def build_as(mode: str, db: Path, paths: list[Path], monkeypatch):
    with monkeypatch.context() as patch:
        if mode != "writer reads":
            patch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
            idle = mode == "worker passes on"
            patch.setattr(worker_module, "_writer_idle", lambda _: idle)
        summary = build(db, paths, jobs=1 if mode == "writer reads" else 2)
    assert summary.ok, [str(f.error) for f in summary.failed]
    assert summary.parallel == (mode != "writer reads")
    return summary


def contents(db: Path) -> dict[str, list]:
    """Every stored row, each value with its SQLite type (1 and 1.0 differ)."""
    con = sqlite3.connect(db)
    tables = {}
    for table in STORED:
        rows = con.execute(f"SELECT * FROM {table}").fetchall()
        tables[table] = sorted([(type(v).__name__, repr(v)) for v in row] for row in rows)
    tables["source"] = con.execute(
        "SELECT source_id, path, size, sha256, format, documents, runs, rows_written, "
        "values_written FROM source ORDER BY source_id").fetchall()
    return tables


@pytest.fixture(scope="module")
def demo_exports(tmp_path_factory) -> Path:
    """The four export files of a demo experiment with NaN, infinities and big seeds."""
    root = tmp_path_factory.mktemp("staging")
    write_demo(root / "raw", n_runs=60, nodes=3, seed=17)
    assert build(root / "json.sqlite", [root / "raw"]).ok
    export(root / "json.sqlite", root / "csv", "demo")
    return root / "csv"


def test_every_way_of_reading_stores_the_same_rows(demo_exports, tmp_path, monkeypatch):
    monkeypatch.setattr(exportcsv, "CHUNK_BYTES", 3000)  # many chunks, runs cut between them
    built = {mode: contents(tmp_path / f"{i}.sqlite") if build_as(
        mode, tmp_path / f"{i}.sqlite", [demo_exports], monkeypatch) else None
        for i, mode in enumerate(MODES)}
    assert built["writer reads"]["sample"]  # the files did load
    assert built["worker stages"] == built["writer reads"]
    assert built["worker passes on"] == built["writer reads"]


def spy(monkeypatch, cls, name: str) -> list:
    """Calls of a method in this (the writing) process."""
    calls: list = []
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, wrapper)
    return calls


def test_staged_chunks_are_copied_as_they_are(demo_exports, tmp_path, monkeypatch):
    copied = spy(monkeypatch, ctmixtures_csv._StatsLoader, "copy_as_foreseen")
    build_as("worker stages", tmp_path / "w.sqlite", [demo_exports], monkeypatch)
    assert len(copied) >= 3  # population, sampled and tasampled


def test_keys_the_worker_did_not_foresee_are_given_by_the_writer(tmp_path, monkeypatch):
    # A row repeated in the first chunk is compared, not inserted: the writer's
    # sample ids then fall one behind the worker's foresight for the next chunk.
    rows = [ta_row(RUN_A, 10, 5), ta_row(RUN_A, 10, 5)] + \
        [ta_row(f"urn:uuid:run-{i}", 10, 5) for i in range(40)]
    path = write_csv(tmp_path / "t.csv", exportcsv.TASAMPLED_25, rows)
    monkeypatch.setattr(exportcsv, "CHUNK_BYTES", 1000)
    rekeyed = spy(monkeypatch, ctmixtures_csv._StatsLoader, "copy_rekeyed")
    build_as("worker stages", tmp_path / "w.sqlite", [path], monkeypatch)
    build_as("writer reads", tmp_path / "m.sqlite", [path], monkeypatch)
    assert rekeyed
    assert contents(tmp_path / "w.sqlite") == contents(tmp_path / "m.sqlite")
    ids = sqlite3.connect(tmp_path / "w.sqlite").execute(
        "SELECT min(sample_id), max(sample_id), count(*) FROM sample").fetchone()
    assert ids == (1, 41, 41)


def test_a_staged_chunk_the_writer_cannot_take_whole_is_unpacked(tmp_path, monkeypatch):
    # RUN_B's row at grain (10, 5) again just after a chunk boundary: the writer
    # compares it with the row it stored, so the chunk cannot be copied whole.
    head = [ta_row(f"urn:uuid:run-{i}", 10, 5) for i in range(5)] + [ta_row(RUN_B, 10, 5)]
    tail = [ta_row(RUN_B, 10, 5), ta_row(RUN_B, 20, 5)] + \
        [ta_row(f"urn:uuid:late-{i}", 10, 5) for i in range(5)]
    path = write_csv(tmp_path / "t.csv", exportcsv.TASAMPLED_25, head + tail)
    first_chunk = sum(len(line) for line in path.read_text().splitlines(True)[1:len(head) + 1])
    monkeypatch.setattr(exportcsv, "CHUNK_BYTES", first_chunk)
    bound = spy(monkeypatch, ctmixtures_csv._StatsLoader, "bind_rows")
    build_as("worker stages", tmp_path / "w.sqlite", [path], monkeypatch)
    build_as("writer reads", tmp_path / "m.sqlite", [path], monkeypatch)
    assert any(type(chunk).__name__ == "StagedChunk" for chunk, *_ in bound)
    assert contents(tmp_path / "w.sqlite") == contents(tmp_path / "m.sqlite")


def test_values_the_worker_converts_are_those_the_writer_converts(tmp_path, monkeypatch):
    special = {"slatkin_locus_max": "nan", "slatkin_locus_min": "-inf", "iqv_locus_max": "",
               "richness_locus_max": "3.0", "richness_locus_min": "1e1"}
    rows = [population_row(f"urn:uuid:run-{i}", **special) for i in range(3)] + \
        [population_row(RUN_A)]
    path = write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, rows)
    build_as("worker stages", tmp_path / "w.sqlite", [path], monkeypatch)
    build_as("writer reads", tmp_path / "m.sqlite", [path], monkeypatch)
    stored = contents(tmp_path / "w.sqlite")
    assert stored == contents(tmp_path / "m.sqlite")
    con = sqlite3.connect(tmp_path / "w.sqlite")
    assert con.execute("SELECT slatkin_locus_max, slatkin_locus_min, iqv_locus_max, "
                       "richness_locus_max, richness_locus_min FROM census "
                       "ORDER BY run_id LIMIT 1").fetchone() == \
        ("NaN", float("-inf"), None, 3, 10)


def test_a_bad_value_in_a_staged_chunk_fails_the_file_at_its_line(tmp_path, monkeypatch):
    rows = [population_row(f"urn:uuid:run-{i}") for i in range(3)] + \
        [population_row(RUN_A, iqv_locus_max="abc")]
    path = write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, rows)
    with monkeypatch.context() as patch:
        patch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
        patch.setattr(worker_module, "_writer_idle", lambda _: False)
        summary = build(tmp_path / "w.sqlite", [path], jobs=2)
    (failed,) = summary.failed
    assert str(failed.error) == f"{path}:5: column iqv_locus_max: not a number: 'abc'"
    con = sqlite3.connect(tmp_path / "w.sqlite")
    assert con.execute("SELECT count(*) FROM run").fetchone() == (0,)
