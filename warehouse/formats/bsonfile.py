"""Concatenated BSON documents: a mongodump ``.bson`` file, decompressed.

The stream is read document by document (4-byte length, then the rest), never
whole. Each record's ``offset`` is the byte offset of its document's first byte
in the stream. The building blocks (reading one raw document, decoding it) are
shared with the archive reader.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO, Iterator

import bson
from bson.codec_options import CodecOptions, DatetimeConversion

from warehouse.errors import WarehouseError
from warehouse.formats import Record

MAX_DOCUMENT = 64 * 1024 * 1024
MIN_DOCUMENT = 5  # int32 length + the trailing NUL of an empty document

# Dates stay integers of milliseconds (DatetimeMS), so that no date is ever out
# of range; strings must be valid UTF-8.
CODEC_OPTIONS: CodecOptions = CodecOptions(
    document_class=dict,
    tz_aware=False,
    unicode_decode_error_handler="strict",
    datetime_conversion=DatetimeConversion.DATETIME_MS,
)

# Element type bytes defined by the BSON spec (0x0E symbol and other
# deprecated ones included), plus MinKey 0xFF and MaxKey 0x7F.
BSON_TYPES = frozenset(range(0x01, 0x14)) | {0x7F, 0xFF}

_INT32 = struct.Struct("<i")


def read_exact(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at the end of the stream.

    Some decompressing readers return short reads before their end; loop.
    """
    data = stream.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    missing = size - len(data)
    while missing:
        more = stream.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


CUT_SHORT = "BSON document cut short"


def document_length(head: bytes, path: str, offset: int,
                    max_document: int = MAX_DOCUMENT, cut_short: str = CUT_SHORT) -> int:
    """The length announced by a document's first 4 bytes, checked."""
    if len(head) < 4:
        raise WarehouseError(
            f"{cut_short}: expected a 4-byte length, found {len(head)} byte(s)",
            path=path, offset=offset)
    (length,) = _INT32.unpack(head)
    if length < MIN_DOCUMENT:
        raise WarehouseError(
            f"bad BSON document length {length} (a document has at least {MIN_DOCUMENT} bytes)",
            path=path, offset=offset)
    if length > max_document:
        raise WarehouseError(
            f"bad BSON document length {length}: more than the limit of {max_document} bytes",
            path=path, offset=offset)
    return length


def read_document_rest(stream: BinaryIO, head: bytes, path: str, offset: int,
                       max_document: int = MAX_DOCUMENT, cut_short: str = CUT_SHORT) -> bytes:
    """The whole raw document whose 4 length bytes ``head`` were just read.

    ``cut_short`` starts the message when the stream ends inside it.
    """
    length = document_length(head, path, offset, max_document, cut_short)
    rest = read_exact(stream, length - 4)
    if len(rest) != length - 4:
        raise WarehouseError(
            f"{cut_short}: expected {length} bytes, found {4 + len(rest)}",
            path=path, offset=offset)
    if rest[-1] != 0:
        raise WarehouseError(
            f"BSON document of {length} bytes does not end with a NUL byte",
            path=path, offset=offset)
    return head + rest


def decode_document(raw: bytes | memoryview, path: str, offset: int) -> dict[str, Any]:
    """Decode one raw document; any failure becomes a WarehouseError."""
    try:
        return bson.decode(raw, CODEC_OPTIONS)
    except Exception as exc:  # bson raises several types on corrupt input
        raise WarehouseError(f"invalid BSON document: {exc}", path=path,
                             offset=offset) from exc


def read_bson(stream: BinaryIO, path: str,
              max_document: int = MAX_DOCUMENT) -> Iterator[Record]:
    """Yield every document of a stream of concatenated BSON documents.

    An empty stream yields nothing. A truncated or corrupt document raises
    ``WarehouseError`` at its offset, after the good documents before it.
    """
    path = str(path)
    offset = 0
    while True:
        head = read_exact(stream, 4)
        if not head:
            return
        raw = read_document_rest(stream, head, path, offset, max_document)
        yield Record(decode_document(raw, path, offset), None, offset)
        offset += len(raw)


def looks_like_bson(head: bytes, max_document: int = MAX_DOCUMENT) -> bool:
    """Whether the first bytes of a decompressed stream look like a BSON document.

    Needs at least 5 bytes: a plausible int32 length, then the first element's
    type byte (or the NUL that ends an empty document).
    """
    if len(head) < MIN_DOCUMENT:
        return False
    (length,) = _INT32.unpack_from(head)
    if not MIN_DOCUMENT <= length <= max_document:
        return False
    first = head[4]
    if first == 0:
        return length == MIN_DOCUMENT
    return first in BSON_TYPES and length > MIN_DOCUMENT
