"""Walking a collection: its extent chain, then each extent's live record chain.

Only records reached from ``firstExtent`` → ``xnext`` and ``firstRecord`` →
``nextOfs`` are live: removed documents keep their bytes on disk (on the
deleted lists), so nothing is ever found by scanning. Both chains are linked
both ways and end where the namespace and the extents say they end; every
link is checked, so that damage is an error, never a silent skip or a
document read twice. The extent chain is checked whole before the first
document is read: a pointer into another collection fails before it yields.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, cast

from warehouse.errors import WarehouseError
from warehouse.formats import Record
from warehouse.formats.bsonfile import MIN_DOCUMENT, decode_document, document_length

from .datafiles import DataFile, DataFiles
from .layout import (EXTENT_HEADER_SIZE, EXTENT_MAGIC, NULL_OFS, RECORD_AND_LENGTH,
                     RECORD_HEADER_SIZE, DiskLoc, ExtentHeader, parse_extent)
from .namespaces import Namespace

_XNEXT, _FIRST_RECORD, _LAST_RECORD = 12, 160, 168  # field offsets in an extent header
_NEXT_OFS = 8  # in a record header
_LAST_EXTENT, _NRECORDS = 8, 176  # in NamespaceDetails
_NULL = DiskLoc(-1, 0)


class Extent(NamedTuple):
    file: DataFile
    loc: DiskLoc
    header: ExtentHeader


def _check_extent(file: DataFile, loc: DiskLoc, ext: ExtentHeader, prev: DiskLoc) -> None:
    path, ofs = str(file.path), loc.ofs
    if ext.magic != EXTENT_MAGIC:
        raise WarehouseError(f"extent {loc}: bad magic 0x{ext.magic:08x} (expected 0x41424344,"
                             " 'DCBA' on disk)", path=path, offset=ofs)
    if ext.my_loc != loc:
        raise WarehouseError(f"extent {loc} says it is at {ext.my_loc}", path=path, offset=ofs)
    if ext.xprev != prev:
        raise WarehouseError(f"extent {loc} says its previous extent is {ext.xprev},"
                             f" but it was reached from {prev}", path=path, offset=ofs)
    if ext.length < EXTENT_HEADER_SIZE or loc.ofs + ext.length > file.size:
        raise WarehouseError(f"extent {loc} of length {ext.length} does not fit in {file.name}"
                             f" ({file.size} bytes)", path=path, offset=ofs)


def extent_chain(ns: Namespace, files: DataFiles) -> list[Extent]:
    """The extents of a namespace in chain order, every link checked."""
    details = ns.details
    loc, prev = details.first_extent, _NULL
    where = (str(ns.path), ns.details_offset)
    seen: set[DiskLoc] = set()
    chain: list[Extent] = []
    while not loc.is_null:
        if loc in seen:
            raise WarehouseError(f"extent chain of {ns.name} loops back to extent {loc}",
                                 path=where[0], offset=where[1])
        seen.add(loc)
        file = files.locate(loc, EXTENT_HEADER_SIZE, "extent", where)
        ext = parse_extent(file.mm, loc.ofs)
        _check_extent(file, loc, ext, prev)
        chain.append(Extent(file, loc, ext))
        prev, loc, where = loc, ext.xnext, (str(file.path), loc.ofs + _XNEXT)
    if prev != details.last_extent:
        raise WarehouseError(f"extent chain of {ns.name} ends at {prev}, but the namespace's"
                             f" last extent is {details.last_extent}",
                             path=str(ns.path), offset=ns.details_offset + _LAST_EXTENT)
    return chain


def _record(file: DataFile, extent: Extent, ofs: int, prev: int,
            max_document: int) -> tuple[int, int, int]:
    """(next record offset, BSON offset, BSON length) of a live record, checked."""
    path, start, end = str(file.path), extent.loc.ofs, extent.loc.ofs + extent.header.length
    length, extent_ofs, next_ofs, prev_ofs, _ = RECORD_AND_LENGTH.unpack_from(file.mm, ofs)
    here = f"record {file.number}:{ofs:x}"
    if extent_ofs != start:
        raise WarehouseError(f"{here} says its extent is at {extent_ofs:x}, but it is in the"
                             f" chain of extent {extent.loc}", path=path, offset=ofs)
    if prev_ofs != prev:
        raise WarehouseError(f"{here} says its previous record is at {prev_ofs:x}, but it was"
                             f" reached from {prev:x}", path=path, offset=ofs)
    if length < RECORD_HEADER_SIZE + MIN_DOCUMENT or ofs + length > end:
        raise WarehouseError(f"{here} of length {length} does not fit in extent {extent.loc}"
                             f" (which ends at {end:x})", path=path, offset=ofs)
    bson_ofs = ofs + RECORD_HEADER_SIZE
    head = bytes(file.view[bson_ofs:bson_ofs + 4])
    bson_len = document_length(head, path, bson_ofs, max_document)
    if bson_len > length - RECORD_HEADER_SIZE:
        raise WarehouseError(f"BSON document of {bson_len} bytes runs past its record ({here},"
                             f" {length - RECORD_HEADER_SIZE} bytes of data)",
                             path=path, offset=bson_ofs)
    return next_ofs, bson_ofs, bson_len


def _first_record(extent: Extent) -> int:
    first, last = extent.header.first_record, extent.header.last_record
    for name, loc in (("first", first), ("last", last)):
        if not loc.is_null and loc.file != extent.loc.file:
            raise WarehouseError(f"extent {extent.loc}: its {name} record {loc} is in another file",
                                 path=str(extent.file.path), offset=extent.loc.ofs)
    return NULL_OFS if first.is_null else first.ofs


def extent_documents(extent: Extent, max_document: int) -> Iterator[tuple[int, memoryview]]:
    """(offset, raw BSON) of each live record of one extent, in chain order."""
    file, start = extent.file, extent.loc.ofs
    end = start + extent.header.length
    path = str(file.path)
    seen = bytearray((extent.header.length >> 5) + 1)  # one bit per 4 bytes of the extent
    ofs, prev, where = _first_record(extent), NULL_OFS, start + _FIRST_RECORD
    while ofs != NULL_OFS:
        if not start + EXTENT_HEADER_SIZE <= ofs <= end - RECORD_AND_LENGTH.size:
            raise WarehouseError(f"record pointer {file.number}:{ofs:x} leaves extent"
                                 f" {extent.loc} ({start:x} to {end:x})", path=path, offset=where)
        slot = (ofs - start) >> 2
        if seen[slot >> 3] & (1 << (slot & 7)):  # records never share 4 bytes: a loop
            raise WarehouseError(f"record chain of extent {extent.loc} loops back to"
                                 f" {file.number}:{ofs:x}", path=path, offset=where)
        seen[slot >> 3] |= 1 << (slot & 7)
        next_ofs, bson_ofs, bson_len = _record(file, extent, ofs, prev, max_document)
        yield bson_ofs, file.view[bson_ofs:bson_ofs + bson_len]
        prev, ofs, where = ofs, next_ofs, ofs + _NEXT_OFS
    last = extent.header.last_record
    if prev != (NULL_OFS if last.is_null else last.ofs):
        raise WarehouseError(f"record chain of extent {extent.loc} ends at"
                             f" {'nothing' if prev == NULL_OFS else f'{file.number}:{prev:x}'},"
                             f" but the extent's last record is {last}",
                             path=path, offset=start + _LAST_RECORD)


def collection_records(ns: Namespace, files: DataFiles, database: str, collection: str,
                       max_document: int, check_count: bool = True) -> Iterator[Record]:
    """The live documents of a namespace; the count is checked against its ``nrecords``
    (not in an unclean copy, whose counters may not have reached the disk)."""
    count = 0
    for extent in extent_chain(ns, files):
        path = str(extent.file.path)
        for offset, raw in extent_documents(extent, max_document):
            # bson.decode takes any buffer: no copy of the document
            document = decode_document(cast(bytes, raw), path, offset)
            yield Record(document, None, offset, database, collection)
            count += 1
    if check_count and count != ns.details.nrecords:
        raise WarehouseError(f"{ns.name}: the record chains hold {count} documents, but the"
                             f" namespace says {ns.details.nrecords}",
                             path=str(ns.path), offset=ns.details_offset + _NRECORDS)
