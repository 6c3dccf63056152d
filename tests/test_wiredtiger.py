"""Reading WiredTiger data directories written by the real library (``wt``).

Golden values are the documents loaded into the tables, never the reader's
output. Directories are written once per session (a few seconds each).
"""

from __future__ import annotations

import struct
import tarfile
from pathlib import Path

import bson
import pytest

from warehouse.errors import WarehouseError
from warehouse.formats.wiredtiger import (Collection, DataDirectory, is_wiredtiger_dir,
                                          read_wiredtiger_dir)
from warehouse.demo.wiredtiger_writer import (CollectionSpec, append_after_checkpoint,
                                         sample_documents)

from wiredtiger_helpers import (FIXTURE_WT11, DbpathCache, fixture_wt11_specs, golden,
                                unclean_specs)


@pytest.fixture(scope="session")
def dbpaths(tmp_path_factory: pytest.TempPathFactory) -> DbpathCache:
    return DbpathCache(tmp_path_factory.mktemp("wiredtiger"))


def by_ns(directory: DataDirectory) -> dict[str, Collection]:
    return {f"{c.database}.{c.name}": c for c in directory.collections}


@pytest.mark.parametrize("compressor", ["snappy", "zlib", "none", "zstd"])
def test_every_collection_reads_back_exactly(dbpaths: DbpathCache, compressor: str) -> None:
    directory, written = dbpaths.full(compressor)
    found = read_wiredtiger_dir(directory)
    assert found.engine == "wiredtiger"
    assert found.warnings == []
    collections = by_ns(found)
    assert sorted(collections) == sorted(written)
    for ns, collection in collections.items():
        records = list(collection.records())
        assert [r.document for r in records] == golden(written[ns].documents), ns
        assert {(r.database, r.collection, r.line) for r in records} <= {
            (collection.database, collection.name, None)}
        assert collection.path == written[ns].path
        assert all(r.offset and r.offset % 512 == 0 for r in records)


def test_layout_catalog_and_system_collections(dbpaths: DbpathCache) -> None:
    directory, written = dbpaths.full()
    collections = by_ns(read_wiredtiger_dir(directory))
    version = collections["admin.system.version"]
    assert version.system and (version.database, version.name) == ("admin", "system.version")
    assert not collections["sim.runs"].system
    runs = collections["sim.runs"]
    assert runs.metadata["ns"] == "sim.runs"
    assert [i["spec"]["name"] for i in runs.metadata["indexes"]] == ["_id_"]
    # Index tables, the catalog and sizeStorer hold BSON values too, but are not collections.
    names = {c.path.name for c in collections.values()}
    assert not any(name.startswith(("index-", "_mdb_catalog", "sizeStorer")) for name in names)
    assert all((directory / f"{w.index_ident}.wt").is_file() for w in written.values())


def test_record_ids_order_and_offsets(dbpaths: DbpathCache) -> None:
    directory, written = dbpaths.full()
    prefixed = by_ns(read_wiredtiger_dir(directory))["sim.prefixed"]
    records = list(prefixed.records())
    assert [r.document["_id"] for r in records] == list(range(200))
    size = prefixed.path.stat().st_size
    assert all(0 < r.offset < size for r in records)


def test_removed_documents_do_not_come_back(dbpaths: DbpathCache) -> None:
    directory, written = dbpaths.full()
    removed = written["sim.removed"]
    records = list(by_ns(read_wiredtiger_dir(directory))["sim.removed"].records())
    assert [r.document for r in records] == golden(removed.documents)
    assert len(records) == 24 and len(removed.removed) == 6
    # Some are still in the file, in blocks the checkpoint no longer references.
    content = removed.path.read_bytes()
    assert any(bson.encode(d) in content for d in removed.removed)


def _page_types(path: Path) -> set[int]:
    """Types of the blocks of a table file, found by their headers (a test-side scan)."""
    data = path.read_bytes()
    kinds, offset = set(), 4096
    while offset + 40 <= len(data):
        kinds.add(data[offset + 24])
        (disk_size,) = struct.unpack_from("<I", data, offset + 28)
        offset += disk_size if disk_size and disk_size % 4096 == 0 else 4096
    return kinds


def test_documents_larger_than_a_page(dbpaths: DbpathCache) -> None:
    directory, written = dbpaths.full()
    collections = by_ns(read_wiredtiger_dir(directory))
    for ns in ("sim.overflow", "sim.large"):
        records = list(collections[ns].records())
        assert [r.document for r in records] == golden(written[ns].documents)
        assert all(len(bson.encode(r.document)) > 32 * 1024 for r in records)
    assert 5 in _page_types(written["sim.overflow"].path)  # overflow pages
    assert 5 not in _page_types(written["sim.large"].path)  # MongoDB: values stay on the leaf


def test_zstd_pages_are_zstd_frames(dbpaths: DbpathCache) -> None:
    directory, written = dbpaths.full("zstd")
    path = written["sim.runs"].path
    data = path.read_bytes()
    assert b"\x28\xb5\x2f\xfd" in data  # zstd frame magic, after each 8-byte length
    metadata = (directory / "WiredTiger.wt").read_bytes()
    assert f"file:{written['sim.runs'].ident}.wt".encode() in metadata
    assert b"block_compressor=zstd" in metadata


def test_directory_per_db(dbpaths: DbpathCache) -> None:
    specs = [CollectionSpec("alpha.runs", sample_documents(50, 7)),
             CollectionSpec("beta.runs", sample_documents(20, 8, 40_000)),
             CollectionSpec("beta.system.profile", sample_documents(3, 9))]
    directory, written = dbpaths.get("per-db", specs, directory_per_db=True)
    assert (directory / "alpha").is_dir() and (directory / "beta").is_dir()
    collections = by_ns(read_wiredtiger_dir(directory))
    assert sorted(collections) == sorted(written)
    for ns, collection in collections.items():
        assert collection.path.parent.name == ns.partition(".")[0]
        assert [r.document for r in collection.records()] == golden(written[ns].documents)
    assert collections["beta.system.profile"].system


def test_recognised_by_content(dbpaths: DbpathCache, tmp_path: Path) -> None:
    directory, _ = dbpaths.full()
    assert is_wiredtiger_dir(directory)
    assert not is_wiredtiger_dir(tmp_path)
    fake = tmp_path / "fake"
    fake.mkdir()
    for name in ("WiredTiger", "WiredTiger.turtle", "_mdb_catalog.wt"):
        (fake / name).write_text("not this\n")
    assert not is_wiredtiger_dir(fake)
    with pytest.raises(WarehouseError, match="not a WiredTiger data directory"):
        read_wiredtiger_dir(fake)


def test_clean_copy_has_no_warnings_unclean_copy_warns(dbpaths: DbpathCache,
                                                       tmp_path: Path) -> None:
    directory, written = dbpaths.copy("unclean", tmp_path / "db",
                                      [CollectionSpec("sim.runs", sample_documents(40, 10))])
    assert read_wiredtiger_dir(directory).warnings == []
    runs = written["sim.runs"]
    append_after_checkpoint(directory, runs, sample_documents(25, 11, 300))
    found = read_wiredtiger_dir(directory)
    [warning] = found.warnings
    assert "journal/WiredTigerLog." in warning and "after the last checkpoint" in warning
    assert "not included" in warning
    # Still loads what the checkpoint holds, and only that.
    [collection] = found.collections
    assert [r.document for r in collection.records()] == golden(runs.documents)
    (directory / "mongod.lock").write_text("31337\n")
    lines = read_wiredtiger_dir(directory).warnings
    assert len(lines) == 2 and lines[0].startswith("mongod.lock is not empty")


def test_unreadable_journal_is_a_warning_not_a_crash(dbpaths: DbpathCache,
                                                     tmp_path: Path) -> None:
    directory, written = dbpaths.copy("unclean", tmp_path / "db",
                                      [CollectionSpec("sim.runs", sample_documents(40, 10))])
    [log] = sorted((directory / "journal").glob("WiredTigerLog.*"))
    log.write_bytes(b"garbage" * 100)
    found = read_wiredtiger_dir(directory)
    assert len(found.warnings) == 1 and "could not be checked" in found.warnings[0]
    assert [r.document for r in found.collections[0].records()] == golden(
        written["sim.runs"].documents)


# MongoDB 4.4+ format: real files of WiredTiger 11.3.1 (tests/data), readable
# without wt. Page headers carry version 1; internal pages flag fast-truncate
# information; WiredTiger's own zstd compressor.

@pytest.fixture(scope="module")
def wt11(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("wt11")
    with tarfile.open(FIXTURE_WT11) as archive:
        archive.extractall(target, filter="data")
    return target


def test_wiredtiger_11_files(wt11: Path) -> None:
    found = read_wiredtiger_dir(wt11 / "dbpath")
    assert found.warnings == []
    collections = by_ns(found)
    specs = {spec.ns: spec for spec in fixture_wt11_specs()}
    assert sorted(collections) == sorted(specs)
    for ns, collection in collections.items():
        spec = specs[ns]
        kept = [d for i, d in enumerate(spec.documents) if i not in spec.removed]
        assert [r.document for r in collection.records()] == golden(kept), ns
    runs = collections["sim.runs"].path.read_bytes()
    assert runs[4096 + 27] == 1  # the page header's version byte of WiredTiger 10+
    assert b"WiredTiger 11.3.1" in (wt11 / "dbpath" / "WiredTiger.turtle").read_bytes()


def test_wiredtiger_11_unclean_copy(wt11: Path) -> None:
    found = read_wiredtiger_dir(wt11 / "unclean")
    [warning] = found.warnings
    assert "after the last checkpoint" in warning
    [collection] = found.collections
    [spec] = unclean_specs()
    assert [r.document for r in collection.records()] == golden(list(spec.documents))


def test_the_tables_exercise_every_cell_kind(dbpaths: DbpathCache,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The full directory really holds value copies, prefix-compressed keys,
    internal pages pointing to internal pages and overflow values."""
    from warehouse.formats.wiredtiger import cells

    seen: dict[str, set[str]] = {}
    current: list[str] = [""]
    unpack = cells.unpack_cell

    def spy(data: bytes, pos: int, ft_update: bool) -> cells.Cell:
        cell = unpack(data, pos, ft_update)
        kinds = seen.setdefault(current[0], set())
        kinds.add("prefixed key" if cell.prefix else f"{data[pos] & 0xF0:#x}")
        return cell

    monkeypatch.setattr(cells, "unpack_cell", spy)
    directory, written = dbpaths.full()
    for ns, collection in by_ns(read_wiredtiger_dir(directory)).items():
        current[0] = ns
        assert [r.document for r in collection.records()] == golden(written[ns].documents)
    assert hex(cells.VALUE_COPY) in seen["sim.copies"]
    assert "prefixed key" in seen["sim.prefixed"]
    assert hex(cells.ADDR_INT) in seen["sim.deep"]
    assert hex(cells.VALUE_OVFL) in seen["sim.overflow"]
    assert hex(cells.VALUE) in seen["sim.large"]  # long values on the leaf page
