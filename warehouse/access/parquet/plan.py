"""Which tables and views a warehouse holds, and how each is written.

Everything comes from the file itself (``sqlite_master``, ``PRAGMA
table_xinfo``), never from a list in the code, so a table another version of
the schema adds or changes is exported as it is.

Partitioning: a relation with a ``model_class_label`` column (``run`` and the
four export views) is Hive-partitioned by it, one folder per model class.
It is the factor of the experiment: nearly every analysis groups or filters
by it, and a reader then opens only the folders it needs. ``node`` is where
a run happened to be computed, which no analysis asks; the bulk detail
tables hold neither column and are written in key order, so the min/max
statistics of each row group already let readers skip by ``run_id`` or
``sample_id``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from ...errors import WarehouseError
from .columns import STRING, declared_kind, kind_of, quoted, scan_sql, seen_from

PARTITION_COLUMNS = ("model_class_label",)
MAX_PARTITIONS = 64  # more would be many small files, not a partitioning
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"  # the folder of NULL, as Hive, Spark, DuckDB and Polars read it


@dataclass
class Column:
    name: str
    declared: str  # the SQLite declared type, '' for none
    kind: str


@dataclass
class Plan:
    name: str
    type: str  # table or view
    columns: list[Column]
    rows: int
    partition: str | None = None
    partition_values: list[str | None] = field(default_factory=list)

    @property
    def file_columns(self) -> list[Column]:
        """The columns inside the files: all but the partition column, which is in the folder names."""
        return [c for c in self.columns if c.name != self.partition]


def relations(con: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, 'table' or 'view') of every relation of the file, tables first, by name."""
    return con.execute(r"""SELECT name, type FROM sqlite_master
                           WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
                           ORDER BY type, name""").fetchall()


def make_plan(con: sqlite3.Connection, name: str, kind: str, scan_all: bool = False) -> Plan:
    """The plan of one relation: its columns' kinds, its row count, its partitions.

    Columns whose affinity gives their kind are not scanned unless
    ``scan_all`` (after one of their values did not fit).
    """
    declared = _declared_columns(con, name)
    partition = next((c for c in PARTITION_COLUMNS if c in declared and len(declared) > 1), None)
    to_scan = [c for c, d in declared.items() if scan_all or declared_kind(d) is None]
    sql = scan_sql(name, to_scan, partition)
    try:
        row = con.execute(sql).fetchone()
    except sqlite3.Error as error:
        raise WarehouseError(f"{kind} {name} cannot be read: {error}") from None
    rows, values_json, other_classes = row[:3]
    seen = seen_from(row[3:], to_scan)
    columns = [Column(c, d, kind_of(d, seen[c]) if c in seen else declared_kind(d) or "")
               for c, d in declared.items()]
    plan = Plan(name, kind, columns, rows)
    values = json.loads(values_json) if values_json else []
    kinds = {c.name: c.kind for c in columns}
    if partition and kinds[partition] == STRING and not other_classes and _partitionable(values):
        plan.partition = partition
        plan.partition_values = sorted(values, key=lambda v: (v is None, v or ""))
    return plan


def _declared_columns(con: sqlite3.Connection, name: str) -> dict[str, str]:
    """Column name -> declared type, in the order ``SELECT *`` gives them (generated columns too)."""
    try:
        info = con.execute(f"PRAGMA table_xinfo({quoted(name)})").fetchall()
    except sqlite3.Error as error:
        raise WarehouseError(f"{name} cannot be read: {error}") from None
    # hidden: 0 an ordinary column, 2 and 3 generated ones, 1 a virtual table's hidden column
    return {column: declared or "" for _, column, declared, _, _, _, hidden in info
            if hidden != 1}


def _partitionable(values: list[str | None]) -> bool:
    """Folder names for these values that every reader reads back as they are."""
    texts = [v for v in values if v is not None]
    return (0 < len(values) <= MAX_PARTITIONS and bool(texts)
            and all(v and v != HIVE_NULL for v in texts))
