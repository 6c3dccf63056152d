"""Tell a stream's format from its first bytes, never from the file name.

The name only helps where the content cannot speak: an empty ``.bson`` file
is an empty collection (mongodump writes one), a ``.bson`` file that starts
with garbage is read as BSON so that the error says what is wrong and where,
and a mongodump file's name gives its namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from bson import json_util
from bson.json_util import RELAXED_JSON_OPTIONS

from ..errors import WarehouseError
from . import Record
from .archive import looks_like_archive, read_archive_prelude
from .bsonfile import looks_like_bson, read_bson
from .dumpdir import ON_DISK, Companions, DumpNamespace, bson_file_namespace, is_bson_name
from .mongoexport import DEFAULT_MAX_DOCUMENT, OnBadLine, read_json_array, read_json_lines
from .csvfile import CsvHeaders, looks_like_csv, open_csv

HEAD = 64
_JSON_AFTER_BRACE = frozenset(b' \t\r\n"}')


def _no_namespaces() -> list[DumpNamespace]:
    return []


@dataclass
class Detected:
    """A recognised stream: its format name and its records.

    mongodump formats also give ``header`` (the archive header as relaxed
    Extended JSON, or the dump's ``prelude.json`` as written) and
    ``namespaces()``: what the file holds per namespace, with its metadata;
    complete once ``records`` is exhausted.
    """

    format: str
    records: Iterator[Record]
    database: str | None = None
    collection: str | None = None
    header: str | None = None
    namespaces: Callable[[], list[DumpNamespace]] = field(default=_no_namespaces)


def _peek(stream: BinaryIO, size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is None:
        raise TypeError("format detection needs a buffered stream with peek()")
    return peek(size)[:size]


def _surely_bson(head: bytes, max_document: int) -> bool:
    """A BSON length prefix: JSON text never holds a NUL byte, a BSON length
    under 16 MiB always does. Checked before JSON, since a 91-byte document
    starts with ``[`` and an 8315-byte one with ``{ ``."""
    return b"\x00" in head[:4] and looks_like_bson(head, max_document)


def detect(stream: BinaryIO, path: Path, max_document: int = DEFAULT_MAX_DOCUMENT,
           on_bad_line: OnBadLine | None = None, csv_headers: CsvHeaders | None = None,
           companions: Companions = ON_DISK, display: str | None = None) -> Detected:
    """Recognise the format of a decompressed stream and start reading it.

    ``on_bad_line``: for line formats, a malformed line goes there and reading
    goes on (salvage mode); other formats stop at their first damage.
    ``csv_headers``: the CSV files a profile knows (none without it).
    ``companions``: where a mongodump ``.bson`` file's metadata and prelude are.
    ``display``: how messages name the stream (``path`` by default; a
    container's member is ``container!member``, its ``path`` the member's).
    """
    name = display or str(path)
    head = _peek(stream, HEAD)
    bson_name = is_bson_name(path)
    if not head and not bson_name:
        raise WarehouseError("empty file", name, offset=0)
    if looks_like_archive(head):
        return _archive(stream, name, max_document)
    if not head or _surely_bson(head, max_document):
        return _bson(stream, path, name, max_document, companions)
    text = head.lstrip()
    if text[:1] == b"{" and (len(text) == 1 or text[1] in _JSON_AFTER_BRACE):
        return Detected("mongoexport-jsonl",
                        read_json_lines(stream, name, max_document, on_bad_line))
    if text[:1] == b"[":
        return Detected("mongoexport-array", read_json_array(stream, name, max_document))
    if bson_name or looks_like_bson(head, max_document):
        return _bson(stream, path, name, max_document, companions)
    if csv_headers is not None and looks_like_csv(head):  # told by their header
        export, records = open_csv(stream, name, csv_headers)
        return Detected(export.format, records)
    raise WarehouseError(f"unknown format: starts with {head[:16]!r}", name, offset=0)


def _bson(stream: BinaryIO, path: Path, name: str, max_document: int,
          companions: Companions) -> Detected:
    """A ``.bson`` file; its namespace and metadata when named like mongodump's."""
    records = read_bson(stream, name, max_document)
    if not is_bson_name(path):
        return Detected("mongodump-bson", records)
    namespace = bson_file_namespace(path, companions)
    return Detected("mongodump-bson", _counted(records, namespace), namespace.database,
                    namespace.collection, companions.prelude(path), lambda: [namespace])


def _counted(records: Iterator[Record], namespace: DumpNamespace) -> Iterator[Record]:
    for record in records:
        namespace.documents += 1
        yield record


def _archive(stream: BinaryIO, name: str, max_document: int) -> Detected:
    """An archive: its prelude is read now, so the ledger can name what it holds."""
    reader = read_archive_prelude(stream, name, max_document)
    listed = [(entry["db"], entry["collection"]) for entry in reader.collections]
    return Detected("mongodump-archive", reader.complete_records(),
                    _joined(db for db, _ in listed), _joined(coll for _, coll in listed),
                    json_util.dumps(reader.header, json_options=RELAXED_JSON_OPTIONS),
                    reader.dump_namespaces)


def _joined(names) -> str | None:
    """Distinct non-empty names in order of appearance, comma-separated."""
    distinct = dict.fromkeys(str(n) for n in names if n)
    return ",".join(distinct) or None
