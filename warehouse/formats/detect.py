"""Tell a stream's format from its first bytes, never from the file name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import WarehouseError
from . import Record
from .archive import looks_like_archive, read_archive
from .bsonfile import looks_like_bson, read_bson
from .dumpdir import bson_namespace
from .mongoexport import DEFAULT_MAX_DOCUMENT, read_json_array, read_json_lines

HEAD = 64
_JSON_AFTER_BRACE = frozenset(b' \t\r\n"}')


@dataclass
class Detected:
    """A recognised stream: its format name and its records."""

    format: str
    records: Iterator[Record]
    database: str | None = None
    collection: str | None = None


def _peek(stream: BinaryIO, size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is None:
        raise TypeError("format detection needs a buffered stream with peek()")
    return peek(size)[:size]


def _namespace(path: Path) -> tuple[str | None, str | None]:
    """A mongodump file's namespace from its path; unknown for other names."""
    name = path.name.removesuffix(".gz")
    return bson_namespace(path) if name.endswith(".bson") else (None, None)


def detect(stream: BinaryIO, path: Path, max_document: int = DEFAULT_MAX_DOCUMENT) -> Detected:
    """Recognise the format of a decompressed stream and start reading it."""
    name = str(path)
    head = _peek(stream, HEAD)
    if not head:
        raise WarehouseError("empty file", name, offset=0)
    if looks_like_archive(head):
        return Detected("mongodump-archive", read_archive(stream, name, max_document))
    text = head.lstrip()
    if text[:1] == b"{" and (len(text) == 1 or text[1] in _JSON_AFTER_BRACE):
        return Detected("mongoexport-jsonl", read_json_lines(stream, name, max_document))
    if text[:1] == b"[":
        return Detected("mongoexport-array", read_json_array(stream, name, max_document))
    if looks_like_bson(head, max_document):
        database, collection = _namespace(path)
        return Detected("mongodump-bson", read_bson(stream, name, max_document),
                        database, collection)
    raise WarehouseError(f"unknown format: starts with {head[:16]!r}", name, offset=0)
