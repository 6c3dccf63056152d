"""MongoDB data directories through the whole build: loose, inside tarballs, damaged, again.

WiredTiger directories are written by the real library (the ``wt`` utility,
in MongoDB's table layout); MMAPv1 ones by the project's writer built from
the on-disk layouts (no licensed real files exist). The expected warehouse is
the one built from a mongodump of the same documents.
"""

from __future__ import annotations

import re
import sqlite3
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import rows
from warehouse.cli import main
from warehouse.demo import generate, make_timing, timing_rng
from warehouse.demo.dumpwriter import write_collection
from warehouse.demo.mmapv1_writer import CollectionSpec as MmapSpec
from warehouse.demo.mmapv1_writer import WriterOptions, write_mmapv1_dir
from warehouse.errors import WarehouseError
from warehouse.pipeline import build as build_module
from warehouse.pipeline import datadirs, loading
from warehouse.pipeline.build import build
from wiredtiger_helpers import require_wt

DB = "equifinality-3_samples_raw"
VIEWS = ("simulation_data", "population_data", "sampled_data", "tasampled_data")


def documents(start: int, count: int) -> tuple[list[dict], list[dict]]:
    runs = list(generate(count, seed=8, start=start))
    return runs, [make_timing(run, timing_rng(8, start + i)) for i, run in enumerate(runs)]


def write_wiredtiger(folder: Path, runs: list[dict], timings: list[dict], **options) -> None:
    require_wt()
    from warehouse.demo.wiredtiger_writer import CollectionSpec, write_dbpath

    write_dbpath(folder, [CollectionSpec(f"{DB}.mixture_model_stats", runs),
                          CollectionSpec(f"{DB}.simulation_timing", timings),
                          CollectionSpec(f"{DB}.notes", [{"note": "kept whole"}])], **options)


def write_mmapv1(folder: Path, runs: list[dict], timings: list[dict], **options) -> None:
    write_mmapv1_dir(folder, {DB: [MmapSpec("mixture_model_stats", runs),
                                   MmapSpec("simulation_timing", timings)]},
                     WriterOptions(**options))


def write_dump(folder: Path, runs: list[dict], timings: list[dict], notes: bool) -> None:
    write_collection(folder / "dump", DB, "mixture_model_stats", runs, "none")
    write_collection(folder / "dump", DB, "simulation_timing", timings, "none")
    if notes:
        write_collection(folder / "dump", DB, "notes", [{"note": "kept whole"}], "none")


def snapshot(db: Path) -> dict[str, list]:
    con = sqlite3.connect(db)
    found = {view: sorted(con.execute(f"SELECT * FROM {view}").fetchall(), key=repr)
             for view in VIEWS}
    found["timing"] = sorted(con.execute(
        "SELECT simulation_run_id, elapsed_time, document FROM simulation_timing").fetchall())
    found["document"] = con.execute("SELECT collection, body FROM document").fetchall()
    found["traits"] = con.execute("SELECT count(*), sum(count) FROM sample_trait").fetchall()
    con.close()
    return found


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> tuple[Path, dict]:
    """node1: WiredTiger (snappy), node2: MMAPv1; and the views of their mongodump twins."""
    root = tmp_path_factory.mktemp("dbpaths")
    first, second = documents(0, 8), documents(8, 8)
    write_wiredtiger(root / "raw" / "node1", *first)
    write_mmapv1(root / "raw" / "node2", *second)
    write_dump(root / "dumps" / "node1", *first, notes=True)
    write_dump(root / "dumps" / "node2", *second, notes=False)
    assert build(root / "dumps.sqlite", [root / "dumps"]).ok
    return root, snapshot(root / "dumps.sqlite")


def test_views_from_data_directories_equal_those_from_dumps(experiment, tmp_path):
    root, expected = experiment
    db = tmp_path / "w.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), str(root / "raw")])
    assert result.exit_code == 0, result.output
    assert snapshot(db) == expected
    sources = rows(db, "SELECT path, format, database_name, collection, node FROM source "
                       "ORDER BY path")
    raw = root / "raw"
    assert sources == [
        (f"{raw}/node1!{DB}.mixture_model_stats", "mongodb-wiredtiger", DB, "mixture_model_stats",
         "node1"),
        (f"{raw}/node1!{DB}.notes", "mongodb-wiredtiger", DB, "notes", "node1"),
        (f"{raw}/node1!{DB}.simulation_timing", "mongodb-wiredtiger", DB, "simulation_timing",
         "node1"),
        (f"{raw}/node2!{DB}.mixture_model_stats", "mongodb-mmapv1", DB, "mixture_model_stats",
         "node2"),
        (f"{raw}/node2!{DB}.simulation_timing", "mongodb-mmapv1", DB, "simulation_timing",
         "node2")]
    assert rows(db, "SELECT path, kind, complete FROM container ORDER BY path") == [
        (f"{raw}/node1", "mongodb-wiredtiger", 1), (f"{raw}/node2", "mongodb-mmapv1", 1)]
    # the files each collection was read from
    notes = dict(rows(db, "SELECT member, note FROM container_member WHERE status = 'loaded'"))
    assert notes[f"{DB}.mixture_model_stats"] in (
        f"read from {DB}.ns, {DB}.0", f"read from {DB}.ns, {DB}.0, {DB}.1")
    assert re.fullmatch(r"read from collection-\d+-\d+\.wt", notes[f"{DB}.notes"])
    # system.* collections are metadata, not data: their documents are in the ledger
    system = dict(rows(db, "SELECT member, note FROM container_member WHERE status = 'metadata'"))
    assert set(system) == {f"{DB}.system.indexes", f"{DB}.system.namespaces"}
    assert f'"name": "{DB}.mixture_model_stats"' in system[f"{DB}.system.namespaces"]
    # the catalog's metadata of a collection, as the dump's metadata.json would give it
    (metadata,) = rows(db, "SELECT n.metadata FROM source_namespace AS n JOIN source USING "
                           "(source_id) WHERE path LIKE '%node1!%.mixture_model_stats'")
    assert '"indexes"' in metadata[0]


def test_a_tarball_of_each_data_directory(experiment, tmp_path, monkeypatch):
    root, expected = experiment
    for node, suffix in (("node1", "tar.gz"), ("node2", "tar.xz")):
        with tarfile.open(tmp_path / f"{node}.{suffix}", f"w:{suffix[-2:]}") as tar:
            tar.add(root / "raw" / node, "sim/data")
    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)  # read in the worker
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # the copies go here
    db = tmp_path / "w.sqlite"
    summary = build(db, [tmp_path / "node1.tar.gz", tmp_path / "node2.tar.xz"])
    assert summary.ok, [str(f.error) for f in summary.failed]
    assert summary.parallel
    assert snapshot(db) == expected
    assert rows(db, "SELECT DISTINCT node FROM run ORDER BY node") == [("node1",), ("node2",)]
    paths = [p for (p,) in rows(db, "SELECT path FROM source ORDER BY path")]
    assert paths[0] == f"{tmp_path}/node1.tar.gz!sim/data!{DB}.mixture_model_stats"
    statuses = dict(rows(db, "SELECT member, status FROM container_member "
                             "WHERE member NOT LIKE '%!%'"))
    assert statuses["sim/data"] == "container"
    assert statuses["sim/data/WiredTiger"] == "data-file"
    assert not list(spool.iterdir())  # the copies are gone


def test_building_again_loads_nothing_and_a_copy_elsewhere_nothing_twice(experiment, tmp_path):
    root, _ = experiment
    db = tmp_path / "w.sqlite"
    assert build(db, [root / "raw"]).ok
    summary = build(db, [root / "raw"])
    assert [f.status for f in summary.files] == ["skipped", "skipped"]
    with tarfile.open(tmp_path / "node2.tar", "w") as tar:
        tar.add(root / "raw" / "node2", "data")
    before = rows(db, "SELECT count(*) FROM source")
    summary = build(db, [tmp_path / "node2.tar"])
    assert summary.ok
    assert rows(db, "SELECT count(*) FROM source") == before
    assert sorted(f.status for f in summary.files if f.status != "container") == [
        "known", "known", "metadata", "metadata"]


def test_a_tarred_copy_known_from_a_loose_directory_loads_again_when_that_one_is_replaced(
        tmp_path):
    runs, timings = documents(0, 4)
    raw = tmp_path / "raw"
    write_mmapv1(raw / "node2", runs, timings)
    with tarfile.open(tmp_path / "node2.tar", "w") as tar:
        tar.add(raw / "node2", "node2")
    db = tmp_path / "w.sqlite"
    assert build(db, [raw], jobs=1).ok
    assert build(db, [tmp_path / "node2.tar"], jobs=1).ok  # its collections: known
    # the ledger says which source holds what the tar's copy holds …
    assert rows(db, "SELECT m.status, s.path FROM container_member AS m JOIN source AS s "
                    "USING (source_id) JOIN container AS c USING (container_id) "
                    "WHERE c.path LIKE '%.tar' AND m.member LIKE '%mixture_model_stats'") == [
        ("known", f"{raw}/node2!{DB}.mixture_model_stats")]
    write_mmapv1(raw / "node2", *documents(100, 4))  # … so replacing that source …
    assert build(db, [raw], replace=True, jobs=1).ok
    assert build(db, [raw, tmp_path / "node2.tar"], jobs=1).ok  # … reopens the tar
    ids = ", ".join(repr(run["simulation_run_id"]) for run in runs)
    assert rows(db, f"SELECT count(*) FROM run WHERE simulation_run_id IN ({ids})") == [(4,)]


def test_an_unclean_copy_is_said_and_loads_what_the_files_hold(tmp_path):
    runs, timings = documents(0, 5)
    write_mmapv1(tmp_path / "raw" / "node4", runs, timings, unclean=True)
    db = tmp_path / "w.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", str(tmp_path / "raw")])
    assert result.exit_code == 0, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"{tmp_path / 'raw' / 'node4'}: unclean copy")
    assert rows(db, "SELECT count(*) FROM run") == [(5,)]
    assert rows(db, "SELECT warnings LIKE 'unclean copy%' FROM container") == [(1,)]


@pytest.mark.parametrize("in_worker", [False, True])
def test_a_damaged_collection_fails_alone_at_its_offset(tmp_path, monkeypatch, in_worker):
    if in_worker:  # its pages read ahead by a process of their own
        monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    runs, timings = documents(0, 6)
    folder = tmp_path / "raw" / "node1"
    write_wiredtiger(folder, runs, timings, compressor="zlib")
    from warehouse.formats.wiredtiger import read_wiredtiger_dir

    table = next(c.path for c in read_wiredtiger_dir(folder).collections
                 if c.name == "mixture_model_stats")
    data = bytearray(table.read_bytes())
    data[4096 + 100] ^= 0xFF  # inside the first block after the descriptor
    table.write_bytes(bytes(data))
    db = tmp_path / "w.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", str(tmp_path / "raw")])
    assert result.exit_code == 1
    failure = [line for line in result.output.splitlines() if str(table) in line]
    assert failure and failure[0].startswith(f"{table}@")
    assert rows(db, "SELECT collection FROM source ORDER BY collection") == [
        ("notes",), ("simulation_timing",)]
    assert rows(db, "SELECT count(*) FROM run") == [(0,)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def test_directory_per_db_layouts(tmp_path):
    runs, timings = documents(0, 4)
    write_mmapv1(tmp_path / "raw" / "node5", runs, timings, directory_per_db=True)
    other_runs, other_timings = documents(4, 4)
    write_wiredtiger(tmp_path / "raw" / "node6", other_runs, other_timings,
                     directory_per_db=True)
    db = tmp_path / "w.sqlite"
    assert build(db, [tmp_path / "raw"]).ok
    assert rows(db, "SELECT node, count(*) FROM run GROUP BY node") == [("node5", 4), ("node6", 4)]


def test_a_zip_of_a_data_directory(experiment, tmp_path):
    root, expected = experiment
    with zipfile.ZipFile(tmp_path / "node2.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((root / "raw" / "node2").rglob("*")):
            archive.write(path, f"data/{path.relative_to(root / 'raw' / 'node2')}")
    db = tmp_path / "w.sqlite"
    assert build(db, [tmp_path / "node2.zip"]).ok
    assert rows(db, "SELECT count(*), min(node) FROM run") == [(8, "node2")]
    assert rows(db, "SELECT format FROM source WHERE collection = 'mixture_model_stats'") == [
        ("mongodb-mmapv1",)]


def test_the_first_collection_is_read_while_the_files_are_hashed(experiment, tmp_path,
                                                                   monkeypatch):
    """A new data directory: the worker begins its first collection before this process
    has hashed the files; a WiredTiger table's pages are read ahead for the worker. Once
    the ledger holds the directory, the hashes come first and nothing is read."""
    root, expected = experiment
    order: list = []
    hashes, send = datadirs.file_hashes, build_module._Workers.send
    monkeypatch.setattr(datadirs, "file_hashes", lambda files: (order.append("hashed"),
                                                                hashes(files))[1])
    monkeypatch.setattr(build_module._Workers, "send", lambda self, job: (
        order.append(("began", job.display.rsplit("/", 1)[1])), send(self, job))[1])
    ahead = tmp_path / "read-ahead"  # the worker's calls, written where this process sees them
    read_ahead = loading.read_ahead

    def noted(documents, path):
        with open(ahead, "a") as note:
            note.write(path.rsplit("!", 1)[1] + "\n")
        return read_ahead(documents, path)

    monkeypatch.setattr(loading, "read_ahead", noted)
    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    db = tmp_path / "w.sqlite"
    assert build(db, [root / "raw"]).ok
    assert snapshot(db) == expected
    assert order == [("began", f"node1!{DB}.mixture_model_stats"), "hashed",
                     ("began", f"node2!{DB}.mixture_model_stats"), "hashed"]
    assert sorted(ahead.read_text().split()) == [  # node1's, not the MMAPv1 node2's
        f"{DB}.mixture_model_stats", f"{DB}.notes", f"{DB}.simulation_timing"]
    order.clear()
    summary = build(db, [root / "raw"])
    assert [f.status for f in summary.files] == ["skipped", "skipped"]
    assert order == ["hashed", "hashed"]


def test_a_directory_failing_while_its_first_collection_is_read_leaves_the_next_whole(
        experiment, tmp_path, monkeypatch):
    """What the worker read of a directory that then failed is thrown away: the next
    directory's collections get none of it."""
    root, _ = experiment
    container_row = datadirs.container_row

    def failing(warehouse, source, *args, **options):
        if source.path.name == "node1":
            raise WarehouseError("cannot record the directory", str(source.path))
        return container_row(warehouse, source, *args, **options)

    monkeypatch.setattr(datadirs, "container_row", failing)
    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    db = tmp_path / "w.sqlite"
    summary = build(db, [root / "raw"])
    assert [f.path for f in summary.failed] == [str(root / "raw" / "node1")]
    alone = tmp_path / "node2.sqlite"
    assert build(alone, [root / "raw" / "node2"], node="node2").ok
    assert snapshot(db) == snapshot(alone)
    assert rows(db, "SELECT node, count(*) FROM run GROUP BY node") == [("node2", 8)]
