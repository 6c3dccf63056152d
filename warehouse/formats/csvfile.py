"""CSV files whose header a profile recognises (ctmixtures' export files).

A file is recognised by its header, never by its name: the profile's
:class:`CsvHeaders` tells the kind of file and the exporter era that wrote it
from the header (and, where two eras share a header, from the first row).

Records are chunks of rows, not single rows: a ``Record`` whose document is a
:class:`CsvChunk` (a few thousand rows, each a list of field strings, every
row checked to have as many fields as the header) and whose ``line`` is the
first row's line. Handing rows over in chunks lets the profile convert and
insert them with C-level loops; one record per row would cost more than
SQLite's own ``.import`` spends on the row.

The exporter quotes every field (``csv.QUOTE_ALL``). Such lines are split
with ``str.split`` after a check, per chunk, that no field holds a quote or a
line break; any other CSV (unquoted, embedded quotes or newlines, blank
lines) goes through the ``csv`` module, from that chunk to the end.
"""

from __future__ import annotations

import csv
import gc
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, BinaryIO, Iterable, Iterator, Protocol

from ..errors import WarehouseError
from . import Record

CHUNK_BYTES = 1 << 20  # decompressed bytes per chunk: a few thousand rows
SLOW_CHUNK_ROWS = 2048
MAX_HEADER = 1 << 16
BOM = "\ufeff"

class CsvHeaders(Protocol):
    """What a profile knows of its CSV files."""

    def recognise(self, header: tuple[str, ...]) -> tuple[str, str] | None:
        """(kind, era) of a file with this header, or None."""

    def era_from_first_row(self, kind: str, era: str, header: tuple[str, ...],
                           row: list[str]) -> str:
        """The era, where the first data row tells eras with the same header apart."""

    def expected(self) -> str:
        """The headers it knows, for the error about an unknown one."""


@dataclass
class CsvFile:
    """One recognised CSV file: what its header says, and scratch space for its consumer."""

    path: str
    kind: str
    era: str
    header: tuple[str, ...]
    # per-file state of whoever consumes the records (the profile keeps the
    # runs met in this file here); the reader never looks at it
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def format(self) -> str:
        return f"csv-{self.kind}-{self.era}"


@dataclass
class CsvChunk:
    """Consecutive data rows of one export file."""

    file: CsvFile
    rows: list[list[Any]]  # field strings; the loader puts keys and values in their place
    first_line: int
    lines: list[int] | None = None  # line of each row, when not first_line + index

    def line(self, index: int) -> int:
        return self.first_line + index if self.lines is None else self.lines[index]


def looks_like_csv(head: bytes) -> bool:
    """A text line with commas, not JSON: claimed here so a wrong header gets a clear error."""
    first = head.removeprefix(BOM.encode()).split(b"\n", 1)[0]
    return (b"," in first and first[:1] not in (b"{", b"[")
            and all(byte >= 32 and byte != 127 or byte in (9, 13) for byte in first))


def open_csv(stream: BinaryIO, path: str, headers: CsvHeaders) -> tuple[CsvFile, Iterator[Record]]:
    """Read the header of a CSV file; return what it is and its records."""
    header_bytes = stream.readline(MAX_HEADER)
    try:
        text = header_bytes.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as error:
        raise WarehouseError(f"not UTF-8: {error.reason} at byte {error.start}", path, 1) from None
    header = tuple(name.strip() for name in next(csv.reader([text]), []))
    known = headers.recognise(header)
    if known is None:
        raise WarehouseError(
            f"unknown CSV header ({len(header)} columns: {', '.join(header[:4])}"
            f"{', …' if len(header) > 4 else ''}); expected {headers.expected()}", path, 1)
    kind, era = known
    export = CsvFile(path, kind, era, header)
    terminator = "\r\n" if text.endswith("\r\n") else "\n"
    records = _records(stream, export, terminator)
    first = next(records, None)
    if first is not None:
        export.era = headers.era_from_first_row(kind, era, header, first.document.rows[0])
    return export, chain([first] if first is not None else [], records)


def _records(stream: BinaryIO, export: CsvFile, terminator: str) -> Iterator[Record]:
    collection = f"csv:{export.kind}"
    for chunk in _chunks(stream, export, terminator):
        yield Record(document=chunk, line=chunk.first_line, collection=collection)


def _chunks(stream: BinaryIO, export: CsvFile, terminator: str) -> Iterator[CsvChunk]:
    width = len(export.header)
    line = 2  # the first data row
    for block in _blocks(stream):
        text = _decode(block, export.path, line)
        with paused_gc():
            rows = _split_quoted(text, terminator, width)
        if rows is None:  # not plain QUOTE_ALL lines: the csv module reads the rest
            yield from _csv_module_chunks(text, stream, export, line)
            return
        yield CsvChunk(export, rows, line)
        line += len(rows)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a chunk's rows are made (or loaded).

    A chunk is thousands of lists of strings, and loading it makes as many
    tuples: no cycles among them. Collections triggered by their allocation
    cost a fifth of the load; paused, one collection per chunk remains. Never
    held across a ``yield``: a generator left suspended by a failed file must
    not leave the collector off for the rest of the build.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    """About CHUNK_BYTES at a time, always ending at the end of a line (or of the file)."""
    while True:
        block = stream.read(CHUNK_BYTES)
        if not block:
            return
        if not block.endswith(b"\n"):
            block += stream.readline()
        yield block


def _decode(block: bytes, path: str, first_line: int) -> str:
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as error:
        line = first_line + block.count(b"\n", 0, error.start)
        raise WarehouseError(f"not UTF-8: {error.reason} ({block[error.start:error.end]!r})",
                             path, line) from None


def _split_quoted(text: str, terminator: str, width: int) -> list[list[str]] | None:
    """Rows of a block of QUOTE_ALL lines, or None when the block is anything else.

    Every line break must sit between two quotes (``"\n"``), every row must
    have ``width`` fields, and the block must hold exactly 2 quotes per field:
    then no field holds a quote or a line break, and splitting at ``","`` is
    what the csv module would do.
    """
    if not text.endswith(terminator):
        text += terminator  # the last line of a file without a final newline
    lines = text.count(terminator)
    if text[0] != '"' or not text.endswith('"' + terminator):
        return None
    pieces = text[1:-1 - len(terminator)].split('"' + terminator + '"')
    if len(pieces) != lines or text.count('"') != 2 * width * lines:
        return None
    if terminator != "\n" and text.count("\n") != lines:
        return None  # a bare LF inside a field of a CRLF file: line numbers need the csv module
    rows = [piece.split('","') for piece in pieces]
    return rows if set(map(len, rows)) == {width} else None


def _csv_module_chunks(text: str, stream: BinaryIO, export: CsvFile,
                       first_line: int) -> Iterator[CsvChunk]:
    """The rest of the file through ``csv.reader``: any quoting, fields over several lines."""
    lines = chain(io.StringIO(text), _decoded_lines(stream, export.path, first_line, text))
    reader = csv.reader(lines)
    width = len(export.header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    while True:
        start = first_line + reader.line_num  # the line the next row starts on
        try:
            row = next(reader, None)
        except csv.Error as error:
            raise WarehouseError(f"malformed CSV: {error}", export.path, start) from None
        if row is None:
            break
        if not row:
            continue  # a blank line holds no row
        if len(row) != width:
            raise WarehouseError(f"expected {width} fields, found {len(row)}", export.path, start)
        rows.append(row)
        numbers.append(start)
        if len(rows) >= SLOW_CHUNK_ROWS:
            yield CsvChunk(export, rows, numbers[0], numbers)
            rows, numbers = [], []
    if rows:
        yield CsvChunk(export, rows, numbers[0], numbers)


def _decoded_lines(stream: BinaryIO, path: str, first_line: int, text: str) -> Iterable[str]:
    line = first_line + text.count("\n")
    for raw in stream:
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WarehouseError(f"not UTF-8: {error.reason}", path, line) from None
        line += 1
