"""Cells of row-store pages (``src/include/cell.h`` and ``cell_inline.h``).

A cell starts with a descriptor byte. Its two low bits mark the short forms,
whose 6 high bits hold the length of the data that follows: 1 key, 2 key with
a prefix byte (bytes shared with the previous key), 3 value. Otherwise bit
0x04 announces a packed 64-bit number (run length; column stores only), bit
0x08 (WiredTiger 10+ / MongoDB 4.4+) a second descriptor byte followed by a
time window, and the high nibble is the cell type. Long keys and values store
their length minus 64; address and overflow cells carry an address cookie;
a value copy carries the distance back to an earlier value cell on the page.

The time window only matters here for what it says about visibility: a stop
time means the value was removed; a prepared value belongs to a transaction
that had not committed.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

from warehouse.errors import WarehouseError

from .pages import PAGE_FT_UPDATE, HEADER_SIZE, Page, Truncated, unpack_uint

# Cell types (high nibble of the descriptor byte).
ADDR_DEL = 0x00
ADDR_INT = 0x10
ADDR_LEAF = 0x20
ADDR_LEAF_NO = 0x30
DEL = 0x40
KEY = 0x50
KEY_OVFL = 0x60
KEY_PFX = 0x70
VALUE = 0x80
VALUE_COPY = 0x90
VALUE_OVFL = 0xA0
VALUE_OVFL_RM = 0xB0
KEY_OVFL_RM = 0xC0

ADDRESSES = frozenset((ADDR_DEL, ADDR_INT, ADDR_LEAF, ADDR_LEAF_NO))
KEYS = frozenset((KEY, KEY_PFX, KEY_OVFL))
_WINDOWED = ADDRESSES | {DEL, VALUE, VALUE_COPY, VALUE_OVFL, VALUE_OVFL_RM}
_LENGTHED = ADDRESSES | {KEY, KEY_PFX, KEY_OVFL, KEY_OVFL_RM, VALUE, VALUE_OVFL, VALUE_OVFL_RM}

SECOND_DESC = 0x08
CELL_64V = 0x04
SIZE_ADJUST = 64
# Second descriptor byte: which time-window fields follow, one packed integer each.
PREPARE = 0x01
_WINDOW_FIELDS = 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40
_STOP_FIELDS = 0x04 | 0x10 | 0x40  # durable stop timestamp, stop timestamp, stop txn


class Cell(NamedTuple):
    """One unpacked cell; ``start:end`` is its data (key, value or address)."""

    kind: int  # a cell type above; short keys are KEY, short values VALUE
    prefix: int  # bytes shared with the previous key (leaf keys)
    start: int
    end: int
    next: int  # where the next cell starts
    removed: bool  # a stop time: the value was removed (4.4+)
    prepared: bool  # written by a prepared, uncommitted transaction (4.4+)


def _skip_window(data: bytes | bytearray, pos: int) -> tuple[int, bool, bool]:
    """Skip a time window; ``(next pos, has a stop time, prepared)``."""
    flags = data[pos]
    pos += 1
    if flags & 0x80:
        raise ValueError(f"unknown time window flags 0x{flags:02x}")
    for bit in (0x02, 0x04, 0x08, 0x10, 0x20, 0x40):
        if flags & bit:
            _, pos = unpack_uint(data, pos)
    return pos, bool(flags & _STOP_FIELDS), bool(flags & PREPARE)


def unpack_cell(data: bytes | bytearray, pos: int, ft_update: bool) -> Cell:
    """The cell at ``pos``; raises ValueError, IndexError or Truncated if bad."""
    desc = data[pos]
    short = desc & 0x03
    if short:
        length = desc >> 2
        if short == 2:
            start = pos + 2
            return Cell(KEY, data[pos + 1], start, start + length, start + length, False, False)
        kind = KEY if short == 1 else VALUE
        return Cell(kind, 0, pos + 1, pos + 1 + length, pos + 1 + length, False, False)
    kind = desc & 0xF0
    p = pos + 1
    prefix = 0
    removed = prepared = False
    if kind == KEY_PFX:
        prefix = data[p]
        p += 1
    if desc & SECOND_DESC:
        if kind not in _WINDOWED:
            raise ValueError(f"time window on a cell of type 0x{kind:02x}")
        p, removed, prepared = _skip_window(data, p)
    if kind == ADDR_DEL and ft_update:
        for _ in range(3):  # fast-truncate transaction and timestamps
            _, p = unpack_uint(data, p)
    rle = 0
    if desc & CELL_64V:
        rle, p = unpack_uint(data, p)
    if kind == VALUE_COPY:
        back, p = unpack_uint(data, p)
        return Cell(VALUE_COPY, 0, pos - back, pos - back, p, removed, prepared)
    if kind == DEL:
        return Cell(DEL, 0, p, p, p, removed, prepared)
    if kind not in _LENGTHED:
        raise ValueError(f"unknown cell type 0x{kind:02x}")
    length, p = unpack_uint(data, p)
    if kind in (KEY, KEY_PFX) or (kind == VALUE and rle == 0 and not desc & SECOND_DESC):
        length += SIZE_ADJUST
    return Cell(kind, prefix, p, p + length, p + length, removed, prepared)


def page_cells(page: Page, path: str) -> Iterator[Cell]:
    """Every cell of a row-store page, checked to fill the page exactly.

    A value copy comes back as the cell it copies, with the copy's own
    visibility (a copy has its own time window).
    """
    data = page.data
    ft_update = bool(page.flags & PAGE_FT_UPDATE)
    pos = HEADER_SIZE
    end = len(data)
    for index in range(page.entries):
        try:
            if pos >= end:
                raise ValueError("the page ends before its last cell")
            cell = unpack_cell(data, pos, ft_update)
            if cell.next > end:
                raise ValueError("the cell runs past the end of the page")
            if cell.kind == VALUE_COPY:
                cell = _copied(data, pos, cell, ft_update)
        except (ValueError, IndexError, Truncated) as exc:
            raise WarehouseError(f"bad cell {index} of {page.entries} at page byte {pos}: "
                                 f"{exc or 'truncated'}", path=path, offset=page.offset) from exc
        yield cell
        pos = cell.next
    if pos != end:
        raise WarehouseError(f"{end - pos} bytes after the last cell of the page",
                             path=path, offset=page.offset)


def _copied(data: bytes | bytearray, pos: int, copy: Cell, ft_update: bool) -> Cell:
    """The value cell a copy cell points back to, with the copy's visibility."""
    target = copy.start
    if not HEADER_SIZE <= target < pos:
        raise ValueError(f"value copy points to page byte {target}, not an earlier cell")
    original = unpack_cell(data, target, ft_update)
    if original.kind not in (VALUE, VALUE_OVFL) or original.end > pos:
        raise ValueError(f"value copy points to a cell of type 0x{original.kind:02x}")
    return original._replace(next=copy.next, removed=copy.removed, prepared=copy.prepared)
