"""The MMAPv1 writer checked against the facts of LAYOUT.md, byte by byte.

These tests parse the written files with their own struct formats (not the
reader's), so that the writer is checked against the documented layout and
not against the code it is meant to test.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import replace
from pathlib import Path

import bson
import pytest
from bson import SON, Binary, ObjectId, Regex
from bson.datetime_ms import DatetimeMS

from warehouse.formats.mmapv1.layout import namespace_hash as reader_hash
from warehouse.formats.mmapv1.layout import node_count
from warehouse.demo.mmapv1_layout import namespace_hash, record_size
from warehouse.demo.mmapv1_writer import (
    SMALLFILES,
    CollectionSpec,
    WriterOptions,
    write_mmapv1_dir,
)

DOCS = [{"_id": i, "name": f"run {i}", "values": list(range(i % 7))} for i in range(50)]


def _int32s(data: bytes, offset: int, count: int) -> tuple[int, ...]:
    return struct.unpack_from(f"<{count}i", data, offset)


def test_first_extent_at_0x2000_and_first_record_at_0x20b0(tmp_path: Path) -> None:
    write_mmapv1_dir(tmp_path, {"test": [CollectionSpec("small", DOCS)]})
    data = (tmp_path / "test.0").read_bytes()
    assert data[0x2000:0x2004] == b"DCBA"  # magic 0x41424344, little-endian
    my_loc, _, xprev = (_int32s(data, 0x2004 + 8 * i, 2) for i in range(3))
    assert my_loc == (0, 0x2000) and xprev == (-1, 0)
    assert data[0x2000 + 28:0x2000 + 28 + 11] == b"test.small\0"  # nsDiagnostic
    (length,) = _int32s(data, 0x2000 + 156, 1)
    first, last = _int32s(data, 0x2000 + 160, 2), _int32s(data, 0x2000 + 168, 2)
    assert first == (0, 0x20b0) and 0x20b0 < last[1] < 0x2000 + length
    length_with_headers, extent_ofs, next_ofs, prev_ofs = _int32s(data, 0x20b0, 4)
    raw = bson.encode(DOCS[0])
    assert (extent_ofs, prev_ofs) == (0x2000, -1)
    assert length_with_headers == record_size(len(raw), 1.0, False) == (len(raw) + 16 + 3) & ~3
    assert next_ofs == 0x20b0 + length_with_headers
    assert data[0x20c0:0x20c0 + len(raw)] == raw


def test_namespace_hash_slot_computed_by_hand(tmp_path: Path) -> None:
    # "a.b": x = 97; x = 97*131 + 46 = 12753; x = 12753*131 + 98 = 1670741;
    # (x & 0x7fffffff) | 0x8000000 = 1670741 + 134217728 = 135888469.
    expected = 135888469
    assert namespace_hash(b"a.b") == reader_hash(b"a.b") == expected
    # 16 MB / 628 = 26715 nodes (odd, kept); 26715 * 5086 = 135872490, so the
    # slot is 135888469 - 135872490 = 15979.
    assert 16 * 1024 * 1024 // 628 == 26715 and expected % 26715 == 15979
    write_mmapv1_dir(tmp_path, {"a": [CollectionSpec("b", DOCS[:1])]})
    ns = (tmp_path / "a.ns").read_bytes()
    assert len(ns) == 16 * 1024 * 1024
    node = ns[15979 * 628:15980 * 628]
    assert _int32s(node, 0, 1) == (expected,) and node[4:8] == b"a.b\0"
    (first_extent,) = [_int32s(node, 132, 2)]  # NamespaceDetails starts after hash + name[128]
    assert first_extent == (0, 0x2000)
    assert struct.unpack_from("<q", node, 132 + 176) == (1,)  # nrecords


def test_hash_reads_bytes_as_signed_chars() -> None:
    # "é" is c3 a9: x = -61, then -61*131 - 87 = -8078 = 0xffffe072 (32-bit);
    # & 0x7fffffff = 0x7fffe072, which already has bit 0x8000000.
    assert namespace_hash("é".encode()) == reader_hash("é".encode()) == 0x7FFFE072


def test_small_namespace_file_node_count(tmp_path: Path) -> None:
    size = 64 * 1024  # 104 nodes fit: even, so the table uses 103; 135888469 % 103 = 54
    write_mmapv1_dir(tmp_path, {"a": [CollectionSpec("b", DOCS[:1])]}, WriterOptions(ns_size=size))
    assert node_count(size) == 103
    ns = (tmp_path / "a.ns").read_bytes()
    assert len(ns) == size and _int32s(ns, 54 * 628, 1) == (135888469,)


@pytest.mark.parametrize("minor", [5, 6, 0x16])
def test_data_file_header(tmp_path: Path, minor: int) -> None:
    write_mmapv1_dir(tmp_path, {"test": [CollectionSpec("c", DOCS)]}, WriterOptions(minor=minor))
    data = (tmp_path / "test.0").read_bytes()
    version, version_minor, file_length, unused_file, unused_ofs, unused_length = \
        _int32s(data, 0, 6)
    assert (version, version_minor) == (4, minor)
    assert file_length == len(data) == 64 * 1024 * 1024
    assert unused_file == 0 and unused_ofs > 0x2000
    assert unused_length == file_length - unused_ofs - 16
    assert data[unused_ofs:unused_ofs + 4096] == bytes(4096)


def test_data_file_sizes_double(tmp_path: Path) -> None:
    docs = [{"_id": i, "pad": "x" * 3000} for i in range(60)]
    written = write_mmapv1_dir(tmp_path, {"test": [CollectionSpec("c", docs)]},
                               WriterOptions(file_size=32 * 1024, max_file_size=64 * 1024,
                                             extent_size=16 * 1024))
    sizes = [p.stat().st_size for p in written.files if p.suffix != ".ns"
             and p.name.startswith("test.")]
    assert sizes[:3] == [32 * 1024, 64 * 1024, 64 * 1024]
    assert SMALLFILES.file_size == 16 * 1024 * 1024 and SMALLFILES.max_file_size == 512 << 20


def test_power_of_2_record_sizes() -> None:
    assert record_size(100, 1.0, True) == 128  # 116 bytes with the header: bucket 0x80
    assert record_size(112, 1.0, True) == 256  # 128 exactly: the first bucket larger than it
    assert record_size(100, 1.5, False) == (int(116 * 1.5) + 3) & ~3


def test_deleted_record_keeps_its_bytes_and_is_on_a_deleted_list(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"test": [CollectionSpec("c", DOCS, delete=[1])]})
    data = (tmp_path / "test.0").read_bytes()
    kept = written.documents[("test", "c")]
    first = kept[0][1]  # the BSON of document 0; document 1 followed it
    (length,) = _int32s(data, first - 16, 1)
    removed = first - 16 + length
    raw = bson.encode(DOCS[1])
    assert data[removed + 16:removed + 16 + len(raw)] == raw
    assert _int32s(data, first - 16 + 8, 1) == (kept[1][1] - 16,)  # chain skips it
    ns = (tmp_path / "test.ns").read_bytes()
    slot = (namespace_hash(b"test.c") % node_count(len(ns))) * 628
    deleted_lists = _int32s(ns, slot + 132 + 16, 38)
    assert (0, removed) in set(zip(deleted_lists[::2], deleted_lists[1::2]))


def test_unclean_copy_files(tmp_path: Path) -> None:
    write_mmapv1_dir(tmp_path, {"t": [CollectionSpec("c", DOCS)]}, WriterOptions(unclean=True))
    assert (tmp_path / "mongod.lock").read_bytes().strip().isdigit()
    assert (tmp_path / "journal" / "j._0").is_file()
    clean = tmp_path / "clean"
    write_mmapv1_dir(clean, {"t": [CollectionSpec("c", DOCS)]})
    assert (clean / "mongod.lock").read_bytes() == b""
    assert not (clean / "journal").exists()


def _node(ns: bytes, name: bytes) -> bytes:
    """The node of a namespace, by scanning (killed nodes have hash 0 and a 0x7f first byte)."""
    return next(ns[i:i + 628] for i in range(0, len(ns) - 627, 628)
                if ns[i + 4:i + 4 + len(name) + 1] == name + b"\0")


def test_catalog_indexes_capped_and_dropped(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"test": [
        CollectionSpec("c", DOCS), CollectionSpec("cap", DOCS[:5], capped_size=8192, capped_max=3),
        CollectionSpec("gone", DOCS[:2], dropped=True)]})
    ns = (tmp_path / "test.ns").read_bytes()
    details = _node(ns, b"test.c")[132:]
    (n_indexes,) = _int32s(details, 188, 1)
    head, info = _int32s(details, 192, 2), _int32s(details, 200, 2)
    spec_path, spec_offset, _ = written.documents[("test", "system.indexes")][0]
    assert n_indexes == 1 and info == (int(spec_path.suffix[1:]), spec_offset - 16)
    data = (tmp_path / f"test.{head[0]}").read_bytes()
    assert bson.decode(data[head[1] + 16:][:_int32s(data, head[1] + 16, 1)[0]]) == {
        "not_a_document": "B-tree bucket of test.c.$_id_"}
    index_node = _node(ns, b"test.c.$_id_")
    (head_extent,) = _int32s(data, head[1] + 4, 1)  # the bucket record's extentOfs
    assert _int32s(index_node, 132, 2) == (head[0], head_extent)  # the index's firstExtent
    capped = _node(ns, b"test.cap")[132:]
    assert _int32s(capped, 352, 2) == (1, 3)  # isCapped, maxDocsInCapped
    assert _int32s(capped, 16 + 8, 2) == (-2, 0)  # deletedList[1]: not computed yet
    assert struct.unpack_from("<q", capped, 176) == (3,)
    killed = _node(ns, b"\x7fest.gone")
    assert _int32s(killed, 0, 1) == (0,)  # a dropped namespace's node is unused
    assert _node(ns, b"test.$freelist")[132:140] != struct.pack("<ii", -1, 0)


# -- a real server's files --------------------------------------------------------
# digideskio/support-tools, mdb/test.sh, test.js and expected/: the text output
# of a debugging tool run on the files of a 2.6 server (--smallfiles) after
# test.js inserted 10 documents into test.small and 5000 into test.big.

def _test_js_document(k: int) -> bytes:
    """test.js's document (7648 bytes, as mdb/expected/mdb-cxrb dumps it), k-th insert."""
    doc = SON([("_id", ObjectId(f"53c3d0990179ab0d6c5e95{0x47 + k:02x}")), ("number", 1.7),
               ("hello", "world"), ("empty", {}), ("false", False),
               ("array", [Binary(base64.b64decode("0123456789" * 1000), 0), None, True,
                          {"nada": None}, Regex("^hello world$", "")]),
               ("date", DatetimeMS(0))])
    raw = bson.encode(doc)
    undefined = raw.index(b"\x0a1\x00")  # array element "1" is undefined (0x06) in the shell
    return raw[:undefined] + b"\x06" + raw[undefined + 1:]


def test_namespace_nodes_where_a_real_server_put_them(tmp_path: Path) -> None:
    """mdb/expected/mdb-cf: the node offsets of all six namespaces in test.ns."""
    write_mmapv1_dir(tmp_path, {"test": [CollectionSpec("small", DOCS[:1]),
                                         CollectionSpec("big", DOCS[:1])]})
    ns = (tmp_path / "test.ns").read_bytes()
    for name, offset in [(b"test.small.$_id_", 0x1D5290), (b"test.small", 0x797CB8),
                         (b"test.big.$_id_", 0x829C18), (b"test.system.indexes", 0xB8E024),
                         (b"test.system.namespaces", 0xC8888C), (b"test.big", 0xFCD5B4)]:
        assert ns[offset + 4:offset + 5 + len(name)] == name + b"\0", name


def test_data_file_as_a_real_server_wrote_it(tmp_path: Path) -> None:
    """mdb/expected/mdb-x, mdb-s, mdb-cf, mdb-ci: extent, records, free space, index info."""
    docs = [_test_js_document(k) for k in range(10)]
    assert len(docs[0]) == 0x1DE0  # blen=1de0(7648)
    write_mmapv1_dir(tmp_path, {"test": [CollectionSpec("small", docs)]},
                     replace(SMALLFILES, quantize=True, scribble=True))
    data = (tmp_path / "test.0").read_bytes()
    # 0:2000: extent sig=41424344 loc=0:2000 next=-1:0 prev=-1:0 ns=test.small
    #         len=1e000(122880) first=0:20b0 last=0:12eb0
    assert _int32s(data, 0x2000, 7) == (0x41424344, 0, 0x2000, -1, 0, -1, 0)
    assert data[0x2000 + 28:0x2000 + 39] == b"test.small\0"
    assert _int32s(data, 0x2000 + 156, 5) == (0x1E000, 0, 0x20B0, 0, 0x12EB0)
    # 20b0: record rlen=1e00(7680) ext=2000 next=3eb0 prev=-1 ... 12eb0: next=-1 prev=110b0
    for k, doc in enumerate(docs):
        ofs = 0x20B0 + k * 0x1E00
        next_ofs = -1 if k == 9 else ofs + 0x1E00
        prev_ofs = -1 if k == 0 else ofs - 0x1E00
        assert _int32s(data, ofs, 4) == (0x1E00, 0x2000, next_ofs, prev_ofs)
        assert data[ofs + 16:ofs + 16 + len(doc)] == doc
    # 14cb0: record rlen=b350(45904) end=20000 ext=2000 next=-1 prev=0 blen=eeeeeeee
    assert _int32s(data, 0x14CB0, 4) == (0xB350, 0x2000, -1, 0)
    assert data[0x14CC0:0x14CC4] == b"\xee" * 4
    # 20000: the next extent (system.indexes): rlen=41424344 as a record
    assert _int32s(data, 0x20000, 1) == (0x41424344,)
    node = (tmp_path / "test.ns").read_bytes()[0x797CB8:0x797CB8 + 628]
    details = node[132:]
    # namespace name=test.small first=0:2000 last=0:2000, ce=0:2000, cfn=-2:0
    assert _int32s(details, 0, 4) == (0, 0x2000, 0, 0x2000)
    assert _int32s(details, 372, 4) == (0, 0x2000, -2, 0)
    # free[11]+0 0:14cb0, every other list empty
    lists = _int32s(details, 16, 38)
    assert [(b, lists[2 * b:2 * b + 2]) for b in range(19) if lists[2 * b] != -1] == [
        (11, (0, 0x14CB0))]
    # nIndexes=1; index 0: btree ... info 0:200b0
    assert _int32s(details, 188, 1) == (1,) and _int32s(details, 200, 2) == (0, 0x200B0)
