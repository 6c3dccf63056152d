"""Walking a row-store table from its checkpoint: the live tree, in key order.

The checkpoint names the root page; internal pages hold (key, child address)
pairs, leaf pages (key, value) pairs. Only blocks reached from the root are
read: a file also holds blocks of older checkpoints and freed blocks, whose
stale contents (removed or overwritten documents) must not come back.

Damage is reported, never followed: a block read twice (a cycle, or a page
shared by two parents), a tree deeper than any real one, keys out of order.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

from warehouse.errors import WarehouseError

from . import cells
from .pages import (HEADER_SIZE, PAGE_LAS_UPDATE, PAGE_OVERFLOW, PAGE_ROW_INTERNAL,
                    PAGE_ROW_LEAF, PAGE_VERSIONS, Address, BlockFile, Page, Truncated,
                    unpack_address)

MAX_DEPTH = 64  # real trees are a handful of levels deep


class Item(NamedTuple):
    """A key and its value; ``offset`` is the block that holds the value."""

    key: bytes
    value: memoryview
    offset: int


def walk(file: BlockFile, root: Address | None) -> Iterator[Item]:
    """Every live (key, value) of the tree under ``root``, in key order."""
    if root is None:
        return
    visited: set[int] = set()
    stack: list[Iterator[Address]] = [iter((root,))]
    last_key: bytes | None = None
    while stack:
        address = next(stack[-1], None)
        if address is None:
            stack.pop()
            continue
        if address.offset in visited:
            raise WarehouseError(f"cyclic page reference: the block at {address.offset} is "
                                 f"referenced twice", path=file.path, offset=address.offset)
        visited.add(address.offset)
        page = _read_tree_page(file, address)
        if page.type == PAGE_ROW_INTERNAL:
            if len(stack) >= MAX_DEPTH:
                raise WarehouseError(f"tree deeper than {MAX_DEPTH} levels",
                                     path=file.path, offset=page.offset)
            stack.append(iter(_children(page, file)))
            continue
        for item in _leaf_items(page, file):
            if last_key is not None and item.key <= last_key:
                raise WarehouseError("keys out of order", path=file.path, offset=page.offset)
            last_key = item.key
            yield item


def _read_tree_page(file: BlockFile, address: Address) -> Page:
    page = file.read(address)
    if page.type not in (PAGE_ROW_INTERNAL, PAGE_ROW_LEAF):
        raise file.error(f"page of type {page.type} where a row-store page belongs",
                         page.offset)
    if page.version not in PAGE_VERSIONS:
        raise file.error(f"page format version {page.version} is not supported (0 and 1, "
                         f"up to WiredTiger 11, are)", page.offset)
    if page.flags & PAGE_LAS_UPDATE and page.type == PAGE_ROW_LEAF:
        raise file.error("page has newer updates in the lookaside table "
                         "(WiredTigerLAS.wt), which is not read", page.offset)
    return page


def _address(page: Page, cell: cells.Cell, file: BlockFile) -> Address:
    """The address cookie held by an address or overflow cell."""
    try:
        address, end = unpack_address(page.data, cell.start, file.allocation_size)
    except (ValueError, IndexError, Truncated) as exc:
        raise WarehouseError(f"bad address cookie: {exc or 'truncated'}", path=file.path,
                             offset=page.offset) from exc
    if address is None or end != cell.end:
        raise WarehouseError("bad address cookie (empty, or with an object id of tiered "
                             "storage)", path=file.path, offset=page.offset)
    return address


def _children(page: Page, file: BlockFile) -> list[Address]:
    """Child addresses of an internal page (key, address pairs), in key order."""
    children: list[Address] = []
    want_key = True
    for cell in cells.page_cells(page, file.path):
        if want_key and cell.kind in cells.KEYS:
            want_key = False
        elif not want_key and cell.kind in cells.ADDRESSES:
            want_key = True
            if cell.kind != cells.ADDR_DEL:  # a fast-truncated child: its records are gone
                children.append(_address(page, cell, file))
        else:
            raise WarehouseError(f"unexpected cell of type 0x{cell.kind:02x} on an "
                                 f"internal page", path=file.path, offset=page.offset)
    if not want_key:
        raise WarehouseError("internal page ends with a key without a child",
                             path=file.path, offset=page.offset)
    return children


def overflow(file: BlockFile, address: Address) -> memoryview:
    """The item stored in an overflow page."""
    page = file.read(address)
    if page.type != PAGE_OVERFLOW:
        raise WarehouseError(f"page of type {page.type} where an overflow page belongs",
                             path=file.path, offset=page.offset)
    end = HEADER_SIZE + page.entries
    if end > len(page.data):
        raise WarehouseError(f"overflow item of {page.entries} bytes in a page of "
                             f"{len(page.data)}", path=file.path, offset=page.offset)
    return memoryview(page.data)[HEADER_SIZE:end]


def _leaf_items(page: Page, file: BlockFile) -> Iterator[Item]:
    """(key, value) pairs of a leaf page; a key without a value has an empty value."""
    data = page.data
    view = memoryview(data)
    key = b""
    pending: bytes | None = None
    empty = memoryview(b"")
    for cell in cells.page_cells(page, file.path):
        kind = cell.kind
        if kind == cells.KEY or kind == cells.KEY_PFX:
            if pending is not None:
                yield Item(pending, empty, page.offset)
            if cell.prefix > len(key):
                raise WarehouseError(f"key shares {cell.prefix} bytes with a previous key "
                                     f"of {len(key)}", path=file.path, offset=page.offset)
            key = pending = key[:cell.prefix] + data[cell.start:cell.end]
        elif kind == cells.KEY_OVFL:
            if pending is not None:
                yield Item(pending, empty, page.offset)
            key = pending = bytes(overflow(file, _address(page, cell, file)))
        elif (kind == cells.VALUE or kind == cells.VALUE_OVFL) and pending is not None:
            if cell.prepared:
                raise WarehouseError("value of a prepared, uncommitted transaction: not "
                                     "supported", path=file.path, offset=page.offset)
            if not cell.removed:
                if kind == cells.VALUE:
                    yield Item(pending, view[cell.start:cell.end], page.offset)
                else:
                    address = _address(page, cell, file)
                    yield Item(pending, overflow(file, address), address.offset)
            pending = None
        else:
            raise WarehouseError(f"unexpected cell of type 0x{kind:02x} on a leaf page",
                                 path=file.path, offset=page.offset)
    if pending is not None:
        yield Item(pending, empty, page.offset)
