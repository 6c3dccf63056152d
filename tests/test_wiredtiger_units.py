"""The pieces of the WiredTiger reader on hand-made bytes: packed integers, the
configuration syntax, and cells that ``wt`` 3.2.1 does not write (time windows
of MongoDB 4.4+, prepared values, long prefix-compressed keys, deleted
addresses, removed overflow items). Byte layouts follow ``cell.h`` and
``intpack.i``; integers are packed by the writer's own encoder."""

from __future__ import annotations

import struct

import pytest
from fastcrc import crc32
from hypothesis import given
from hypothesis import strategies as st

from warehouse.errors import WarehouseError
from warehouse.formats.wiredtiger import btree, cells
from warehouse.formats.wiredtiger.config import (checkpoint_lsn, file_config, parse_config,
                                                 parse_size)
from warehouse.formats.wiredtiger.pages import (PAGE_ENCRYPTED, PAGE_FT_UPDATE,
                                                PAGE_LAS_UPDATE, PAGE_ROW_INTERNAL,
                                                PAGE_ROW_LEAF, Address, BlockFile, Page,
                                                Truncated, checkpoint_root, unpack_address,
                                                unpack_int, unpack_uint)
from warehouse.demo.wiredtiger_pack import pack_record_id, pack_uint

# Values and encodings from the table in intpack.i.
KNOWN_UINT = [(0, "80"), (63, "bf"), (64, "c000"), (8255, "dfff"), (8256, "e100"),
              (8257, "e101"), (1 << 32, "e4ffffdfc0")]
KNOWN_INT = [(-1, "7f"), (-64, "40"), (-65, "3fff"), (-8256, "2000"), (-8257, "16dfbf"),
             (-(1 << 63), "1080" + "00" * 7)]


@pytest.mark.parametrize("value, packed", KNOWN_UINT)
def test_unpack_uint_known_values(value: int, packed: str) -> None:
    data = bytes.fromhex(packed)
    assert unpack_uint(data, 0) == (value, len(data))
    assert pack_uint(value) == data


@pytest.mark.parametrize("value, packed", KNOWN_INT)
def test_unpack_int_negative_values(value: int, packed: str) -> None:
    data = bytes.fromhex(packed)
    assert unpack_int(data, 0) == (value, len(data))


@given(st.integers(0, (1 << 64) - 1 - 8256))
def test_uint_round_trip(value: int) -> None:
    data = b"\x00" + pack_uint(value) + b"\x00"
    assert unpack_uint(data, 1) == (value, len(data) - 1)


@given(st.integers(1, (1 << 63) - 1))
def test_record_id_round_trip(value: int) -> None:
    packed = pack_record_id(value)
    assert unpack_int(packed, 0) == (value, len(packed))


@pytest.mark.parametrize("bad", [b"", b"\xc0", b"\xe4\x01\x02", b"\xe9" + b"\x00" * 9])
def test_unpack_uint_truncated(bad: bytes) -> None:
    with pytest.raises(Truncated):
        unpack_uint(bad, 0)


@pytest.mark.parametrize("bad", [b"\x00", b"\x7f", b"\xf0"])
def test_unpack_uint_rejects_other_markers(bad: bytes) -> None:
    with pytest.raises(ValueError):
        unpack_uint(bad, 0)


def test_config_nesting_quotes_and_checkpoints() -> None:
    text = ('allocation_size=512,block_compressor=zstd,checkpoint=(WiredTigerCheckpoint.3=('
            'addr="01c0",order=3),WiredTigerCheckpoint.7=(addr="0180818283",order=7),'
            'named=(addr="01ff",order=9)),checkpoint_lsn=(12,3456),key_format=q,'
            'value_format=u,app_metadata=(formatVersion=1,x="a,b)c"),encryption=(keyid=,name=)')
    fields = parse_config(text)
    assert fields["app_metadata"] == '(formatVersion=1,x="a,b)c")'
    config = file_config(text, "f")
    assert config.checkpoint == bytes.fromhex("0180818283")  # highest order, not "named"
    assert (config.allocation_size, config.compressor) == (512, "zstd")
    assert (config.key_format, config.value_format, config.encryption) == ("q", "u", "")
    assert checkpoint_lsn(text) == (12, 3456)
    assert file_config("checkpoint=,key_format=q", "f").checkpoint is None
    assert parse_size("4KB") == 4096 and parse_size("64MB") == 64 << 20
    with pytest.raises(WarehouseError, match="unreadable WiredTiger metadata"):
        file_config("checkpoint=(a=(b)", "f")


def test_checkpoint_cookie_and_addresses() -> None:
    cookie = b"\x01" + pack_uint(3) + pack_uint(2) + pack_uint(0xDEADBEEF) + b"\x80" * 9
    root = checkpoint_root(cookie, 4096)
    assert root is not None
    assert (root.offset, root.size, root.checksum) == (16384, 8192, 0xDEADBEEF)
    assert checkpoint_root(b"\x01\x80\x80\x80", 4096) is None  # an empty tree
    with pytest.raises(ValueError, match="version"):
        checkpoint_root(b"\x02" + cookie[1:], 4096)
    with pytest.raises(ValueError, match="32 bits"):
        unpack_address(pack_uint(0) + pack_uint(1) + pack_uint(1 << 33), 0, 4096)


def page(kind: int, parts: list[bytes], flags: int = 0, version: int = 1) -> Page:
    return Page(4096, kind, flags, version, len(parts), bytes(40) + b"".join(parts))


def short_key(key: bytes) -> bytes:
    return bytes([len(key) << 2 | 0x01]) + key


def short_value(value: bytes) -> bytes:
    return bytes([len(value) << 2 | 0x03]) + value


def window_value(value: bytes, flags: int, fields: int) -> bytes:
    """A value cell with a second descriptor byte (MongoDB 4.4+)."""
    window = bytes([flags]) + b"".join(pack_uint(100 + i) for i in range(fields))
    return bytes([cells.VALUE | cells.SECOND_DESC]) + window + pack_uint(len(value)) + value


class FakeFile:
    path = "t.wt"
    allocation_size = 4096

    def error(self, message: str, offset: int | None = None) -> WarehouseError:
        return WarehouseError(message, path=self.path, offset=offset)


def leaf(parts: list[bytes], flags: int = 0):
    return [(item.key, bytes(item.value))
            for item in btree._leaf_items(page(PAGE_ROW_LEAF, parts, flags), FakeFile())]


def test_time_windows_stop_means_removed() -> None:
    stop_txn, stop_ts, start_txn = 0x40, 0x10, 0x20
    items = leaf([short_key(b"\x81"), window_value(b"live", start_txn, 1),
                  short_key(b"\x82"), window_value(b"gone", start_txn | stop_txn, 2),
                  short_key(b"\x83"), window_value(b"gone too", stop_ts | 0x08 | 0x02, 3),
                  short_key(b"\x84"), short_value(b"plain")])
    assert items == [(b"\x81", b"live"), (b"\x84", b"plain")]


def test_prepared_value_is_not_supported() -> None:
    with pytest.raises(WarehouseError, match="prepared"):
        leaf([short_key(b"\x81"), window_value(b"x", 0x01 | 0x20, 1)])


def test_long_prefix_keys_value_copies_and_empty_values() -> None:
    long_key = b"k" * 70
    value = b"v" * 100
    first_value = bytes([cells.VALUE]) + pack_uint(len(value) - 64) + value
    prefix_cell = bytes([cells.KEY_PFX, 60]) + pack_uint(80 - 64) + b"x" * 80
    parts = [bytes([cells.KEY]) + pack_uint(len(long_key) - 64) + long_key, first_value,
             prefix_cell]
    copy_at = 40 + sum(map(len, parts))
    back = copy_at - (40 + len(parts[0]))
    parts += [bytes([cells.VALUE_COPY]) + pack_uint(back), short_key(b"z")]
    items = leaf(parts)
    assert items == [(long_key, value), (b"k" * 60 + b"x" * 80, value), (b"z", b"")]


@pytest.mark.parametrize("bad, message", [
    (bytes([cells.VALUE_OVFL_RM]) + pack_uint(3) + b"abc", "unexpected cell"),
    (bytes([cells.DEL]), "unexpected cell"),
    (bytes([0xD0]) + pack_uint(1) + b"a", "unknown cell type"),
    (bytes([cells.VALUE]) + pack_uint(200) + b"short", "past the end of the page"),
    (bytes([cells.KEY | cells.SECOND_DESC, 0x20, 0x81]) + pack_uint(0) + b"k" * 64,
     "time window on a cell"),
])
def test_bad_cells_are_located_errors(bad: bytes, message: str) -> None:
    with pytest.raises(WarehouseError, match=message) as caught:
        leaf([short_key(b"\x81"), bad])
    assert (caught.value.path, caught.value.offset) == ("t.wt", 4096)


def test_prefix_longer_than_the_previous_key() -> None:
    with pytest.raises(WarehouseError, match="shares 9 bytes"):
        leaf([short_key(b"ab"), bytes([3 << 2 | 0x02, 9]) + b"xyz"])


def test_cells_must_fill_the_page() -> None:
    with pytest.raises(WarehouseError, match="after the last cell"):
        list(cells.page_cells(Page(0, PAGE_ROW_LEAF, 0, 0, 1, bytes(40) + short_key(b"a")
                                   + b"\0"), "t.wt"))


def test_internal_pages_skip_deleted_children() -> None:
    def address(units: int) -> bytes:
        cookie = pack_uint(units) + pack_uint(1) + pack_uint(7)
        return pack_uint(len(cookie)) + cookie

    fast_truncate = pack_uint(5) + pack_uint(6) + pack_uint(7)  # txn, timestamps (4.4+)
    start_ts_window = b"\x08" + pack_uint(9)
    parts = [short_key(b""), bytes([cells.ADDR_LEAF_NO]) + address(1),
             short_key(b"\x85"), bytes([cells.ADDR_DEL]) + fast_truncate + address(2),
             short_key(b"\x89"),
             bytes([cells.ADDR_INT | cells.SECOND_DESC]) + start_ts_window + address(4)]
    children = btree._children(page(PAGE_ROW_INTERNAL, parts, PAGE_FT_UPDATE), FakeFile())
    assert [(c.offset, c.size, c.checksum) for c in children] == [(8192, 4096, 7),
                                                                    (20480, 4096, 7)]
    with pytest.raises(WarehouseError, match="unexpected cell"):
        btree._children(page(PAGE_ROW_INTERNAL, [short_key(b"a"), short_value(b"b")]),
                        FakeFile())


def table_file(path, page_flags: int = 0, version: int = 0, kind: int = PAGE_ROW_LEAF,
               major: int = 1) -> Address:
    """A one-block file made by hand: descriptor, then a page of one short key."""
    head = bytearray(4096)
    struct.pack_into("<IHH", head, 0, 120897, major, 0)
    struct.pack_into("<I", head, 8, crc32.iscsi(bytes(head)))
    block = bytearray(4096)
    body = short_key(b"\x81") + short_value(b"x")
    struct.pack_into("<QQIIBBBB", block, 0, 0, 1, 40 + len(body), 2, kind, page_flags, 0,
                     version)
    block[40:40 + len(body)] = body
    struct.pack_into("<IIB", block, 28, 4096, 0, 0x01)
    checksum = crc32.iscsi(bytes(block))
    struct.pack_into("<I", block, 32, checksum)
    path.write_bytes(bytes(head + block))
    return Address(4096, 4096, checksum)


def test_hand_made_file_reads(tmp_path) -> None:
    address = table_file(tmp_path / "t.wt")
    with BlockFile(str(tmp_path / "t.wt"), 4096, "snappy") as file:
        assert [(i.key, bytes(i.value)) for i in btree.walk(file, address)] == [(b"\x81", b"x")]


@pytest.mark.parametrize("options, message", [
    ({"page_flags": PAGE_ENCRYPTED}, "encrypted pages are not supported"),
    ({"version": 2}, "page format version 2 is not supported"),
    ({"page_flags": PAGE_LAS_UPDATE}, "lookaside"),
    ({"kind": 3}, "page of type 3"),
    ({"major": 2}, "block format version 2.0 is not supported"),
])
def test_unsupported_pages_are_named(tmp_path, options: dict, message: str) -> None:
    address = table_file(tmp_path / "t.wt", **options)
    with pytest.raises(WarehouseError, match=message) as caught:
        with BlockFile(str(tmp_path / "t.wt"), 4096, "none") as file:
            list(btree.walk(file, address))
    assert caught.value.path == str(tmp_path / "t.wt")


def test_unknown_compressor_and_bad_allocation_size(tmp_path) -> None:
    table_file(tmp_path / "t.wt")
    with pytest.raises(WarehouseError, match="block compressor 'lz4' is not supported"):
        BlockFile(str(tmp_path / "t.wt"), 4096, "lz4")
    with pytest.raises(WarehouseError, match="bad allocation size"):
        BlockFile(str(tmp_path / "t.wt"), 1000, "none")
