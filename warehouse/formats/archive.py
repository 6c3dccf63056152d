"""mongodump ``--archive`` files (already decompressed).

Layout (mongo-tools ``common/archive/spec.md``)::

    magic 6d e2 99 81
    header document {concurrent_collections, version, server_version, tool_version}
    collection metadata documents {db, collection, metadata (JSON text), size[, type]}
    ff ff ff ff
    then, interleaved, for every namespace:
      segments:  {db, collection, EOF: false, CRC: 0}, documents..., ff ff ff ff
      one EOF:   {db, collection, EOF: true, CRC: <int64>},     ff ff ff ff

The EOF header's CRC is the CRC-64/XZ of the raw bytes of all the namespace's
documents, over all its segments. Segments may be empty. Archives from the
oldest tools have no CRC field; then nothing is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator

from warehouse.errors import WarehouseError
from warehouse.formats import Record
from warehouse.formats import crc64
from warehouse.formats.bsonfile import (
    MAX_DOCUMENT,
    decode_document,
    read_document_rest,
    read_exact,
)
from warehouse.formats.dumpdir import DumpNamespace, parse_metadata_json

MAGIC = b"\x6d\xe2\x99\x81"
TERMINATOR = b"\xff\xff\xff\xff"


def looks_like_archive(head: bytes) -> bool:
    """Whether a decompressed stream starts with the archive magic number."""
    return head[:4] == MAGIC


@dataclass
class Namespace:
    """What was read of one namespace's data (filled in while iterating)."""

    database: str
    collection: str
    documents: int = 0
    bytes: int = 0
    crc: int = crc64.INITIAL  # unsigned CRC-64/XZ of the documents so far
    closed: bool = False
    stored_crc: int | None = None  # signed int64 from the EOF header, if any
    eof_offset: int | None = None

    @property
    def name(self) -> str:
        return f"{self.database}.{self.collection}"


class ArchiveReader:
    """Reads the prelude on creation; iterate it for the documents.

    ``header``: the header document. ``collections``: one dict per collection
    metadata document, with keys ``db``, ``collection``, ``metadata`` (the
    parsed JSON object, or the raw string when it is not valid JSON),
    ``metadata_text`` (the JSON text as written, or None), ``metadata_valid``,
    ``metadata_error`` (message or None), ``type`` and
    ``size`` (None when absent), ``offset``. ``metadata`` is None when the
    archive gives an empty string (the oplog does). ``namespaces``: a
    :class:`Namespace` per ``(db, collection)`` seen in the data, in order of
    first appearance, with counts and CRCs (complete once iteration ends).
    """

    def __init__(self, stream: BinaryIO, path: str,
                 max_document: int = MAX_DOCUMENT) -> None:
        self.stream = stream
        self.path = str(path)
        self.max_document = max_document
        self.offset = 0
        self.namespaces: dict[tuple[str, str], Namespace] = {}
        self._read_magic()
        self.header: dict[str, Any] = self._read_header()
        self.collections: list[dict[str, Any]] = self._read_collections()

    # -- low-level reading ----------------------------------------------------

    def _error(self, message: str, offset: int | None = None) -> WarehouseError:
        return WarehouseError(message, path=self.path,
                              offset=self.offset if offset is None else offset)

    def _read_head(self, where: str, allow_end: bool = False) -> bytes:
        """4 bytes (a length or the terminator); b"" at a permitted end."""
        head = read_exact(self.stream, 4)
        if len(head) == 4 or (allow_end and not head):
            return head
        raise self._error(f"archive cut short {where}: expected 4 bytes (a document "
                          f"length or the terminator), found {len(head)}")

    def _read_raw(self, head: bytes, where: str) -> bytes:
        """The rest of the document whose length is ``head``."""
        raw = read_document_rest(self.stream, head, self.path, self.offset,
                                 self.max_document, cut_short=f"archive cut short {where}")
        self.offset += len(raw)
        return raw

    # -- prelude ----------------------------------------------------------------

    def _read_magic(self) -> None:
        magic = read_exact(self.stream, 4)
        if magic != MAGIC:
            raise self._error(f"not a mongodump archive: starts with {magic.hex(' ') or 'nothing'}, "
                              f"not the magic number {MAGIC.hex(' ')}")
        self.offset = 4

    def _read_header(self) -> dict[str, Any]:
        where = "in the archive header"
        head = self._read_head(where)
        if head == TERMINATOR:
            raise self._error(f"unexpected terminator {where}")
        return decode_document(self._read_raw(head, where), self.path, 4)

    def _read_collections(self) -> list[dict[str, Any]]:
        collections: list[dict[str, Any]] = []
        where = "in the collection metadata"
        while True:
            start = self.offset
            head = self._read_head(where)
            if head == TERMINATOR:
                self.offset += 4
                return collections
            document = decode_document(self._read_raw(head, where), self.path, start)
            collections.append(self._collection_entry(document, start))

    def _collection_entry(self, document: dict[str, Any], offset: int) -> dict[str, Any]:
        raw = document.get("metadata")
        metadata: Any = raw or None  # the oplog's metadata is ""
        error = None
        if isinstance(raw, str) and raw:
            try:
                metadata = parse_metadata_json(raw)
            except WarehouseError as exc:
                error = exc.message
        elif raw not in (None, ""):
            error = f"metadata is a {type(raw).__name__}, not a JSON string"
        return {
            "db": document.get("db"),
            "collection": document.get("collection"),
            "metadata": metadata,
            "metadata_text": raw if isinstance(raw, str) and raw else None,
            "metadata_valid": error is None,
            "metadata_error": error,
            "type": document.get("type"),
            "size": document.get("size"),
            "offset": offset,
        }

    # -- namespace data -----------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        while True:
            start = self.offset
            head = self._read_head("where a namespace header was expected", allow_end=True)
            if not head:
                self._check_all_closed()
                return
            if head == TERMINATOR:
                raise self._error("unexpected terminator where a namespace header was expected")
            where = "in a namespace header"
            header = decode_document(self._read_raw(head, where), self.path, start)
            namespace = self._namespace(header, start)
            if header.get("EOF"):
                self._close(namespace, header, start)
                self._expect_terminator(f"after the EOF header of {namespace.name}")
            else:
                yield from self._segment(namespace, start)

    def _namespace(self, header: dict[str, Any], offset: int) -> Namespace:
        database, collection = header.get("db"), header.get("collection")
        if not isinstance(database, str) or not isinstance(collection, str):
            raise self._error("namespace header without string db and collection: "
                              f"{header!r}", offset)
        key = (database, collection)
        namespace = self.namespaces.get(key)
        if namespace is None:
            namespace = self.namespaces[key] = Namespace(database, collection)
        if namespace.closed:
            raise self._error(f"namespace {namespace.name} continues after its EOF header "
                              f"(at byte {namespace.eof_offset})", offset)
        return namespace

    def _segment(self, namespace: Namespace, header_offset: int) -> Iterator[Record]:
        where = f"in a segment of {namespace.name} (started at byte {header_offset})"
        while True:
            start = self.offset
            head = self._read_head(where)
            if head == TERMINATOR:
                self.offset += 4
                return
            raw = self._read_raw(head, where)
            namespace.crc = crc64.update(namespace.crc, raw)
            namespace.documents += 1
            namespace.bytes += len(raw)
            document = decode_document(raw, self.path, start)
            yield Record(document, None, start, namespace.database, namespace.collection)

    def _close(self, namespace: Namespace, header: dict[str, Any], offset: int) -> None:
        namespace.closed = True
        namespace.eof_offset = offset
        stored = header.get("CRC")
        if stored is None:
            return
        if not isinstance(stored, int) or isinstance(stored, bool):
            raise self._error(f"EOF header of {namespace.name} has a CRC that is not "
                              f"an integer: {stored!r}", offset)
        namespace.stored_crc = int(stored)
        computed = crc64.to_int64(namespace.crc)
        if crc64.from_int64(namespace.stored_crc) != namespace.crc:
            error = self._error(f"CRC-64 mismatch for namespace {namespace.name}: archive says "
                                f"{namespace.stored_crc}, documents give {computed}", offset)
            error.salvageable = False
            raise error

    def _expect_terminator(self, where: str) -> None:
        head = self._read_head(where)
        if head != TERMINATOR:
            raise self._error(f"expected the terminator ff ff ff ff {where}, "
                              f"found {head.hex(' ')}")
        self.offset += 4

    def missing_collections(self) -> list[str]:
        """Listed collections whose data never ended with an EOF header.

        Only meaningful after iterating to the end. An archive cut exactly
        between two namespaces parses cleanly; this tells the caller. Views
        have no data; a time-series collection's data is in its
        ``system.buckets.`` namespace.
        """
        missing = []
        for entry in self.collections:
            db, coll, metadata = entry["db"], entry["collection"], entry["metadata"]
            options = metadata.get("options") if isinstance(metadata, dict) else None
            if entry["type"] == "view" or (isinstance(options, dict) and "viewOn" in options):
                continue
            if entry["type"] == "timeseries":
                coll = f"system.buckets.{coll}"
            namespace = self.namespaces.get((db, coll))
            if namespace is None or not namespace.closed:
                missing.append(f"{db}.{coll}")
        return missing

    def _check_all_closed(self) -> None:
        unclosed = [ns.name for ns in self.namespaces.values() if not ns.closed]
        if unclosed:
            raise self._error("archive cut short: no EOF header for namespace(s) "
                              + ", ".join(unclosed))

    def check_complete(self) -> None:
        """Raise when a collection listed in the header had no data (call at the end)."""
        missing = self.missing_collections()
        if missing:
            raise self._error("archive cut short: no data for " + ", ".join(missing)
                              + ", listed in its header")

    def dump_namespaces(self) -> list[DumpNamespace]:
        """Every namespace listed in the header or met in the data, with its counts.

        Complete once iteration ends. A namespace met only in the data (a
        time-series collection's buckets, the oplog) has no metadata.
        """
        found: dict[tuple[str, str], DumpNamespace] = {}
        for entry in self.collections:  # the first of repeated entries counts
            key = (str(entry["db"]), str(entry["collection"]))
            seen = self.namespaces.get(key)
            kind = entry["type"] if isinstance(entry["type"], str) else None
            found.setdefault(key, DumpNamespace(*key, seen.documents if seen else 0, kind,
                                                entry["metadata_text"]))
        for key, seen in self.namespaces.items():
            found.setdefault(key, DumpNamespace(*key, seen.documents))
        return list(found.values())

    def complete_records(self) -> Iterator[Record]:
        """The documents; at the end, an error if a listed collection never came."""
        yield from self
        self.check_complete()


def read_archive(stream: BinaryIO, path: str,
                 max_document: int = MAX_DOCUMENT) -> Iterator[Record]:
    """Yield every document of a (decompressed) mongodump archive.

    Errors, including those of the prelude and an archive cut between two
    namespaces, are raised while iterating.
    """
    yield from ArchiveReader(stream, path, max_document).complete_records()


def read_archive_prelude(stream: BinaryIO, path: str,
                         max_document: int = MAX_DOCUMENT) -> ArchiveReader:
    """Read the prelude; the returned reader yields the documents when iterated."""
    return ArchiveReader(stream, path, max_document)
