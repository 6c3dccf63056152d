"""Input formats: each turns a decompressed binary stream into records.

A format reader is a function ``read(stream, path) -> Iterator[Record]``. Every
record carries its position (line for text, byte offset of the decompressed
stream for binary), so that any later error can name ``path:line`` or
``path@offset``. Readers raise only ``WarehouseError``.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Record(NamedTuple):
    """One document read from a source, with where it was found.

    ``document`` is a dict, except for the export CSV files: there it is a
    ``exportcsv.CsvChunk`` of rows (their handlers say ``csv:<kind>``).
    """

    document: Any
    line: int | None = None
    offset: int | None = None
    # Namespace, where the format knows it (mongodump); None for exports.
    database: str | None = None
    collection: str | None = None
