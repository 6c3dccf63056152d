"""mongoexport JSON: one document per line, or one ``--jsonArray`` array.

Every era is read by the same code: orjson parses standard JSON; a line that
carries the non-standard constants of older tools (bare ``NaN``,
``Infinity``, ``+Infinity``) falls back to Python's parser, which keeps them
as floats; Extended JSON wrappers are then decoded (see ``extjson``). Arrays
are split into documents while streaming, so a whole experiment on one line
never sits in memory at once.
"""

from __future__ import annotations

import json
import re
from typing import Any, BinaryIO, Callable, Iterator

import orjson

from ..errors import WarehouseError
from . import Record
from .extjson import decode_document

MARKER = b'"$'
# A string, or the constant +Infinity that no JSON parser accepts.
_STRING_OR_PLUS_INFINITY = re.compile(rb'"(?:[^"\\]|\\.)*"|\+Infinity')

DEFAULT_MAX_DOCUMENT = 64 << 20


def _lenient_loads(text: bytes) -> Any:
    if b"+Infinity" in text:
        text = _STRING_OR_PLUS_INFINITY.sub(
            lambda m: m[0] if m[0][:1] == b'"' else b"Infinity", text
        )
    return json.loads(text)  # accepts NaN, Infinity, -Infinity and big ints


def _json_error_message(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"malformed JSON: {error.msg} at column {error.pos + 1}"  # the line is one line
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text: byte {error.object[error.start]:#04x} at column {error.start + 1}"
    return f"malformed JSON: {error}"


def parse_document(text: bytes) -> dict[str, Any]:
    """One JSON document of any mongoexport era, decoded to exact values."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            doc = _lenient_loads(text)
        except (ValueError, RecursionError) as error:
            raise WarehouseError(_json_error_message(error)) from None
    if type(doc) is not dict:
        raise WarehouseError(f"expected a JSON object, found {type(doc).__name__}")
    markers = text.count(MARKER)
    if not markers:
        return doc
    try:
        return decode_document(doc, markers)
    except Exception as error:  # int(), ObjectId(), Decimal128(), base64 each raise their own
        raise WarehouseError(f"invalid Extended JSON value: {type(error).__name__}: {error}") from None


OnBadLine = Callable[[WarehouseError, bytes], None]


def read_json_lines(stream: BinaryIO, path: str, max_document: int = DEFAULT_MAX_DOCUMENT,
                    on_bad_line: OnBadLine | None = None) -> Iterator[Record]:
    """Documents of a JSON-lines export, each with its line number.

    A malformed line raises, unless ``on_bad_line`` is given: then it is
    handed the error and the line's bytes, and reading goes on.
    """
    lineno = 0
    while True:
        line = stream.readline(max_document + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_document:
            raise WarehouseError(f"line longer than {max_document} bytes", path, lineno,
                                 salvageable=False)  # the rest of the line is unread
        if line.isspace():
            continue
        try:
            document = parse_document(line)
        except WarehouseError as error:
            error.located(path, lineno)
            if on_bad_line is None:
                raise error from None
            on_bad_line(error, line)
            continue
        yield Record(document, line=lineno)


# Everything up to the next bracket: plain bytes, or whole strings (which may
# hold brackets). Stops before an unfinished string at the end of the buffer.
# Possessive quantifiers: an unfinished string must not cause backtracking.
_UP_TO_BRACKET = re.compile(rb'(?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+")*+')
_SEPARATOR = re.compile(rb"[\s,]*")
CHUNK = 1 << 20


def _matched_end(pattern: re.Pattern[bytes], buffer: bytes, pos: int) -> int:
    """Where a pattern that also matches nothing stops matching at ``pos``."""
    match = pattern.match(buffer, pos)
    assert match is not None  # both patterns above match the empty string
    return match.end()


class _ArrayScanner:
    """Splits a ``[doc, doc, …]`` stream into the raw bytes of each doc.

    The buffer keeps only the bytes from the current document on: what has
    been handed out is dropped when more is read, so memory holds about one
    document plus one chunk.
    """

    def __init__(self, stream: BinaryIO, path: str, max_document: int) -> None:
        self.stream = stream
        self.path = path
        self.max_document = max_document
        self.buffer = b""
        self.base = 0  # stream offset of buffer[0]
        self.keep = 0  # bytes before this index are no longer needed
        self.eof = False

    def _more(self) -> int:
        """Read a chunk; return how far positions shifted left (-1 at EOF)."""
        if self.eof:
            return -1
        chunk = self.stream.read(CHUNK)
        if not chunk:
            self.eof = True
            return -1
        shift = self.keep
        self.buffer = self.buffer[shift:] + chunk
        self.base += shift
        self.keep = 0
        return shift

    def _fail(self, message: str, at: int) -> WarehouseError:
        return WarehouseError(message, self.path, offset=self.base + at)

    def _skip_separators(self, pos: int) -> int:
        while True:
            end = _matched_end(_SEPARATOR, self.buffer, pos)
            if end < len(self.buffer):
                return end
            shift = self._more()
            if shift < 0:
                return end
            pos = end - shift

    def documents(self) -> Iterator[tuple[bytes, int]]:
        pos = self._skip_separators(0)
        if self.buffer[pos:pos + 1] != b"[":
            raise self._fail("expected '[' to open a JSON array", pos)
        pos += 1
        while True:
            self.keep = pos
            pos = self._skip_separators(pos)
            head = self.buffer[pos:pos + 1]
            if head == b"]":
                rest = self._skip_separators(pos + 1)
                if rest < len(self.buffer):
                    raise self._fail("unexpected data after the JSON array", rest)
                return
            if head != b"{":
                what = "end of input" if not head else repr(head.decode("latin-1"))
                raise self._fail(f"expected a JSON object in the array, found {what}", pos)
            self.keep = pos
            start, end = self._object_bounds(pos)
            yield self.buffer[start:end], self.base + start
            pos = end

    def _object_bounds(self, start: int) -> tuple[int, int]:
        depth, pos = 0, start
        while True:
            pos = _matched_end(_UP_TO_BRACKET, self.buffer, pos)
            if pos >= len(self.buffer) or self.buffer[pos] == 0x22:  # need more bytes
                if pos - start > self.max_document:
                    raise self._fail(f"document longer than {self.max_document} bytes", start)
                shift = self._more()
                if shift < 0:
                    raise self._fail("JSON array cut short inside a document", start)
                start, pos = start - shift, pos - shift
                continue
            depth += 1 if self.buffer[pos] in b"[{" else -1
            pos += 1
            if depth == 0:
                return start, pos


def read_json_array(stream: BinaryIO, path: str,
                    max_document: int = DEFAULT_MAX_DOCUMENT) -> Iterator[Record]:
    """Documents of a ``--jsonArray`` export, each with its byte offset."""
    for text, offset in _ArrayScanner(stream, path, max_document).documents():
        try:
            yield Record(parse_document(text), offset=offset)
        except WarehouseError as error:
            raise error.located(path, offset=offset) from None
