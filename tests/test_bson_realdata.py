"""Every real mongo-tools fixture under shared/realdata, through build().

Facts come from shared/realdata/README.md, section 2. The files are read in
place (never copied into the project); the tests skip when they are absent.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import bson
import pytest
from bson import json_util
from bson.codec_options import DatetimeConversion
from bson.json_util import JSONOptions

from warehouse.pipeline.build import build
from warehouse.errors import WarehouseError
from warehouse.formats.bsonfile import CODEC_OPTIONS
from warehouse.formats.dumpdir import parse_metadata_json

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
MT = REALDATA / "mongo-tools"
pytestmark = pytest.mark.skipif(not MT.is_dir(), reason="shared/realdata/mongo-tools is absent")

RESTORE = "mongorestore/testdata"
TS = f"{RESTORE}/timeseries_tests"
QA = "test/qa-tests/jstests/restore/testdata"
OPLOGS = f"{RESTORE}/oplogs"

# .bson files: (database, collection, documents). The database is the folder's
# name; a dump's top-level oplog.bson has database "".
BSON_FILES = {
    "bsondump/testdata/sample.bson": ("testdata", "sample", 4),
    "bsondump/testdata/all_types.bson": ("testdata", "all_types", 20),
    "bsondump/testdata/all_in_one_doc.bson": ("testdata", "all_in_one_doc", 1),
    "mongodump/testdata/importCollection.bson": ("testdata", "importCollection", 1),
    f"{TS}/ts_dump/admin/system.version.bson": ("admin", "system.version", 1),
    f"{TS}/ts_dump/timeseries_test/system.buckets.foo_ts.bson":
        ("timeseries_test", "system.buckets.foo_ts", 10),
    f"{TS}/ts_single_buckets_file/system.buckets.foo_ts.bson":
        ("ts_single_buckets_file", "system.buckets.foo_ts", 10),
    f"{TS}/ts_dump_with_oplog/oplog.bson": ("", "oplog", 872),
    f"{TS}/ts_dump_with_oplog/timeseries_test/system.buckets.foo_ts.bson":
        ("timeseries_test", "system.buckets.foo_ts", 10),
    f"{RESTORE}/oplogdump/oplog.bson": ("", "oplog", 3),
    f"{RESTORE}/oplogdump/db1/c1.bson": ("db1", "c1", 5),
    f"{RESTORE}/oplogdump/admin/system.version.bson": ("admin", "system.version", 1),
    f"{RESTORE}/prelude_test/prelude_top_level/test/foo.bson": ("test", "foo", 1),
    f"{RESTORE}/prelude_test/prelude_gzip/test/foo.bson.gz": ("test", "foo", 1),
    f"{RESTORE}/dump_local_oplog/local/oplog.rs.bson": ("local", "oplog.rs", 100),
    f"{RESTORE}/specialcharacter/db1/caf%C3%A9s.bson": ("db1", "cafés", 1),
    f"{RESTORE}/indextestdump/indextest/test_collection.bson": ("indextest", "test_collection", 100),
    f"{RESTORE}/hashedIndexes.bson": ("testdata", "hashedIndexes", 2),
    f"{RESTORE}/testdirs/db1/c4.bson": ("db1", "c4", 10),
    f"{QA}/dump_with_oplog/oplog.bson": ("", "oplog", 5),
    f"{QA}/dump_with_oplog/test/data.bson": ("test", "data", 10),
    # pre-3.0 index specs: kept as an unknown collection
    f"{QA}/dump_with_oplog/test/system.indexes.bson": ("test", "system.indexes", 1),
    f"{QA}/dump_extended_json_options/test/changelog.bson": ("test", "changelog", 13),
    "test/legacy42/jstests/tool/data/dumprestore6/foo.bson": ("dumprestore6", "foo", 1),
    "test/legacy42/jstests/tool/data/dumprestore6/system.indexes.bson":
        ("dumprestore6", "system.indexes", 2),
} | {
    f"{OPLOGS}/bson/{name}.bson": ("bson", name, count)
    for name, count in [("collMod", 1), ("collMod_with_hidden", 2), ("commit_index", 2),
                        ("create_index", 1), ("drop_collection", 1), ("drop_db", 1),
                        ("drop_index", 1), ("vectored_insert", 1),
                        ("linked_vectored_inserts", 2)]
}
# Byte-identical to a file loaded before them: skipped, the ledger names the first.
SAME_CONTENT = {
    f"{RESTORE}/testdirs/db1/c1.bson": f"{RESTORE}/indextestdump/indextest/test_collection.bson",
    f"{TS}/ts_dump_with_oplog/admin/system.version.bson": f"{TS}/ts_dump/admin/system.version.bson",
}
EMPTY = [  # 0-byte .bson files: empty collections
    f"{RESTORE}/duplicate_index_key/indextest/duplicate_index_key.bson",
    f"{RESTORE}/testdirs/db1/c2.bson", f"{RESTORE}/testdirs/db1/c3.bson",
    f"{RESTORE}/testdirs/db1/baddir/out.bson", f"{RESTORE}/testdirs/oplog.bson",
    f"{TS}/ts_dump/admin/system.views.bson", f"{TS}/ts_dump_with_oplog/admin/system.views.bson",
] + [f"{TS}/ts_dump_with_oplog/config/{name}.bson"
     for name in ("external_validation_keys", "tenantMigrationDonors", "tenantMigrationRecipients")]
# Archives: documents per namespace in the data, and the databases / collections
# their header lists.
ARCHIVES = {
    f"{RESTORE}/test.bar.archive":
        ({("admin", "system.version"): 1, ("test", "bar"): 1}, "test,admin", "bar,system.version"),
    f"{RESTORE}/dump-w-oplog.archive":
        ({("admin", "system.version"): 1, ("test", "foo"): 25, ("", "oplog"): 18},
         "test,admin", "foo,oplog,system.version"),
    f"{RESTORE}/bad-format.archive": ({}, "test", "ixtest"),
    f"{TS}/dump.archive":
        ({("admin", "system.version"): 1, ("timeseries_test", "system.buckets.foo_ts"): 10},
         "admin,timeseries_test", "system.views,foo_ts,system.version"),
    f"history/97ebb79/{TS}/dump.archive":
        ({("admin", "system.version"): 1, ("timeseries_test", "system.buckets.foo_ts"): 10},
         "admin,timeseries_test", "system.views,foo_ts,system.version"),
}
# Corrupt copies of sample.bson: (offset, start of the message)
CORRUPT = {
    "bad_type.bson": (0, "invalid BSON document: Detected unknown BSON type b'\\xaa'"),
    "bad_cstring.bson": (0, "invalid BSON document:"),
    "partial_file.bson": (164, "BSON document cut short: expected 48 bytes, found 13"),
    "random_bytes.bson": (0, "bad BSON document length"),
    "invalid_field_name.bson": (283, "BSON document cut short: expected a 4-byte length"),
}
TWINS = [("bsondump/testdata/sample.bson", "bsondump/testdata/sample.json"),
         ("mongodump/testdata/importCollection.bson", "mongodump/testdata/importCollection.json")] + [
    (f"{OPLOGS}/bson/{name}.bson", f"{OPLOGS}/json/{name}.json")
    for name in ("collMod", "collMod_with_hidden", "commit_index", "create_index",
                 "drop_collection", "drop_db", "drop_index", "vectored_insert",
                 "linked_vectored_inserts")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The whole mongo-tools tree built once: (summary, connection)."""
    db = tmp_path_factory.mktemp("realdata") / "w.sqlite"
    summary = build(db, [MT])
    con = sqlite3.connect(db)
    yield summary, con
    con.close()


def outcome(summary, relative: str):
    (found,) = [f for f in summary.files if f.path == str(MT / relative)]
    return found


def source(con, relative: str):
    return con.execute("SELECT source_id, database_name, collection, documents, format "
                       "FROM source WHERE path = ?", (str(MT / relative),)).fetchone()


def test_bson_files_load_with_their_namespace_and_count(built):
    summary, con = built
    for relative, (database, collection, count) in BSON_FILES.items():
        source_id, *ledger = source(con, relative)
        assert ledger == [database, collection, count, "mongodump-bson"], relative
        per_collection = con.execute(
            "SELECT database_name, collection, count(*) FROM document WHERE source_id = ? "
            "GROUP BY 1, 2", (source_id,)).fetchall()
        assert per_collection == [(database, collection, count)], relative
        assert outcome(summary, relative).unknown_collections == Counter({collection: count})
        namespace = con.execute("SELECT database_name, collection, documents "
                                "FROM source_namespace WHERE source_id = ?", (source_id,)).fetchall()
        assert namespace == [(database, collection, count)], relative


def test_same_content_is_skipped_and_empty_collections_are_not_errors(built):
    summary, con = built
    for relative, first in SAME_CONTENT.items():
        found = outcome(summary, relative)
        assert found.status == "skipped" and str(MT / first) in found.note
        assert source(con, relative) is None
    for relative in EMPTY:
        assert outcome(summary, relative).status == "empty", relative


def test_metadata_and_prelude_are_kept_as_written(built):
    summary, con = built
    companions = [f for f in summary.files if f.status == "companion"]
    assert len(companions) == len(list(MT.rglob("*.metadata.json*"))) + 2  # 2 preludes
    for relative in (f"{RESTORE}/specialcharacter/db1/caf%C3%A9s.bson",
                     f"{QA}/dump_extended_json_options/test/changelog.bson"):
        source_id = source(con, relative)[0]
        ((metadata,),) = con.execute("SELECT metadata FROM source_namespace WHERE source_id = ?",
                                     (source_id,))
        written = (MT / relative.replace(".bson", ".metadata.json")).read_text()
        assert metadata == written
    buckets = source(con, f"{TS}/ts_dump/timeseries_test/system.buckets.foo_ts.bson")[0]
    assert con.execute("SELECT type FROM source_namespace WHERE source_id = ?",
                       (buckets,)).fetchone() == ("timeseries",)  # from foo_ts.metadata.json
    gzipped = source(con, f"{RESTORE}/prelude_test/prelude_gzip/test/foo.bson.gz")[0]
    assert con.execute("SELECT dump_header FROM source WHERE source_id = ?", (gzipped,)
                       ).fetchone() == ('{"ServerVersion":"7.0.16","ToolVersion":""}',)


def test_archives_load_every_namespace(built):
    summary, con = built
    for relative, (counts, databases, collections) in ARCHIVES.items():
        assert outcome(summary, relative).status == "loaded", relative
        source_id, database_name, collection, documents, form = source(con, relative)
        assert (database_name, collection, form) == (databases, collections, "mongodump-archive")
        assert documents == sum(counts.values())
        loaded = con.execute("SELECT database_name, collection, count(*) FROM document "
                             "WHERE source_id = ? GROUP BY 1, 2", (source_id,)).fetchall()
        assert {(d, c): n for d, c, n in loaded} == counts, relative
        recorded = con.execute("SELECT database_name, collection, documents "
                               "FROM source_namespace WHERE source_id = ?", (source_id,))
        assert {(d, c): n for d, c, n in recorded if n} == counts, relative


def test_bad_format_archive_still_loads_and_keeps_its_invalid_metadata(built):
    summary, con = built
    relative = f"{RESTORE}/bad-format.archive"
    source_id = source(con, relative)[0]
    ((name, documents, metadata),) = con.execute(
        "SELECT collection, documents, metadata FROM source_namespace WHERE source_id = ?",
        (source_id,))
    assert (name, documents) == ("ixtest", 0)
    assert '"key":{"{"a":"b"}":{"$numberDouble":"1.0"}}' in metadata  # the unescaped key
    with pytest.raises(WarehouseError, match="invalid metadata JSON"):
        parse_metadata_json(metadata)


def test_corrupt_bson_files_fail_with_one_located_error_and_load_nothing(built):
    summary, con = built
    failed = {Path(f.path).name: f for f in summary.failed
              if f.path.endswith((".bson", ".archive"))}
    assert set(failed) == set(CORRUPT)
    for name, (offset, message) in CORRUPT.items():
        path = MT / "bsondump/testdata" / name
        error = failed[name].error
        assert str(error).startswith(f"{path}@{offset}: {message}"), str(error)
        assert "\n" not in str(error)
        assert con.execute("SELECT count(*) FROM source WHERE path = ?", (str(path),)
                           ).fetchone() == (0,)


def test_twins_give_equal_documents(built):
    _, con = built

    def bodies(relative: str) -> list[str]:
        return [body for (body,) in con.execute(
            "SELECT body FROM document JOIN source USING (source_id) WHERE path = ? "
            "ORDER BY document_id", (str(MT / relative),))]

    for bson_name, json_name in TWINS:
        from_bson = bodies(bson_name)
        assert from_bson and from_bson == bodies(json_name), bson_name


def test_every_type_of_all_types_is_stored(built):
    _, con = built
    read = JSONOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)
    for name in ("all_types.bson", "all_in_one_doc.bson"):
        path = MT / "bsondump/testdata" / name
        with open(path, "rb") as fh:
            expected = bson.decode_all(fh.read(), CODEC_OPTIONS)
        stored = [json_util.loads(body, json_options=read) for (body,) in con.execute(
            "SELECT body FROM document JOIN source USING (source_id) WHERE path = ? "
            "ORDER BY document_id", (str(path),))]
        assert stored == expected, name
    ((body,),) = con.execute("SELECT body FROM document JOIN source USING (source_id) "
                             "WHERE path LIKE '%all_in_one_doc.bson'")
    for spelled in ('"dec": {"$numberDecimal": "1.2E+10"}', '"int64": 6',
                    '"oid": {"$oid": "507f1f77bcf86cd799439011"}',
                    '"binary": {"$binary": {"base64": "//8=", "subType": "00"}}',
                    '"ts": {"$timestamp": {"t": 1, "i": 2}}'):
        assert spelled in body
