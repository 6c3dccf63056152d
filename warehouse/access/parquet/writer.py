"""One relation streamed from SQLite into a folder of Parquet files.

SQLite is read ``CHUNK_VALUES`` values at a time; each chunk becomes an
Arrow record batch, and batches are gathered until a row group is full, then
written. Memory holds one chunk of Python values and at most one row group
of Arrow data, whatever the size of the relation.

Row groups: between 100,000 and 1,000,000 rows, as many as fit in about
64 MiB of Arrow data (a wide view's row has ~30 values, a bulk table's 4),
so readers get row groups big enough to scan fast and small enough to
skip by their statistics. A file holds at most ``FILE_ROW_GROUPS`` of them
(then ``part-00001.parquet`` begins): files stay of a size that a copy or an
upload handles in one piece.

Statistics: every column has min/max statistics except floating-point
ones. The Parquet format leaves NaN out of min and max, and DuckDB then
skips row groups holding NaN for ``isnan(x)`` (duckdb/duckdb#25521, open in
2026-09): without statistics, every reader finds every NaN.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from ...formats.csvfile import paused_gc
from .arrays import ARROW_TYPES, to_array
from .columns import quoted
from .describe import field_metadata, schema_metadata
from .plan import HIVE_NULL, Plan

ROW_GROUP_ROWS = (100_000, 1_000_000)
ROW_GROUP_BYTES = 64 * 2**20
FILE_ROW_GROUPS = 8
CHUNK_VALUES = 100_000  # values fetched from SQLite at a time

Progress = Callable[[int], None]


def arrow_schema(plan: Plan) -> pa.Schema:
    """The schema of the relation's files, every field and the whole described."""
    fields = [pa.field(c.name, ARROW_TYPES[c.kind], metadata=field_metadata(plan.name, c.name))
              for c in plan.file_columns]
    columns = [(c.name, c.declared, c.kind) for c in plan.columns]
    return pa.schema(fields, metadata=schema_metadata(plan.name, plan.type, columns, plan.partition))


def with_statistics(schema: pa.Schema) -> list[str]:
    """The paths of the leaf columns that get statistics: all but floating-point ones."""
    paths = []
    for field in schema:
        leaves = [(f"{field.name}.{f.name}", f.type) for f in field.type] if pa.types.is_struct(
            field.type) else [(field.name, field.type)]
        paths += [path for path, kind in leaves if not pa.types.is_floating(kind)]
    return paths


def partition_folder(column: str, value: str | None) -> str:
    """``column=value``, percent-encoded as Hive does; NULL in Hive's default partition."""
    return f"{quote(column, safe='')}={HIVE_NULL if value is None else quote(value, safe='')}"


def write_relation(con: sqlite3.Connection, plan: Plan, folder: Path, compression: str,
                   row_group_rows: int | None, progress: Progress) -> int:
    """Every row of the relation into ``folder`` (created here); returns the rows written."""
    schema = arrow_schema(plan)
    names = ", ".join(quoted(c.name) for c in plan.file_columns)
    select = f"SELECT {names} FROM {quoted(plan.name)}"
    parts: list[tuple[Path, tuple[Any, ...]]] = [(folder, ())]
    if plan.partition:
        select += f" WHERE {quoted(plan.partition)} IS ?"
        parts = [(folder / partition_folder(plan.partition, v), (v,)) for v in plan.partition_values]
    folder.mkdir(parents=True)
    written = 0
    for part, parameters in parts:
        part.mkdir(exist_ok=True)
        files = PartWriter(part, schema, compression, row_group_rows)
        try:
            for batch in batches(con.execute(select, parameters), plan, schema):
                files.add(batch)
                progress(batch.num_rows)
        except BaseException:
            files.abort()  # the caller removes the folder
            raise
        files.close()
        written += files.rows
    return written


def batches(cursor: sqlite3.Cursor, plan: Plan, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The cursor's rows as record batches of ``schema``, a chunk at a time."""
    columns = plan.file_columns
    size = max(256, CHUNK_VALUES // len(columns))
    while True:
        with paused_gc():  # a chunk is thousands of tuples, no cycles among them
            rows = cursor.fetchmany(size)
            if not rows:
                return
            arrays = [to_array(c.name, c.kind, values) for c, values in zip(columns, zip(*rows))]
            batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        yield batch


class PartWriter:
    """Files ``part-NNNNN.parquet`` in one folder, fed record batches, written in row groups."""

    def __init__(self, folder: Path, schema: pa.Schema, compression: str,
                 row_group_rows: int | None) -> None:
        self.folder, self.schema, self.compression = folder, schema, compression
        self.group_rows = row_group_rows  # None: from the size of the first batch's rows
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0
        self.writer: pq.ParquetWriter | None = None
        self.files = 0
        self.groups_in_file = 0
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if self.group_rows is None:
            self.group_rows = group_rows(batch)
        self.pending.append(batch)
        self.pending_rows += batch.num_rows
        while self.pending_rows >= self.group_rows:
            self._write_group(self.group_rows)

    def close(self) -> None:
        """Write what is pending; a relation without rows still gets a file, with its schema."""
        if self.pending_rows:
            self._write_group(self.pending_rows)
        if self.writer is None:
            self._next_file()
        assert self.writer is not None
        self.writer.close()

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def _write_group(self, rows: int) -> None:
        if self.writer is None or self.groups_in_file == FILE_ROW_GROUPS:
            self._next_file()
        assert self.writer is not None
        table = pa.Table.from_batches(self.pending, schema=self.schema)
        self.writer.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self.pending, self.pending_rows = rest.to_batches(), rest.num_rows
        self.groups_in_file += 1
        self.rows += rows

    def _next_file(self) -> None:
        if self.writer is not None:
            self.writer.close()
        path = self.folder / f"part-{self.files:05d}.parquet"
        self.writer = pq.ParquetWriter(path, self.schema, compression=self.compression,
                                       write_statistics=with_statistics(self.schema) or False)
        self.files += 1
        self.groups_in_file = 0


def group_rows(batch: pa.RecordBatch) -> int:
    """Rows per row group for rows the size of this batch's."""
    low, high = ROW_GROUP_ROWS
    row_bytes = max(1, batch.nbytes // max(1, batch.num_rows))
    return max(low, min(high, ROW_GROUP_BYTES // row_bytes))
