"""read_bson, looks_like_bson and the mongodump directory helpers.

Real files come from mongo-tools' test fixtures in shared/realdata (see its
README, section 2); the tests that need them skip when that folder is absent.
"""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import bson
import pytest
from bson.dbref import DBRef
from bson.max_key import MaxKey
from bson.min_key import MinKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.errors import WarehouseError
from warehouse.formats.bsonfile import (
    CODEC_OPTIONS,
    looks_like_bson,
    read_bson,
)
from warehouse.formats.dumpdir import (
    JSON_OPTIONS,
    bson_namespace,
    is_companion,
    read_metadata,
)

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
MT = REALDATA / "mongo-tools"
needs_realdata = pytest.mark.skipif(not MT.is_dir(), reason="shared/realdata/mongo-tools is absent")

RESTORE = "mongorestore/testdata"
OPLOGS = f"{RESTORE}/oplogs"
TWINS = [
    ("bsondump/testdata/sample.bson", "bsondump/testdata/sample.json", 4),
    ("mongodump/testdata/importCollection.bson", "mongodump/testdata/importCollection.json", 1),
] + [
    (f"{OPLOGS}/bson/{name}.bson", f"{OPLOGS}/json/{name}.json", count)
    for name, count in [
        ("collMod", 1), ("collMod_with_hidden", 2), ("commit_index", 2),
        ("create_index", 1), ("drop_collection", 1), ("drop_db", 1), ("drop_index", 1),
        ("vectored_insert", 1), ("linked_vectored_inserts", 2),
    ]
]

TS = f"{RESTORE}/timeseries_tests"
QA = "test/qa-tests/jstests/restore/testdata"
DIRECTORY_DUMPS = [
    (f"{TS}/ts_dump/admin/system.version.bson", 1),
    (f"{TS}/ts_dump/admin/system.views.bson", 0),
    (f"{TS}/ts_dump/timeseries_test/system.buckets.foo_ts.bson", 10),
    (f"{TS}/ts_single_buckets_file/system.buckets.foo_ts.bson", 10),
    (f"{TS}/ts_dump_with_oplog/oplog.bson", 872),
    (f"{TS}/ts_dump_with_oplog/timeseries_test/system.buckets.foo_ts.bson", 10),
    (f"{TS}/ts_dump_with_oplog/admin/system.version.bson", 1),
    (f"{TS}/ts_dump_with_oplog/admin/system.views.bson", 0),
    (f"{TS}/ts_dump_with_oplog/config/external_validation_keys.bson", 0),
    (f"{RESTORE}/oplogdump/oplog.bson", 3),
    (f"{RESTORE}/oplogdump/db1/c1.bson", 5),
    (f"{RESTORE}/oplogdump/admin/system.version.bson", 1),
    (f"{RESTORE}/prelude_test/prelude_top_level/test/foo.bson", 1),
    (f"{RESTORE}/prelude_test/prelude_gzip/test/foo.bson.gz", 1),
    (f"{RESTORE}/dump_local_oplog/local/oplog.rs.bson", 100),
    (f"{RESTORE}/specialcharacter/db1/caf%C3%A9s.bson", 1),
    (f"{RESTORE}/indextestdump/indextest/test_collection.bson", 100),
    (f"{RESTORE}/duplicate_index_key/indextest/duplicate_index_key.bson", 0),
    (f"{RESTORE}/hashedIndexes.bson", 2),
    (f"{RESTORE}/testdirs/db1/c1.bson", 100),
    (f"{RESTORE}/testdirs/db1/c4.bson", 10),
    (f"{RESTORE}/testdirs/db1/c2.bson", 0),
    (f"{RESTORE}/testdirs/db1/c3.bson", 0),
    (f"{RESTORE}/testdirs/db1/baddir/out.bson", 0),
    (f"{RESTORE}/testdirs/oplog.bson", 0),
    (f"{QA}/dump_with_oplog/test/data.bson", 10),
    (f"{QA}/dump_with_oplog/test/system.indexes.bson", 1),
    (f"{QA}/dump_with_oplog/oplog.bson", 5),
    (f"{QA}/dump_extended_json_options/test/changelog.bson", 13),
    ("test/legacy42/jstests/tool/data/dumprestore6/foo.bson", 1),
    ("test/legacy42/jstests/tool/data/dumprestore6/system.indexes.bson", 2),
]

SAMPLE = "bsondump/testdata/sample.bson"


def records(path: Path, **kwargs):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        return list(read_bson(stream, str(path), **kwargs))


def records_of(data: bytes, **kwargs):
    return list(read_bson(io.BytesIO(data), "mem.bson", **kwargs))


def json_twin(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return bson.json_util.loads(text, json_options=JSON_OPTIONS)
    return [bson.json_util.loads(line, json_options=JSON_OPTIONS)
            for line in text.splitlines() if line.strip()]


# -- real files -----------------------------------------------------------------


@needs_realdata
@pytest.mark.parametrize("bson_name, json_name, count", TWINS,
                         ids=[Path(t[0]).stem for t in TWINS])
def test_bson_matches_its_json_twin(bson_name, json_name, count):
    got = records(MT / bson_name)
    expected = json_twin(MT / json_name)
    assert len(got) == len(expected) == count
    assert [r.document for r in got] == expected
    raw = (MT / bson_name).read_bytes()
    assert b"".join(bson.encode(doc) for doc in expected) == raw
    assert b"".join(bson.encode(r.document, codec_options=CODEC_OPTIONS) for r in got) == raw


@needs_realdata
@pytest.mark.parametrize("name, count", DIRECTORY_DUMPS, ids=[d[0] for d in DIRECTORY_DUMPS])
def test_directory_dump_counts(name, count):
    got = records(MT / name)
    assert len(got) == count
    assert all(r.database is None and r.line is None for r in got)


@needs_realdata
def test_offsets_point_at_each_document():
    data = (MT / SAMPLE).read_bytes()
    got = records(MT / SAMPLE)
    assert [r.offset for r in got][0] == 0
    for record in got:
        (length,) = struct.unpack_from("<i", data, record.offset)
        assert bson.decode(data[record.offset:record.offset + length], CODEC_OPTIONS) == record.document
    assert got[-1].offset + len(bson.encode(got[-1].document)) == len(data) == 283


@needs_realdata
def test_buckets_hold_1000_measurements():
    got = records(MT / TS / "ts_dump/timeseries_test/system.buckets.foo_ts.bson")
    assert sum(len(r.document["data"]["ts"]) for r in got) == 1000
    assert sorted(r.document["meta"]["device"] for r in got) == list(range(10))


@needs_realdata
def test_all_types_decode_without_crashing():
    got = [r.document for r in records(MT / "bsondump/testdata/all_types.bson")]
    assert len(got) == 20
    values = {doc["type"]: doc["ex"] for doc in got}
    assert isinstance(values["min"], MinKey)
    assert isinstance(values["dbpointer"], DBRef)  # DBPointer comes back as a DBRef
    assert values["undefined"] is None
    assert isinstance(values["date"], bson.DatetimeMS)


@needs_realdata
def test_all_in_one_doc_decodes():
    (record,) = records(MT / "bsondump/testdata/all_in_one_doc.bson")
    doc = record.document
    assert len(doc) == 20
    assert isinstance(doc["maxkey"], MaxKey)
    assert isinstance(doc["dbpointer"], DBRef)
    assert isinstance(doc["date"], bson.DatetimeMS)


@needs_realdata
@pytest.mark.parametrize("name, good_docs, offset", [
    ("bad_type.bson", 0, 0),
    ("bad_cstring.bson", 0, 0),
    ("partial_file.bson", 2, 164),
    ("random_bytes.bson", 0, 0),
    ("invalid_field_name.bson", 4, 283),  # a dotted name is valid BSON; 1 stray byte is not
])
def test_corrupt_files_raise_with_offset(name, good_docs, offset):
    path = MT / "bsondump/testdata" / name
    got = []
    with open(path, "rb") as stream, pytest.raises(WarehouseError) as info:
        for record in read_bson(stream, str(path)):
            got.append(record)
    assert len(got) == good_docs
    assert info.value.offset == offset
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}@{offset}: ")


@needs_realdata
def test_truncated_sample_at_every_byte():
    data = (MT / SAMPLE).read_bytes()
    boundaries = {0} | {r.offset for r in records(MT / SAMPLE)} | {len(data)}
    for cut in range(len(data) + 1):
        if cut in boundaries:
            records_of(data[:cut])
            continue
        with pytest.raises(WarehouseError) as info:
            records_of(data[:cut])
        assert info.value.offset is not None and info.value.offset < cut


@needs_realdata
def test_looks_like_bson_on_real_heads():
    for name, count in DIRECTORY_DUMPS:
        path = MT / name
        if count and not name.endswith(".gz"):
            assert looks_like_bson(path.read_bytes()[:16]), name
    assert not looks_like_bson((MT / "bsondump/testdata/random_bytes.bson").read_bytes()[:16])
    assert not looks_like_bson((MT / "bsondump/testdata/sample.json").read_bytes()[:16])
    assert not looks_like_bson((MT / RESTORE / "test.bar.archive").read_bytes()[:16])


# -- metadata and names -----------------------------------------------------------


@needs_realdata
def test_every_real_metadata_file_parses():
    paths = sorted(MT.rglob("*.metadata.json*"))
    assert len(paths) > 20
    for path in paths:
        if path.stat().st_size == 0:
            with pytest.raises(WarehouseError):
                read_metadata(path)
            continue
        metadata = read_metadata(path)
        assert isinstance(metadata, dict), path


@needs_realdata
def test_metadata_of_both_eras():
    changelog = read_metadata(MT / QA / "dump_extended_json_options/test/changelog.metadata.json")
    assert changelog["options"]["size"] == 10000000  # legacy {"$numberLong": ...}
    foo_ts = read_metadata(MT / TS / "ts_dump/timeseries_test/foo_ts.metadata.json")
    assert foo_ts["type"] == "timeseries"
    assert foo_ts["options"]["timeseries"]["bucketMaxSpanSeconds"] == 3600
    cafes = read_metadata(MT / RESTORE / "specialcharacter/db1/caf%C3%A9s.metadata.json")
    assert cafes["indexes"][0]["ns"] == "test.cafés"


@needs_realdata
def test_gzipped_companions_equal_plain_ones():
    plain = MT / RESTORE / "prelude_test/prelude_top_level"
    gzipped = MT / RESTORE / "prelude_test/prelude_gzip"
    assert read_metadata(plain / "prelude.json") == {"ServerVersion": "7.0.16", "ToolVersion": ""}
    assert read_metadata(gzipped / "prelude.json.gz") == read_metadata(plain / "prelude.json")
    assert read_metadata(gzipped / "test/foo.metadata.json.gz") == \
        read_metadata(plain / "test/foo.metadata.json")
    assert [r.document for r in records(gzipped / "test/foo.bson.gz")] == \
        [r.document for r in records(plain / "test/foo.bson")]


def test_read_metadata_errors(tmp_path):
    bad = tmp_path / "c.metadata.json"
    bad.write_text('{"options": {}, "indexes": [\n{"key": {"a":"b"}}}')
    with pytest.raises(WarehouseError) as info:
        read_metadata(bad)
    assert info.value.path == str(bad) and info.value.line == 2
    bad.write_bytes(gzip.compress(b"[1, 2]"))
    with pytest.raises(WarehouseError, match="not an object"):
        read_metadata(bad)
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(WarehouseError, match="gzip"):
        read_metadata(bad)
    bad.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(WarehouseError, match="UTF-8"):
        read_metadata(bad)


def test_bson_namespace():
    assert bson_namespace("dump/db1/caf%C3%A9s.bson") == ("db1", "cafés")
    assert bson_namespace(Path("dump/test/foo.bson.gz")) == ("test", "foo")
    assert bson_namespace("d/timeseries_test/system.buckets.foo_ts.bson") == \
        ("timeseries_test", "system.buckets.foo_ts")
    assert bson_namespace("dump/db/a+b%2Fc.bson") == ("db", "a+b/c")
    for bad in ["dump/db/foo.json", "dump/db/.bson", "dump/db/%FF.bson"]:
        with pytest.raises(WarehouseError):
            bson_namespace(bad)


def test_is_companion():
    for name in ["a/b.metadata.json", "b.metadata.json.gz", "dump/prelude.json",
                 "prelude.json.gz", "x/system.buckets.foo_ts.metadata.json"]:
        assert is_companion(name), name
    for name in ["a/b.bson", "b.bson.gz", "metadata.json.bson", "oplog.bson", "prelude.bson",
                 "a/b.json"]:
        assert not is_companion(name), name


# -- synthetic streams ------------------------------------------------------------


DOCS = [{"_id": i, "name": "x" * i, "nested": {"v": [i, float(i)]}} for i in range(5)]
DATA = b"".join(bson.encode(d) for d in DOCS)


class Trickle(io.RawIOBase):
    """A stream that returns at most 3 bytes per read, like some decompressors."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self.inner.read(min(size, 3) if size >= 0 else 3)


def test_synthetic_round_trip_and_short_reads():
    got = records_of(DATA)
    assert [r.document for r in got] == DOCS
    trickled = list(read_bson(Trickle(DATA), "t.bson"))
    assert trickled == got
    assert records_of(b"") == []


def test_empty_document_and_bounds():
    empty = b"\x05\x00\x00\x00\x00"
    assert [r.document for r in records_of(empty * 3)] == [{}, {}, {}]
    assert [r.offset for r in records_of(empty * 3)] == [0, 5, 10]
    big = bson.encode({"s": "x" * 1000})
    with pytest.raises(WarehouseError, match="limit of 100 bytes") as info:
        records_of(empty + big, max_document=100)
    assert info.value.offset == 5
    with pytest.raises(WarehouseError, match="length 4"):
        records_of(b"\x04\x00\x00\x00\x00")
    with pytest.raises(WarehouseError, match="length -2"):
        records_of(b"\xfe\xff\xff\xff\x00")
    with pytest.raises(WarehouseError, match="NUL"):
        records_of(big[:-1] + b"\x01")


def test_cut_short_message():
    first = bson.encode(DOCS[0])
    with pytest.raises(WarehouseError) as info:
        records_of(first + DATA[len(first):len(first) + 20])
    assert info.value.offset == len(first)
    assert info.value.message == \
        f"BSON document cut short: expected {len(bson.encode(DOCS[1]))} bytes, found 20"


def test_out_of_range_dates_and_bad_utf8():
    far = b"\x10\x00\x00\x00\x09d\x00" + struct.pack("<q", 2**62) + b"\x00"
    (record,) = records_of(far)
    assert record.document["d"] == bson.DatetimeMS(2**62)
    bad_utf8 = bson.encode({"s": "ab"}).replace(b"ab", b"a\xff")
    with pytest.raises(WarehouseError, match="invalid BSON"):
        records_of(bad_utf8)


def test_looks_like_bson_synthetic():
    assert looks_like_bson(DATA[:8])
    assert looks_like_bson(b"\x05\x00\x00\x00\x00")
    assert not looks_like_bson(b"\x06\x00\x00\x00\x00\x00")  # empty doc must be 5 bytes
    assert not looks_like_bson(b"\x10\x00\x00\x00\xaa")  # no such type
    assert not looks_like_bson(b'{"a": 1}')
    assert not looks_like_bson(b"\x05\x00")
    assert not looks_like_bson(b"")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_parse_or_raise_warehouse_error(data):
    try:
        records_of(data)
    except WarehouseError as exc:
        assert exc.offset is not None


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(DATA) - 1), st.integers(0, 255), st.integers(1, len(DATA)))
def test_mutated_documents_parse_or_raise_warehouse_error(position, value, cut):
    data = bytearray(DATA[:cut])
    if position < len(data):
        data[position] = value
    try:
        records_of(bytes(data))
    except WarehouseError as exc:
        assert exc.offset is not None
