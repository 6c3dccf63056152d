"""mongodump output through the whole build: dump folders, archives, the ledger,
failures, unknown collections and the BSON values JSON exports flatten."""

from __future__ import annotations

import gzip
import json
import math
import sqlite3
from collections import Counter
from pathlib import Path

import bson
import pytest
from bson import Decimal128, Int64, ObjectId, json_util
from bson.binary import Binary
from bson.codec_options import DatetimeConversion
from bson.datetime_ms import DatetimeMS
from bson.json_util import JSONOptions
from click.testing import CliRunner

from warehouse.demo import compressed, dialects, dumpwriter
from warehouse.pipeline.build import build
from warehouse.cli import main
from warehouse.demo import DATABASE, generate, make_timing, timing_rng
from warehouse.formats.bsonfile import CODEC_OPTIONS
from warehouse.profiles.ctmixtures import TABLES

DB = DATABASE  # equifinality-3_samples_raw
READ_BACK = JSONOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)


def runs_and_timings(n: int, seed: int = 5) -> tuple[list[dict], list[dict]]:
    runs = list(generate(n, seed))
    return runs, [make_timing(run, timing_rng(seed, i)) for i, run in enumerate(runs)]


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def rows(db: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql, params).fetchall()


def data_rows(db: Path) -> int:
    return sum(rows(db, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES)


# -- dump folders --------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_dump_folder_loads_with_namespace_metadata_and_prelude(tmp_path, compression):
    runs, timings = runs_and_timings(3)
    out = tmp_path / "node1" / "dump"
    bson_runs = dumpwriter.write_collection(out, DB, "mixture_model_stats", runs, compression)
    dumpwriter.write_collection(out, DB, "simulation_timing", timings, compression)
    prelude = '{"ServerVersion":"3.0.15","ToolVersion":"r3.0.15"}'
    (out / "prelude.json").write_text(prelude)
    db = tmp_path / "w.sqlite"

    summary = build(db, [tmp_path])

    assert summary.ok
    statuses = Counter(f.status for f in summary.files)
    assert statuses == {"loaded": 2, "companion": 3}  # 2 metadata files and the prelude
    assert rows(db, "SELECT node, format, compression, database_name, collection, documents, "
                    "runs, dump_header FROM source ORDER BY source_id") == [
        ("node1", "mongodump-bson", compression, DB, "mixture_model_stats", 3, 3, prelude),
        ("node1", "mongodump-bson", compression, DB, "simulation_timing", 3, 0, prelude)]
    metadata = rows(db, "SELECT database_name, collection, documents, metadata "
                        "FROM source_namespace ORDER BY source_id")
    assert [m[:3] for m in metadata] == [(DB, "mixture_model_stats", 3),
                                         (DB, "simulation_timing", 3)]
    assert metadata[0][3] == dumpwriter.metadata_json(DB, "mixture_model_stats")
    assert bson_runs.name == "mixture_model_stats.bson" + {"none": "", "gzip": ".gz",
                                                           "zstd": ".zst"}[compression]
    # the timing collection has its own table, joinable to the runs
    joined = rows(db, "SELECT r.simulation_run_id, t.elapsed_time, t.run_length, t.popsize "
                      "FROM run AS r JOIN simulation_timing AS t USING (simulation_run_id) "
                      "ORDER BY r.run_id")
    assert joined == [(t["simulation_run_id"], t["elapsed_time"], 4_000_000, 100)
                      for t in timings]
    assert rows(db, "SELECT count(*) FROM document") == [(0,)]


def test_odd_names_oplog_and_empty_collections(tmp_path):
    out = tmp_path / "dump"
    weird = dumpwriter.write_collection(out, "db1", "cafés/x", [{"_id": 1}, {"_id": 2}])
    assert weird.name == "caf%C3%A9s%2Fx.bson"
    with open(out / "oplog.bson", "wb") as fh:  # mongodump --oplog: at the top, no database
        dumpwriter.write_bson(fh, [{"op": "i", "ns": "db1.c", "o": {"_id": 3}}])
    (out / "db1" / "nothing.bson").write_bytes(b"")  # an empty collection
    (out / "db1" / "nothing.metadata.json").write_text('{"options":{},"indexes":[]}')
    (out / "db1" / "none_either.bson.gz").write_bytes(gzip.compress(b""))
    db = tmp_path / "w.sqlite"

    summary = build(db, [out])

    assert summary.ok
    by_name = {Path(f.path).name: f for f in summary.files}
    assert by_name["nothing.bson"].status == "empty"
    assert by_name["none_either.bson.gz"].status == "loaded"
    assert by_name["none_either.bson.gz"].documents == 0
    assert rows(db, "SELECT database_name, collection, documents FROM source ORDER BY path") == [
        ("db1", "cafés/x", 2), ("db1", "none_either", 0), ("", "oplog", 1)]
    assert rows(db, "SELECT database_name, collection, count(*) FROM document "
                    "GROUP BY 1, 2 ORDER BY 1") == [("", "oplog", 1), ("db1", "cafés/x", 2)]


def test_an_empty_file_of_another_name_still_fails(tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"")
    (tmp_path / "c.bson").write_bytes(b"")
    summary = build(tmp_path / "w.sqlite", [tmp_path])
    assert [(Path(f.path).name, f.status) for f in summary.files] == [
        ("c.bson", "empty"), ("notes.txt", "failed")]
    assert summary.failed[0].error.message == "empty file"


def test_format_is_told_by_content_not_by_name(tmp_path):
    # a 91-byte document starts with "[", an 8315-byte one with "{ ": still BSON
    bracket = {"s": "x" * 78}
    brace = {"s": "x" * 8302}
    for doc, first in ((bracket, b"[\x00"), (brace, b"{ ")):
        assert bson.encode(doc)[:2] == first
    (tmp_path / "a.dat").write_bytes(bson.encode(bracket) * 2)
    (tmp_path / "b.dat").write_bytes(bson.encode(brace))
    garbage = tmp_path / "dump" / "db" / "c.bson"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"\x13\x37" * 40)
    db = tmp_path / "w.sqlite"

    summary = build(db, [tmp_path])

    outcomes = {Path(f.path).name: f for f in summary.files}
    assert (outcomes["a.dat"].format, outcomes["a.dat"].documents) == ("mongodump-bson", 2)
    assert (outcomes["b.dat"].format, outcomes["b.dat"].documents) == ("mongodump-bson", 1)
    # a .bson file that is not BSON: the error says what is wrong, not "unknown format"
    error = outcomes["c.bson"].error
    assert str(error) == f"{garbage}@0: bad BSON document length 924006163: more than the " \
                         f"limit of {64 << 20} bytes"


# -- archives -------------------------------------------------------------------------


def write_archive(path: Path, compression: str = "none", *, runs=None, timings=None,
                  notes=({"_id": 1, "note": "hello"}, {"_id": 2, "note": "world"})) -> Path:
    """Runs, timings and an unknown collection, their segments interleaved."""
    if runs is None:
        runs, timings = runs_and_timings(4)
    listed = [(DB, "mixture_model_stats"), (DB, "simulation_timing"), (DB, "notes")]
    path.parent.mkdir(parents=True, exist_ok=True)
    with compressed.open_writer(path, compression) as fh:
        writer = dumpwriter.ArchiveWriter(fh, listed)
        writer.segment(DB, "mixture_model_stats", runs[:2])
        writer.segment(DB, "simulation_timing", timings[:2])
        writer.segment(DB, "notes", notes)
        writer.segment(DB, "mixture_model_stats", runs[2:])
        writer.segment(DB, "simulation_timing", timings[2:])
        writer.close()
    return path


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_archive_ledger_and_namespaces(tmp_path, compression):
    path = write_archive(tmp_path / "node1" / "eq.archive", compression)
    db = tmp_path / "w.sqlite"

    summary = build(db, [tmp_path])

    assert summary.ok
    (outcome,) = summary.files
    assert (outcome.format, outcome.documents, outcome.runs) == ("mongodump-archive", 10, 4)
    assert outcome.unknown_collections == Counter({"notes": 2})
    ((database, collections, header),) = rows(
        db, "SELECT database_name, collection, dump_header FROM source WHERE path = ?", str(path))
    assert (database, collections) == (DB, "mixture_model_stats,simulation_timing,notes")
    assert json.loads(header)["tool_version"] == dumpwriter.TOOL_VERSION
    assert rows(db, "SELECT collection, documents, metadata FROM source_namespace "
                    "ORDER BY collection") == [
        (c, n, dumpwriter.metadata_json(DB, c))
        for c, n in (("mixture_model_stats", 4), ("notes", 2), ("simulation_timing", 4))]
    assert rows(db, "SELECT count(*) FROM run JOIN simulation_timing USING (simulation_run_id)") \
        == [(4,)]
    assert rows(db, "SELECT database_name, collection, body FROM document ORDER BY document_id") \
        == [(DB, "notes", '{"_id": 1, "note": "hello"}'),
            (DB, "notes", '{"_id": 2, "note": "world"}')]


def test_crc_mismatch_fails_the_file_alone(tmp_path):
    good_runs, good_timings = runs_and_timings(2, seed=8)
    dumpwriter.write_collection(tmp_path / "raw" / "node1" / "dump", DB, "mixture_model_stats",
                                good_runs)
    bad = write_archive(tmp_path / "raw" / "node2" / "eq.archive")
    data = bad.read_bytes()
    bad.write_bytes(data.replace(b"hello", b"jello"))  # still valid BSON, other CRC
    crc = dumpwriter.crc64.to_int64(dumpwriter.crc64.crc64(
        b"".join(bson.encode(d) for d in ({"_id": 1, "note": "hello"},
                                          {"_id": 2, "note": "world"}))))
    eof = bson.encode({"db": DB, "collection": "notes", "EOF": True, "CRC": Int64(crc)})
    offset = data.index(eof)
    db = tmp_path / "w.sqlite"

    summary = build(db, [tmp_path / "raw"])

    (failed,) = summary.failed
    assert failed.path == str(bad)
    assert failed.error.offset == offset
    assert str(failed.error).startswith(
        f"{bad}@{offset}: CRC-64 mismatch for namespace {DB}.notes: archive says {crc}")
    assert (failed.runs, failed.rows) == (0, 0)
    # nothing of the archive was committed, though its runs came before the bad namespace
    assert rows(db, "SELECT path FROM source") == [(str(next((tmp_path / "raw").rglob("*.bson"))),)]
    assert rows(db, "SELECT count(*) FROM run") == [(2,)]
    assert rows(db, "SELECT count(*) FROM simulation_timing") == [(0,)]
    assert rows(db, "SELECT count(*) FROM source_namespace") == [(1,)]

    db2 = tmp_path / "w2.sqlite"
    result = run_cli("build", "--db", str(db2), "-q", str(tmp_path / "raw"))
    assert result.exit_code == 1
    assert result.output.splitlines() == [str(failed.error)]
    assert rows(db2, "SELECT count(*) FROM run") == [(2,)]


def test_archive_cut_between_namespaces_is_an_error(tmp_path):
    runs, timings = runs_and_timings(3)
    path = tmp_path / "cut.archive"
    with open(path, "wb") as fh:
        writer = dumpwriter.ArchiveWriter(fh, [(DB, "mixture_model_stats"),
                                               (DB, "simulation_timing")])
        writer.segment(DB, "mixture_model_stats", runs)
        writer.finish(DB, "mixture_model_stats")
        cut = fh.tell()
        writer.segment(DB, "simulation_timing", timings)
        writer.close()
    whole = path.read_bytes()
    path.write_bytes(whole[:cut])
    db = tmp_path / "w.sqlite"

    summary = build(db, [path])

    (failed,) = summary.failed
    assert str(failed.error) == (f"{path}@{cut}: archive cut short: no data for "
                                 f"{DB}.simulation_timing, listed in its header")
    assert data_rows(db) == 0 and rows(db, "SELECT count(*) FROM source") == [(0,)]
    path.write_bytes(whole[:cut + 7])  # and inside the next segment's header
    assert "archive cut short in a namespace header" in \
        str(build(tmp_path / "w3.sqlite", [path]).failed[0].error)


# -- unknown collections and BSON values --------------------------------------------


ODD = {
    "_id": ObjectId("5f0c1b2a3d4e5f6071829304"),
    "long": Int64(2**62 + 1),
    "small_long": Int64(7),
    "decimal": Decimal128("1.000000000000000000000000000000001E+6000"),
    "before_year_1": DatetimeMS(-(2**62)),
    "after_year_9999": DatetimeMS(253_402_300_800_000),
    "epoch": DatetimeMS(0),
    "bytes": Binary(b"\x00\xff\x10", 0),
    "uuid": Binary(bytes(range(16)), 4),
    "user_binary": Binary(b"\x01", 0x80),
    "nested": [{"when": DatetimeMS(-1)}, Decimal128("NaN"), float("inf")],
}


def read_back(body: str) -> dict:
    return json_util.loads(body, json_options=READ_BACK)


def test_bson_values_are_kept_exactly_wherever_they_appear(tmp_path):
    runs, timings = runs_and_timings(1)
    runs[0]["extra"] = ODD  # a field the profile does not know: run_extra
    runs[0]["random_seed"] = Int64(runs[0]["random_seed"])
    timings[0]["extra"] = ODD  # kept in the timing document
    out = tmp_path / "dump"
    dumpwriter.write_collection(out, DB, "mixture_model_stats", runs)
    dumpwriter.write_collection(out, DB, "simulation_timing", timings)
    dumpwriter.write_collection(out, DB, "odd", [ODD])
    db = tmp_path / "w.sqlite"

    summary = build(db, [out])

    assert summary.ok
    expected = bson.decode(bson.encode(ODD), CODEC_OPTIONS)
    assert expected["bytes"] == b"\x00\xff\x10"  # sanity: what the reader gives
    ((body,),) = rows(db, "SELECT body FROM document")
    assert read_back(body) == expected
    ((extra,),) = rows(db, "SELECT value FROM run_extra WHERE field = 'extra'")
    assert read_back(extra) == expected
    ((document,),) = rows(db, "SELECT document FROM simulation_timing")
    assert read_back(document)["extra"] == expected
    assert rows(db, "SELECT value, typeof(value) FROM parameter WHERE name = 'random_seed'") == [
        (runs[0]["random_seed"], "integer")]
    # the spelling of the values that JSON exports flatten
    assert '"long": 4611686018427387905' in body
    assert '"decimal": {"$numberDecimal": "1.000000000000000000000000000000001E+6000"}' in body
    assert '"before_year_1": {"$date": {"$numberLong": "-4611686018427387904"}}' in body
    assert '"epoch": {"$date": "1970-01-01T00:00:00Z"}' in body
    assert '"uuid": {"$binary": {"base64": "AAECAwQFBgcICQoLDA0ODw==", "subType": "04"}}' in body
    assert math.isinf(read_back(body)["nested"][2])


def test_a_value_no_column_can_hold_fails_its_file_without_crashing(tmp_path):
    runs, timings = runs_and_timings(2)
    timings[1]["elapsed_time"] = Decimal128("1234.5")
    out = tmp_path / "dump"
    dumpwriter.write_collection(out, DB, "mixture_model_stats", runs)
    bad = dumpwriter.write_collection(out, DB, "simulation_timing", timings)
    db = tmp_path / "w.sqlite"

    result = run_cli("build", "--db", str(db), "-q", str(out))

    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith(f"{bad}: a value SQLite cannot store") and "Decimal128" in line
    assert rows(db, "SELECT collection FROM source") == [("mixture_model_stats",)]
    assert rows(db, "SELECT count(*) FROM simulation_timing") == [(0,)]


def test_unknown_collections_are_reported_by_the_cli(tmp_path):
    write_archive(tmp_path / "node1" / "a.archive")
    out = tmp_path / "node2" / "dump"
    dumpwriter.write_collection(out, "admin", "system.version", [{"_id": "x", "version": "3.0"}])
    dumpwriter.write_collection(out, DB, "notes", [{"n": i} for i in range(3)])

    result = run_cli("build", "--db", str(tmp_path / "w.sqlite"), str(tmp_path))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        f"{tmp_path / 'w.sqlite'}: 6 documents of collections the profile does not know, "
        "kept whole in the document table: notes 5, system.version 1")


def test_archive_listing_a_collection_twice_still_loads(tmp_path):
    path = tmp_path / "twice.archive"
    with open(path, "wb") as fh:
        writer = dumpwriter.ArchiveWriter(fh, [("db", "c"), ("db", "c")])
        writer.segment("db", "c", [{"x": 1}])
        writer.segment("local", "oplog.rs", [{"op": "n"}])  # not listed: recorded too
        writer.close()
    db = tmp_path / "w.sqlite"
    assert build(db, [path]).ok
    assert rows(db, "SELECT database_name, collection, documents, metadata IS NOT NULL "
                    "FROM source_namespace ORDER BY 1") == [("db", "c", 1, 1),
                                                           ("local", "oplog.rs", 1, 0)]
