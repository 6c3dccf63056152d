"""Export CSV chunks staged by the worker process as small SQLite databases.

Why: turning a CSV file into rows costs Python two steps per field, splitting
the text into a string and binding that string to an INSERT, each about as
long as the sqlite3 shell's whole ``.import`` of the field. A worker process
does both, into an in-memory database holding the very rows the warehouse
will store (same table definition, keys included), and sends it to the
writing process as its serialized image: one ``bytes``, cheap to pickle. The
writer deserializes it under the schema ``stage`` and copies the table with
``INSERT INTO t SELECT * FROM stage.t``, which SQLite does record by record
without decoding them (its transfer optimisation), while the worker stages
the next chunk.

A staged chunk also carries, as lists, the fields the loader reads for every
row (the run key, the label, ...). Any other access to its rows rebuilds them
from the image: loading stays correct on every path, only slower.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Sequence

from .formats.exportcsv import CsvChunk

SCHEMA = "stage"  # the name the writer attaches a staged chunk under

# sqlite3.Connection.serialize exists where Python was built against an
# SQLite with sqlite3_serialize (3.11 and later, nearly everywhere)
AVAILABLE = hasattr(sqlite3.Connection, "serialize")


class StagedChunk(CsvChunk):
    """A chunk whose rows travel as an SQLite image of their warehouse table.

    ``image``: the database, one table ``table`` (with its indexes);
    ``row_ids``: the rowid of each row of the chunk, in file order;
    ``field_columns``: file field -> the table column holding it (as stored);
    ``columns``: file field -> every row's field as the file has it;
    ``run_ids``, ``first_id``: the run_id of each key, and the first sample_id,
    as the worker expects the writer to give them.
    """

    def __init__(self, chunk: CsvChunk, *, table: str, image: bytes, row_ids: Sequence[int],
                 field_columns: dict[int, str], columns: dict[int, list[Any]],
                 run_ids: dict[str, int], first_id: int | None) -> None:
        self.file, self.first_line, self.lines = chunk.file, chunk.first_line, chunk.lines
        self.table, self.image, self.row_ids = table, image, row_ids
        self.field_columns, self.columns = field_columns, columns
        self.run_ids, self.first_id = run_ids, first_id
        self._rows: list[list[Any]] | None = None
        self._fetched: dict[int, list[Any]] = {}  # rows rebuilt one at a time
        self._db: sqlite3.Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_db": None}

    def __len__(self) -> int:
        return len(self.row_ids)

    @property
    def materialized(self) -> bool:
        return self._rows is not None

    @property  # type: ignore[override]
    def rows(self) -> list[list[Any]]:
        """Every row as a list of fields (rebuilt once, then changed in place)."""
        if self._rows is None:
            stored = {row[0]: row[1:] for row in self._query(f"SELECT rowid, * FROM {self.table}")}
            names = self._column_names()
            self._rows = [self._rebuild(index, stored[row_id], names)
                          for index, row_id in enumerate(self.row_ids)]
        return self._rows

    def column(self, field: int) -> list[Any]:
        if self._rows is None and field in self.columns:
            return self.columns[field]
        return [row[field] for row in self.rows]

    def row(self, index: int) -> Sequence[Any]:
        if self._rows is not None:
            return self._rows[index]
        if index not in self._fetched:
            (stored,) = self._query(f"SELECT * FROM {self.table} WHERE rowid = ?",
                                    (self.row_ids[index],))
            self._fetched[index] = self._rebuild(index, stored, self._column_names())
        return self._fetched[index]

    def field(self, index: int, field: int) -> Any:
        if self._rows is None and field in self.columns:
            return self.columns[field][index]
        return self.row(index)[field]

    def _rebuild(self, index: int, stored: tuple, names: list[str]) -> list[Any]:
        by_name = dict(zip(names, stored))
        width = len(self.file.header)
        return [by_name[self.field_columns[field]] if field in self.field_columns
                else self.columns[field][index] for field in range(width)]

    def _column_names(self) -> list[str]:
        cursor = self._connection().execute(f"SELECT * FROM {self.table} LIMIT 0")
        return [d[0] for d in cursor.description]

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._connection().execute(sql, params).fetchall()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(":memory:")
            self._db.deserialize(self.image)
        return self._db


def image(definitions: list[str], insert: str, rows: list[Sequence[Any]],
          fix: Any = None) -> bytes:
    """An in-memory database made of ``definitions`` (CREATE statements) and ``rows``
    inserted with ``insert``; ``fix(db)`` may correct them before it is serialized."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for statement in definitions:
            db.execute(statement)
        db.execute("BEGIN")
        db.executemany(insert, rows)
        if fix is not None:
            fix(db)
        db.execute("COMMIT")
        return db.serialize()
    finally:
        db.close()


def attach(db: sqlite3.Connection, chunk: StagedChunk) -> None:
    """Make the chunk's table readable as ``stage.<table>`` on the warehouse connection."""
    if not any(name == SCHEMA for _, name, _ in db.execute("PRAGMA database_list")):
        db.execute(f"ATTACH ':memory:' AS {SCHEMA}")
    db.deserialize(chunk.image, name=SCHEMA)


def is_staged(chunk: CsvChunk) -> bool:
    """Rows still in their image: the writer can copy them as they are."""
    return isinstance(chunk, StagedChunk) and not chunk.materialized
