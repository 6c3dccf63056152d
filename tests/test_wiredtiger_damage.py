"""Damaged WiredTiger files: a located WarehouseError, in bounded time, never a
wrong document; a damaged collection does not stop the others.

Files are written by ``wt``, then damaged: cut short, a byte flipped in a page,
a compressed payload garbled, and (in a table written with ``checksum=off``,
where only a block's first 64 bytes are checksummed, so that an edited address
still passes) a child address pointing past the end of the file or back to
its own page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.errors import WarehouseError
from warehouse.formats.wiredtiger import Collection, cells, read_wiredtiger_dir
from warehouse.formats.wiredtiger.catalog import root_of
from warehouse.formats.wiredtiger.pages import (PAGE_ROW_INTERNAL, Address, BlockFile,
                                                unpack_address)
from warehouse.demo.wiredtiger_pack import pack_uint
from warehouse.demo.wiredtiger_writer import SMALL_PAGES, CollectionSpec, sample_documents

from wiredtiger_helpers import DbpathCache, golden

SPECS = [
    CollectionSpec("sim.runs", sample_documents(120, 21, 400)),  # MongoDB's settings
    CollectionSpec("sim.unchecked", sample_documents(60, 22, 400),
                   config="checksum=uncompressed"),  # payload checked by decompressing
    CollectionSpec("sim.nochecksum", sample_documents(1500, 23), config=SMALL_PAGES
                   + ",checksum=off"),
    CollectionSpec("sim.deep", sample_documents(800, 24), config=SMALL_PAGES),
]


@pytest.fixture(scope="module")
def dbpaths(tmp_path_factory: pytest.TempPathFactory) -> DbpathCache:
    return DbpathCache(tmp_path_factory.mktemp("wiredtiger-damage"))


@pytest.fixture
def damaged(dbpaths: DbpathCache, tmp_path: Path):
    return dbpaths.copy("damage", tmp_path / "db", SPECS)


def collections(directory: Path) -> dict[str, Collection]:
    return {f"{c.database}.{c.name}": c for c in read_wiredtiger_dir(directory).collections}


def assert_others_read(directory: Path, written, broken: str) -> None:
    for ns, collection in collections(directory).items():
        if ns != broken:
            assert [r.document for r in collection.records()] == golden(written[ns].documents)


def first_error(collection: Collection) -> WarehouseError:
    with pytest.raises(WarehouseError) as caught:
        for _ in collection.records():
            pass
    return caught.value


def test_truncated_file(damaged) -> None:
    directory, written = damaged
    path = written["sim.runs"].path
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    error = first_error(collections(directory)["sim.runs"])
    assert error.path == str(path) and error.offset is not None
    assert "outside the file" in error.message
    with open(path, "r+b") as handle:
        handle.truncate(100)
    error = first_error(collections(directory)["sim.runs"])
    assert "shorter than one allocation unit" in error.message
    assert_others_read(directory, written, "sim.runs")


def test_flipped_byte_in_a_page(damaged) -> None:
    directory, written = damaged
    path = written["sim.runs"].path
    block = next(collections(directory)["sim.runs"].records()).offset
    data = bytearray(path.read_bytes())
    data[block + 300] ^= 0x01
    path.write_bytes(bytes(data))
    error = first_error(collections(directory)["sim.runs"])
    assert (error.path, error.offset) == (str(path), block)
    assert "checksum mismatch" in error.message
    assert str(error).startswith(f"{path}@{block}: page checksum mismatch")
    assert_others_read(directory, written, "sim.runs")


def test_undecompressable_block(damaged) -> None:
    directory, written = damaged
    path = written["sim.unchecked"].path
    block = next(collections(directory)["sim.unchecked"].records()).offset
    data = bytearray(path.read_bytes())
    assert data[block + 25] & 0x01, "the page must be compressed"
    data[block + 64 + 8:block + 64 + 40] = b"\xff" * 32  # snappy data after its length
    path.write_bytes(bytes(data))
    error = first_error(collections(directory)["sim.unchecked"])
    assert (error.path, error.offset) == (str(path), block)
    assert "decompress" in error.message
    assert_others_read(directory, written, "sim.unchecked")


def internal_pages(collection: Collection) -> list[tuple[Address, list[tuple[int, int]]]]:
    """Internal pages of a table and the (start, end) of their address cookies."""
    config = collection._config
    assert config is not None
    found = []
    with BlockFile(str(collection.path), config.allocation_size, config.compressor) as file:
        pending = [root_of(file, config)]
        while pending:
            address = pending.pop()
            page = file.read(address)
            if page.type != PAGE_ROW_INTERNAL:
                continue
            spans = [(c.start, c.end) for c in cells.page_cells(page, file.path)
                     if c.kind in cells.ADDRESSES]
            found.append((address, spans))
            pending += [unpack_address(page.data, start, file.allocation_size)[0]
                        for start, _ in spans]
    return found


def cookie(address: Address, allocation_size: int) -> bytes:
    """An address cookie, packed by the writer's own encoder."""
    return (pack_uint(address.offset // allocation_size - 1)
            + pack_uint(address.size // allocation_size) + pack_uint(address.checksum))


def _edit_child(directory: Path, make) -> Address:
    """In ``sim.nochecksum``, replace one child address of an internal page, past
    the 64 checksummed bytes, by ``make(page address, old cookie)`` (same length)."""
    collection = collections(directory)["sim.nochecksum"]
    data = bytearray(collection.path.read_bytes())
    for address, spans in internal_pages(collection):
        for start, end in spans:
            if start < 64:
                continue
            new = make(address, bytes(data[address.offset + start:address.offset + end]))
            if new is not None and len(new) == end - start:
                data[address.offset + start:address.offset + end] = new
                collection.path.write_bytes(bytes(data))
                return address
    raise AssertionError("no child address to edit")


def test_page_reference_outside_the_file(damaged) -> None:
    directory, written = damaged
    path = written["sim.nochecksum"].path
    size = path.stat().st_size

    def far(page: Address, old: bytes) -> bytes | None:
        child, _ = unpack_address(old, 0, 512)
        assert child is not None
        moved = Address(child.offset + size, child.size, child.checksum)
        return cookie(moved, 512)

    _edit_child(directory, far)
    error = first_error(collections(directory)["sim.nochecksum"])
    assert error.path == str(path) and "outside the file" in error.message
    assert_others_read(directory, written, "sim.nochecksum")


def test_cyclic_page_reference(damaged) -> None:
    directory, written = damaged
    page = _edit_child(directory, lambda page, old: cookie(page, 512))
    error = first_error(collections(directory)["sim.nochecksum"])
    assert "cyclic page reference" in error.message and error.offset == page.offset
    assert_others_read(directory, written, "sim.nochecksum")


def test_missing_table_file_and_damaged_catalog(damaged) -> None:
    directory, written = damaged
    written["sim.deep"].path.unlink()
    error = first_error(collections(directory)["sim.deep"])
    assert error.message == f"its table file {written['sim.deep'].path.name} is missing"
    assert_others_read(directory, written, "sim.deep")
    catalog = directory / "_mdb_catalog.wt"
    data = bytearray(catalog.read_bytes())
    data[4096 + 200] ^= 0xFF
    catalog.write_bytes(bytes(data))
    with pytest.raises(WarehouseError) as caught:
        read_wiredtiger_dir(directory)
    assert caught.value.path == str(catalog) and caught.value.offset == 4096


# Fuzzing: flip bytes of, or cut, a real table written with MongoDB's settings
# (checksum=on); only a WarehouseError or the right documents may come out.

@pytest.fixture(scope="module")
def fuzz_target(dbpaths: DbpathCache, tmp_path_factory: pytest.TempPathFactory):
    directory, written = dbpaths.copy("damage", tmp_path_factory.mktemp("fuzz") / "db", SPECS)
    return directory, written


def _read_prefix(collection: Collection) -> tuple[list, WarehouseError | None]:
    documents: list = []
    try:
        for record in collection.records():
            documents.append(record.document)
    except WarehouseError as error:
        return documents, error
    return documents, None


@pytest.mark.parametrize("ns", ["sim.runs", "sim.deep"])
def test_fuzz_flips_and_cuts(fuzz_target, ns: str) -> None:
    directory, written = fuzz_target
    path = written[ns].path
    original = path.read_bytes()
    expected = golden(written[ns].documents)

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255)),
                    min_size=1, max_size=4),
           st.one_of(st.none(), st.integers(0, len(original))))
    def check(flips: list[tuple[int, int]], cut: int | None) -> None:
        data = bytearray(original)
        for position, mask in flips:
            data[position] ^= mask
        path.write_bytes(bytes(data[:cut]))
        documents, error = _read_prefix(collections(directory)[ns])
        assert documents == expected[:len(documents)]
        if error is None:
            assert documents == expected
        else:
            assert error.path == str(path)

    try:
        check()
    finally:
        path.write_bytes(original)


def test_fuzz_metadata_and_catalog(fuzz_target) -> None:
    directory, written = fuzz_target
    names = sorted(written)
    originals = {name: (directory / name).read_bytes()
                 for name in ("WiredTiger.wt", "_mdb_catalog.wt", "WiredTiger.turtle")}

    @settings(max_examples=120, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(sorted(originals)), st.integers(0, 1 << 20), st.integers(1, 255))
    def check(name: str, position: int, mask: int) -> None:
        data = bytearray(originals[name])
        data[position % len(data)] ^= mask
        (directory / name).write_bytes(bytes(data))
        try:
            found = read_wiredtiger_dir(directory)
        except WarehouseError:
            return
        finally:
            (directory / name).write_bytes(originals[name])
        assert sorted(f"{c.database}.{c.name}" for c in found.collections) == names

    check()
