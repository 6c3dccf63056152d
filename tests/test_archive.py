"""read_archive / ArchiveReader on mongodump --archive files, and crc64.

Real archives come from mongo-tools' test fixtures in shared/realdata (README
section 2.1); the tests that need them skip when that folder is absent.
"""

from __future__ import annotations

import io
import os
import struct
from collections import Counter
from pathlib import Path

import bson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.errors import WarehouseError
from warehouse.formats import crc64
from warehouse.formats.archive import (
    MAGIC,
    TERMINATOR,
    ArchiveReader,
    looks_like_archive,
    read_archive,
    read_archive_prelude,
)
from warehouse.formats.bsonfile import CODEC_OPTIONS, read_bson

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
MT = REALDATA / "mongo-tools"
needs_realdata = pytest.mark.skipif(not MT.is_dir(), reason="shared/realdata/mongo-tools is absent")

RESTORE = "mongorestore/testdata"
TS = f"{RESTORE}/timeseries_tests"
BUCKETS = ("timeseries_test", "system.buckets.foo_ts")
VERSION = ("admin", "system.version")
VIEWS = ("admin", "system.views")

# file -> (server_version, tool_version, listed collections,
#          [(namespace, documents, stored CRC)] in order of first appearance)
ARCHIVES = {
    f"{RESTORE}/test.bar.archive": ("3.4.3", "r3.4.3", ["test.bar", "admin.system.version"], [
        (VERSION, 1, -682997726120892866),
        (("test", "bar"), 1, -7824457949569593127),
    ]),
    f"{RESTORE}/dump-w-oplog.archive": (
        "4.0.2", "r4.1.3-4-gd9eefb54", ["test.foo", ".oplog", "admin.system.version"], [
            (VERSION, 1, 914493570479648269),
            (("test", "foo"), 25, -7149850455237104254),
            (("", "oplog"), 18, -9206534501618249364),
        ]),
    f"{RESTORE}/bad-format.archive": ("4.0.14", "r4.2.2", ["test.ixtest"], [
        (("test", "ixtest"), 0, 0),
    ]),
    f"{TS}/dump.archive": (
        "5.0.0-rc0", "100.3.1-9-g6903606e-dirty",
        ["admin.system.views", "timeseries_test.foo_ts", "admin.system.version"], [
            (VERSION, 1, 5808966695042502227),
            (VIEWS, 0, 0),
            (BUCKETS, 10, 4620499534075225423),
        ]),
    f"history/97ebb79/{TS}/dump.archive": (
        "5.0.0-rc0", "100.3.1-9-g6903606e-dirty",
        ["admin.system.views", "timeseries_test.foo_ts", "admin.system.version"], [
            (VERSION, 1, 5808966695042502227),
            (VIEWS, 0, 0),
            (BUCKETS, 10, 363712516458175641),
        ]),
}


def read_all(data: bytes, path: str = "mem.archive") -> tuple[ArchiveReader, list]:
    reader = ArchiveReader(io.BytesIO(data), path)
    return reader, list(reader)


def bson_file_docs(relative: str) -> list[dict]:
    path = MT / relative
    with open(path, "rb") as stream:
        return [r.document for r in read_bson(stream, str(path))]


# -- crc64 --------------------------------------------------------------------------


def test_crc64_check_value_and_increments():
    assert crc64.crc64(b"123456789") == 0x995DC9BBDF1939FA
    assert crc64.update_python(crc64.INITIAL, b"123456789") == 0x995DC9BBDF1939FA
    assert crc64.crc64(b"") == crc64.INITIAL == 0
    data = os.urandom(5000)
    crc = crc64.INITIAL
    for start in range(0, len(data), 333):
        crc = crc64.update(crc, data[start:start + 333])
    assert crc == crc64.crc64(data) == crc64.update_python(crc64.INITIAL, data)
    assert crc64.BACKEND == "fastcrc"


def test_crc64_int64_conversion():
    assert crc64.to_int64(0x995DC9BBDF1939FA) == 0x995DC9BBDF1939FA - 2**64
    assert crc64.to_int64(5) == 5
    for value in (0, 1, 2**63 - 1, 2**63, 2**64 - 1):
        assert crc64.from_int64(crc64.to_int64(value)) == value


# -- real archives ----------------------------------------------------------------


@needs_realdata
@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_real_archive(name):
    server, tool, listed, expected = ARCHIVES[name]
    data = (MT / name).read_bytes()
    assert looks_like_archive(data[:4])
    reader, got = read_all(data, str(MT / name))
    assert reader.header["server_version"] == server
    assert reader.header["tool_version"] == tool
    assert reader.header["version"] == "0.1"
    assert [f"{c['db']}.{c['collection']}" for c in reader.collections] == listed
    assert all(c["size"] == 0 for c in reader.collections)
    found = [((ns.database, ns.collection), ns.documents, ns.stored_crc)
             for ns in reader.namespaces.values()]
    assert found == expected
    assert all(ns.closed for ns in reader.namespaces.values())
    assert Counter((r.database, r.collection) for r in got) == \
        {key: count for key, count, _ in expected if count}
    assert reader.missing_collections() == []
    for record in got:  # offsets point at the documents' bytes
        (length,) = struct.unpack_from("<i", data, record.offset)
        assert bson.decode(data[record.offset:record.offset + length], CODEC_OPTIONS) \
            == record.document


@needs_realdata
def test_read_archive_function_and_prelude():
    path = MT / RESTORE / "dump-w-oplog.archive"
    with open(path, "rb") as stream:
        got = list(read_archive(stream, str(path)))
    assert len(got) == 44
    assert {r.database for r in got} == {"admin", "test", ""}
    with open(path, "rb") as stream:
        reader = read_archive_prelude(stream, str(path))
        oplog = reader.collections[1]
        assert (oplog["db"], oplog["collection"], oplog["metadata"]) == ("", "oplog", None)
        assert reader.collections[0]["metadata"]["indexes"][0]["ns"] == "test.foo"
        assert len(list(reader)) == 44


@needs_realdata
def test_invalid_metadata_archive_still_readable():
    reader, got = read_all((MT / RESTORE / "bad-format.archive").read_bytes())
    (entry,) = reader.collections
    assert entry["metadata_valid"] is False
    assert isinstance(entry["metadata"], str) and entry["metadata"].startswith('{"options"')
    assert "invalid metadata JSON" in entry["metadata_error"]
    assert got == []
    assert reader.namespaces[("test", "ixtest")].closed


@needs_realdata
def test_metadata_of_every_era():
    test_bar, _ = read_all((MT / RESTORE / "test.bar.archive").read_bytes())
    version = test_bar.collections[1]["metadata"]
    assert version["indexes"][1]["v"] == bson.Decimal128("2")
    ts, _ = read_all((MT / TS / "dump.archive").read_bytes())
    types = {c["collection"]: c["type"] for c in ts.collections}
    assert types == {"system.views": "collection", "foo_ts": "timeseries",
                     "system.version": "collection"}
    assert ts.collections[1]["metadata"]["options"]["timeseries"]["timeField"] == "ts"


@needs_realdata
def test_timeseries_archives_match_their_bson_files():
    _, head = read_all((MT / TS / "dump.archive").read_bytes())
    _, original = read_all((MT / "history/97ebb79" / TS / "dump.archive").read_bytes())
    head_buckets = [r.document for r in head if (r.database, r.collection) == BUCKETS]
    original_buckets = [r.document for r in original if (r.database, r.collection) == BUCKETS]
    assert head_buckets == bson_file_docs(f"{TS}/ts_dump/timeseries_test/system.buckets.foo_ts.bson")
    single = MT / TS / "ts_single_buckets_file/system.buckets.foo_ts.bson"
    assert original_buckets == bson_file_docs(str(single.relative_to(MT)))
    assert b"".join(bson.encode(d, codec_options=CODEC_OPTIONS) for d in original_buckets) \
        == single.read_bytes()


@needs_realdata
def test_flipped_byte_gives_crc_mismatch(tmp_path):
    data = bytearray((MT / RESTORE / "test.bar.archive").read_bytes())
    position = data.index(b"bar\x00\x00") + 1  # inside the value of test.bar's only doc
    data[position] ^= 0x20  # "bar" -> "bAr": still valid BSON
    copy = tmp_path / "flipped.archive"
    copy.write_bytes(bytes(data))
    with open(copy, "rb") as stream, pytest.raises(WarehouseError) as info:
        list(read_archive(stream, str(copy)))
    error = info.value
    assert error.offset == 835  # the EOF header of test.bar
    assert error.path == str(copy)
    assert "CRC-64 mismatch for namespace test.bar: archive says -7824457949569593127" \
        in error.message


@needs_realdata
@pytest.mark.parametrize("name", [f"{RESTORE}/test.bar.archive", f"{RESTORE}/bad-format.archive"])
def test_truncated_archives_raise_warehouse_error(name):
    data = (MT / name).read_bytes()
    # A cut right after the prelude or after a namespace's EOF terminator,
    # where every namespace opened so far is closed, parses cleanly:
    # missing_collections() tells.
    for cut in range(len(data)):
        try:
            partial, _ = read_all(data[:cut])
        except WarehouseError as exc:
            assert exc.offset is not None and exc.offset <= cut
            continue
        assert partial.missing_collections(), cut
        assert all(ns.closed for ns in partial.namespaces.values())


@needs_realdata
def test_truncated_big_archive_at_several_points():
    data = (MT / TS / "dump.archive").read_bytes()
    for cut in [0, 3, 4, 50, 128, 1174, 1176, 1179, 1250, 1306, 1308, 1380, 1526, 1600,
                20000, 39630, 39631, 39633, 39635, 39700, 39721, 39723]:
        with pytest.raises(WarehouseError) as info:
            read_all(data[:cut])
        assert "cut short" in info.value.message or "not a mongodump archive" in info.value.message


# -- synthetic archives -----------------------------------------------------------


def build_archive(parts: list, collections=(("db", "c"),), crc_override=None) -> bytes:
    """parts: ("seg", db, coll, [docs]) or ("eof", db, coll)."""
    out = [MAGIC, bson.encode({"concurrent_collections": 1, "version": "0.1"})]
    for db, coll in collections:
        out.append(bson.encode({"db": db, "collection": coll, "metadata": "{}", "size": 0}))
    out.append(TERMINATOR)
    crcs: dict = {}
    for kind, db, coll, *rest in parts:
        if kind == "seg":
            out.append(bson.encode({"db": db, "collection": coll, "EOF": False, "CRC": 0}))
            for doc in rest[0]:
                raw = bson.encode(doc)
                crcs[(db, coll)] = crc64.update(crcs.get((db, coll), 0), raw)
                out.append(raw)
        else:
            crc = crc64.to_int64(crcs.get((db, coll), 0)) if crc_override is None else crc_override
            out.append(bson.encode({"db": db, "collection": coll, "EOF": True,
                                    "CRC": bson.Int64(crc)}))
        out.append(TERMINATOR)
    return b"".join(out)


def test_interleaved_segments_and_empty_ones():
    data = build_archive([
        ("seg", "db", "a", [{"i": 1}, {"i": 2}]),
        ("seg", "db", "b", []),
        ("seg", "db", "b", [{"j": 1}]),
        ("seg", "db", "a", [{"i": 3}]),
        ("eof", "db", "a"),
        ("eof", "db", "b"),
        ("eof", "db", "never_opened"),
    ], collections=[("db", "a"), ("db", "b")])
    reader, got = read_all(data)
    assert [(r.collection, r.document) for r in got] == [
        ("a", {"i": 1}), ("a", {"i": 2}), ("b", {"j": 1}), ("a", {"i": 3})]
    assert reader.namespaces[("db", "a")].documents == 3
    assert reader.namespaces[("db", "never_opened")].documents == 0


def test_archive_without_namespaces():
    reader, got = read_all(build_archive([], collections=[]))
    assert got == [] and reader.collections == [] and reader.header["version"] == "0.1"


def test_structural_errors():
    unclosed = build_archive([("seg", "db", "c", [{"x": 1}])])
    with pytest.raises(WarehouseError, match="no EOF header for namespace.*db.c"):
        read_all(unclosed)
    reopened = build_archive([("seg", "db", "c", []), ("eof", "db", "c"),
                              ("seg", "db", "c", [{"x": 1}])])
    with pytest.raises(WarehouseError, match="after its EOF header"):
        read_all(reopened)
    with pytest.raises(WarehouseError, match="CRC-64 mismatch for namespace db.c"):
        read_all(build_archive([("seg", "db", "c", [{"x": 1}]), ("eof", "db", "c")],
                               crc_override=12345))
    with pytest.raises(WarehouseError, match="unexpected terminator"):
        read_all(build_archive([]) + TERMINATOR)
    with pytest.raises(WarehouseError, match="not a mongodump archive") as info:
        read_all(b"\x00\x01\x02\x03rest")
    assert info.value.offset == 0
    no_db = build_archive([]) + bson.encode({"collection": "c", "EOF": False})
    with pytest.raises(WarehouseError, match="without string db"):
        read_all(no_db)
    eof_no_terminator = build_archive([("eof", "db", "c")])[:-4] + b"\x05\x00\x00\x00\x00"
    with pytest.raises(WarehouseError, match="expected the terminator"):
        read_all(eof_no_terminator)


def test_eof_without_crc_is_accepted():
    data = build_archive([("seg", "db", "c", [{"x": 1}])]) + \
        bson.encode({"db": "db", "collection": "c", "EOF": True}) + TERMINATOR
    reader, got = read_all(data)
    assert len(got) == 1 and reader.namespaces[("db", "c")].stored_crc is None


def test_looks_like_archive():
    assert looks_like_archive(MAGIC + b"\x00")
    assert not looks_like_archive(b"\x81\x99\xe2\x6d")
    assert not looks_like_archive(b"")


SMALL = build_archive([
    ("seg", "db", "a", [{"i": 1}, {"s": "text"}]),
    ("seg", "db", "b", []),
    ("eof", "db", "a"),
    ("eof", "db", "b"),
], collections=[("db", "a"), ("db", "b")])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_after_magic_parse_or_raise(data):
    for candidate in (data, MAGIC + data):
        try:
            read_all(candidate)
        except WarehouseError as exc:
            assert exc.offset is not None


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(SMALL) - 1), st.integers(0, 255), st.integers(0, len(SMALL)))
def test_mutated_archives_parse_or_raise(position, value, cut):
    data = bytearray(SMALL[:cut])
    if position < len(data):
        data[position] = value
    try:
        read_all(bytes(data))
    except WarehouseError as exc:
        assert exc.offset is not None
