"""Export CSV chunks staged as small SQLite databases by the worker process.

Why: turning a CSV file into rows costs Python two steps per field, splitting
the text into a string and binding that string to an INSERT, each about as
long as the sqlite3 shell's whole ``.import`` of the field. A worker process
does both here, into an in-memory database that travels to the writing
process as its serialized image (one ``bytes``: cheap to pickle). The writer
deserializes it under the schema ``stage`` and copies the rows into the
warehouse with one ``INSERT … SELECT``, in C, while the worker stages the
next chunk. The values are the file's text either way, and the column
affinities of the warehouse tables convert them exactly as they convert the
bound strings of the unstaged path.

A staged chunk also carries, as lists, the few columns the loader reads for
every row (the run key, the label, ...). Any other access to its rows
unpacks the image: loading stays correct on every path, only slower.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Iterable, Sequence

from .formats.exportcsv import CsvChunk

SCHEMA = "stage"  # the name the writer attaches the staged chunk under
TABLE = f"{SCHEMA}.rows"  # columns c0, c1, ... in file order; rowid = row index + 1

# sqlite3.Connection.serialize exists where Python was built against an
# SQLite with sqlite3_serialize (3.11 and later, nearly everywhere)
AVAILABLE = hasattr(sqlite3.Connection, "serialize")


def column_names(width: int) -> list[str]:
    return [f"c{field}" for field in range(width)]


class StagedChunk(CsvChunk):
    """A chunk whose rows travel as an SQLite image (made in the worker)."""

    def __init__(self, chunk: CsvChunk, keep: Iterable[int]) -> None:
        self.file, self.first_line, self.lines = chunk.file, chunk.first_line, chunk.lines
        rows = chunk.rows
        self.count = len(rows)
        self.width = len(chunk.file.header)
        self.columns = {field: [row[field] for row in rows] for field in keep}
        self.image = _image(rows, self.width)
        self._rows: list[list[Any]] | None = None
        self._db: sqlite3.Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_db": None}

    def __len__(self) -> int:
        return self.count

    @property
    def materialized(self) -> bool:
        return self._rows is not None

    @property  # type: ignore[override]
    def rows(self) -> list[list[Any]]:
        """Every row as a list of fields (unpacked once, then changed in place)."""
        if self._rows is None:
            self._rows = list(map(list, self._query(f"SELECT * FROM rows ORDER BY rowid")))
        return self._rows

    def column(self, field: int) -> list[Any]:
        if self._rows is not None:
            return [row[field] for row in self._rows]
        if field in self.columns:
            return self.columns[field]
        return [value for (value,) in self._query(f"SELECT c{field} FROM rows ORDER BY rowid")]

    def row(self, index: int) -> Sequence[Any]:
        if self._rows is not None:
            return self._rows[index]
        return self._query("SELECT * FROM rows WHERE rowid = ?", (index + 1,))[0]

    def field(self, index: int, field: int) -> Any:
        if self._rows is None and field in self.columns:
            return self.columns[field][index]
        return self.row(index)[field]

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._db is None:
            self._db = sqlite3.connect(":memory:")
            self._db.deserialize(self.image)
        return self._db.execute(sql, params).fetchall()


def _image(rows: list[list[str]], width: int) -> bytes:
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        db.execute(f"CREATE TABLE rows ({', '.join(column_names(width))})")
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * width)})", rows)
        db.execute("COMMIT")
        return db.serialize()
    finally:
        db.close()


def attach(db: sqlite3.Connection, chunk: StagedChunk) -> None:
    """Make the chunk's rows the table ``stage.rows`` of the warehouse connection."""
    if not any(name == SCHEMA for _, name, _ in db.execute("PRAGMA database_list")):
        db.execute(f"ATTACH ':memory:' AS {SCHEMA}")
    db.deserialize(chunk.image, name=SCHEMA)


def is_staged(chunk: CsvChunk) -> bool:
    """Rows still in their image: an ``INSERT … SELECT`` can take them as they are."""
    return isinstance(chunk, StagedChunk) and not chunk.materialized
