"""A warehouse file: its schema, its transactions, its ledger, its rows.

Applies ``schemas/NNN_*.sql`` in order (tracked with ``PRAGMA user_version``),
recreates ``schemas/views.sql`` on every build, writes rows with prepared
``executemany`` inside one transaction per source file, and keeps the ledger
of loaded files.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import __version__
from .containers import ContainerLedger
from .shards import SHARD_TABLES, ShardLedger, key_base
from .errors import from_sqlite
from .filesystem import filesystem_type, is_network
from .identity import APPLICATION_ID, check_for_building, check_identity, identity_of
from .localcopy import LocalCopy
from .lock import BuildLock

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
_MIGRATION = re.compile(r"^(\d{3})_[\w-]+\.sql$")

# How a build's connection writes: WAL so that readers can query during a build.
BUILD_PRAGMAS = ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -65536")  # 64 MiB

# Rows per INSERT statement of a bulk write. Each execution of a statement
# costs about as much as storing a row of these tables (binding it in Python's
# sqlite3 module, one step and reset of the statement), so several rows per
# statement make bulk writes 2-3 times faster; beyond 32 nothing more is gained.
ROWS_PER_INSERT = 32

SOURCE_COLUMNS = ("source_id", "path", "size", "sha256", "format", "compression", "node",
                  "database_name", "collection", "loaded_at", "tool_version")
SOURCE_COUNTS = ("documents", "runs", "duplicates", "conflicts", "skipped", "rows_written",
                 "values_written")

# What belongs to a loaded file, deleted when it is replaced: rows of its runs
# (through run_id or sample_id), then rows that name the source itself.
_SOURCE_RUNS = "SELECT run_id FROM run WHERE source_id = :source"
_SOURCE_SAMPLES = f"SELECT sample_id FROM sample WHERE run_id IN ({_SOURCE_RUNS})"
REMOVE_SOURCE = (
    # a label belongs to one run (schemas/010_configuration_labels.sql)
    "DELETE FROM configuration_label WHERE label_id IN (SELECT label_id FROM sample_config_count "
    f"WHERE sample_id IN ({_SOURCE_SAMPLES}))",
    f"DELETE FROM sample_config_count WHERE sample_id IN ({_SOURCE_SAMPLES})",
    f"DELETE FROM sample_trait WHERE sample_id IN ({_SOURCE_SAMPLES})",
    f"DELETE FROM sample_locus WHERE sample_id IN ({_SOURCE_SAMPLES})",
    f"DELETE FROM sample WHERE run_id IN ({_SOURCE_RUNS})",
    f"DELETE FROM census_configuration WHERE run_id IN ({_SOURCE_RUNS})",
    f"DELETE FROM census_trait WHERE run_id IN ({_SOURCE_RUNS})",
    f"DELETE FROM census_locus WHERE run_id IN ({_SOURCE_RUNS})",
    f"DELETE FROM census WHERE run_id IN ({_SOURCE_RUNS})",
    f"DELETE FROM parameter WHERE run_id IN ({_SOURCE_RUNS})",
    f"DELETE FROM run_extra WHERE run_id IN ({_SOURCE_RUNS})",
    f"DELETE FROM csv_origin WHERE run_id IN ({_SOURCE_RUNS}) OR source_id = :source",
    f"DELETE FROM csv_correction WHERE run_id IN ({_SOURCE_RUNS}) OR source_id = :source",
    f"DELETE FROM disagreement WHERE run_id IN ({_SOURCE_RUNS}) OR source_id = :source",
    "DELETE FROM run WHERE source_id = :source",
    "DELETE FROM simulation_timing WHERE source_id = :source",
    "DELETE FROM document WHERE source_id = :source",
    "DELETE FROM conflict WHERE source_id = :source",
    "DELETE FROM skipped WHERE source_id = :source",
    "DELETE FROM source_namespace WHERE source_id = :source",
    # a container whose member was found to hold this content must read it again
    "UPDATE container SET complete = 0 WHERE container_id IN "
    "(SELECT container_id FROM container_member WHERE source_id = :source)",
    "DELETE FROM container_member WHERE source_id = :source",
    "DELETE FROM source WHERE source_id = :source",
)


def migrations() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(SCHEMA_DIR.glob("*.sql")):
        match = _MIGRATION.match(path.name)
        if match:
            found.append((int(match[1]), path))
    return found


def schema_version() -> int:
    return migrations()[-1][0]


class Warehouse(ContainerLedger, ShardLedger):
    """A warehouse file, opened for building (or read-only, beside a build).

    Opening for building checks that the path is a warehouse this version
    may write (``identity.py``), waits for any other build on it
    (``lock.py``; ``wait`` seconds at most, None: as long as it takes,
    ``notify`` hears what it waits for), and on a network filesystem works
    on a local copy (``localcopy.py``). Failures of the file itself raise
    ``WarehouseFileError``.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, wait: float | None = None,
                 notify: Callable[[str], None] | None = None, shard: int | None = None) -> None:
        self.path = Path(path)  # the warehouse, as given
        self.shard: int | None = None  # K when this is shard K
        self.base = 0  # where keys start: above (K + 1) * 2^40 in shard K
        self.file = self.path  # the file SQLite works on: a local copy on a network filesystem
        self._inserts: dict[str, tuple[str, str, int]] = {}
        self._lock: BuildLock | None = None
        self._local: LocalCopy | None = None
        if read_only:
            # A reader beside the build's writer (a worker process): sees what is committed.
            self.db = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True,
                                      isolation_level=None)
            self._shard_known()
            return
        try:
            self._open(wait, notify or (lambda line: None))
            if shard is not None:
                with self._translated("marking it as a shard"):
                    self.make_shard(shard)
            self._shard_known()
        except BaseException:
            if hasattr(self, "db"):
                self.db.close()
            self._release()
            raise

    def _open(self, wait: float | None, notify: Callable[[str], None]) -> None:
        check_for_building(self.path, schema_version())
        real = self.path.resolve()  # one lock, one place to publish, whatever links lead here
        self._lock = BuildLock(real)
        self._lock.acquire(wait, notify)
        fstype = filesystem_type(real.parent)
        if is_network(fstype):
            self._local = LocalCopy(real)
            self.file = self._local.path
            notify(f"{self.path} is on {fstype}, a network filesystem: building in a local copy "
                   f"({self.file}), moved into place when the build ends")
        with self._translated("opening it"):
            # Autocommit mode: transactions are opened and closed explicitly.
            self.db = sqlite3.connect(self.file, isolation_level=None)
            # while we waited, another program may have changed what the file is
            check_identity(self.path, identity_of(self.db), schema_version())
            for pragma in BUILD_PRAGMAS:
                self.db.execute(f"PRAGMA {pragma}")
            self.migrate()

    def close(self) -> None:
        """Close; on a network filesystem, move the local copy into place (what is
        committed: whole files); then let the next build in."""
        try:
            self.db.close()
            if self._local is not None:
                # published, or kept where the error says: no longer ours to discard
                local, self._local = self._local, None
                local.publish()
        finally:
            self._release()

    def _shard_known(self) -> None:
        self.shard = self.shard_number
        self.base = 0 if self.shard is None else key_base(self.shard)

    def _release(self) -> None:
        if self._local is not None:
            self._local.discard()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise (from_sqlite(error, self.path, doing=doing) or error) from error

    @contextmanager
    def storing(self, loading: str) -> Iterator[None]:
        """Around the load of one file: when the warehouse file itself fails (disk full,
        I/O error), roll the file back and raise ``WarehouseFileError`` naming it."""
        try:
            yield
        except sqlite3.Error as error:
            found = from_sqlite(error, self.path, loading=loading)
            if found is None:
                raise
            self.rollback()
            if self.file != self.path:
                found.message += f" (the build works on a local copy in {self.file.parent})"
            raise found from error

    # -- schema -------------------------------------------------------------
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        if self.db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            # a new file, or one built before warehouses were marked
            self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        current = self.version()
        for number, path in migrations():
            if number > current:
                self.db.executescript(
                    "BEGIN;\n" + path.read_text() + f"\nPRAGMA user_version = {number};\nCOMMIT;"
                )
        self.db.executescript((SCHEMA_DIR / "views.sql").read_text())

    # -- transactions -------------------------------------------------------
    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                # after a failed write (disk full, I/O error) SQLite may have rolled
                # back already; what remains, its journal undoes on the next open
                pass

    # -- ledger -------------------------------------------------------------
    def loaded_source(self, sha256: str, size: int) -> sqlite3.Row | None:
        """The ledger row of a file with this content, if one was loaded."""
        cursor = self.db.execute(
            "SELECT source_id, path FROM source WHERE sha256 = ? AND size = ?", (sha256, size))
        return cursor.fetchone()

    def source_at_path(self, path: str) -> tuple | None:
        """(source_id, sha256, size, loaded_at) of the last file loaded from ``path``."""
        return self.db.execute("SELECT source_id, sha256, size, loaded_at FROM source "
                               "WHERE path = ? ORDER BY source_id DESC", (path,)).fetchone()

    def remove_source(self, source_id: int) -> None:
        """Delete a loaded file and every row that came from it (in the open transaction)."""
        for statement in REMOVE_SOURCE:
            self.db.execute(statement, {"source": source_id})

    def record_failure(self, path: str, size: int, sha256: str, node: str | None,
                       error: str) -> None:
        """Remember a file that failed (outside any transaction: after its rollback)."""
        self.db.execute(
            "INSERT INTO failure (path, size, sha256, node, error, failed_at, tool_version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path, sha256) DO UPDATE SET "
            "error = excluded.error, failed_at = excluded.failed_at, "
            "tool_version = excluded.tool_version",
            (path, size, sha256, node, error,
             datetime.now(timezone.utc).isoformat(timespec="seconds"), __version__))

    def next_source_id(self) -> int:
        return self.next_key("source", "source_id")

    def add_source(self, **fields: Any) -> int:
        fields.setdefault("loaded_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        fields.setdefault("tool_version", __version__)
        values = tuple(fields.get(name) for name in SOURCE_COLUMNS)
        cursor = self.db.execute(
            f"INSERT INTO source ({', '.join(SOURCE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(SOURCE_COLUMNS))})", values)
        return int(cursor.lastrowid or 0)

    def finish_source(self, source_id: int, **counts: int) -> None:
        names = [name for name in SOURCE_COUNTS if name in counts]
        self.db.execute(
            f"UPDATE source SET {', '.join(f'{name} = ?' for name in names)} WHERE source_id = ?",
            [counts[name] for name in names] + [source_id])

    # -- rows ---------------------------------------------------------------
    def next_key(self, table: str, column: str) -> int:
        """The first free value of a table's integer key (above a shard's key base)."""
        return self.db.execute(f"SELECT coalesce(max({column}), ?) + 1 FROM {table}",
                               (self.base,)).fetchone()[0]

    def insert_sql(self, table: str) -> str:
        """The INSERT of a whole row of ``table``, in the schema's column order."""
        return self._insert(table)[0]

    def _insert(self, table: str) -> tuple[str, str, int]:
        """The INSERT of one row and of ``ROWS_PER_INSERT`` rows of ``table``; its width."""
        known = self._inserts.get(table)
        if known is None:
            columns = [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]
            if not columns:
                raise KeyError(f"no table {table!r} in the warehouse")
            head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            row = f"({', '.join('?' * len(columns))})"
            known = self._inserts[table] = (
                head + row, head + ", ".join([row] * ROWS_PER_INSERT), len(columns))
        return known

    def run_fingerprint(self, simulation_run_id: str) -> tuple[bool, str | None]:
        """(whether the run is stored, its content fingerprint if known)."""
        row = self.db.execute("SELECT content_sha256 FROM run WHERE simulation_run_id = ?",
                              (simulation_run_id,)).fetchone()
        return (False, None) if row is None else (True, row[0])

    def has_csv_only_runs(self) -> bool:
        """Whether some run is known only from CSV rows (a document may adopt it)."""
        return bool(self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM run JOIN source USING (source_id) "
            "WHERE run.document_id IS NULL AND source.format LIKE 'csv-%')").fetchone()[0])

    def write(self, rows: Mapping[str, Any]) -> tuple[int, int]:
        """Insert every pending row (table -> rows); return (rows, values) written, a
        shard's own tables aside (what a merge keeps of a source counts as one build's).

        Rows are tuples in the schema's column order, or a batch with a
        ``columns`` attribute holding one list per column (``tables.Columns``).
        """
        written = values = 0
        for table, batch in rows.items():
            if batch:
                one, many, width = self._insert(table)
                flat = _interleaved(batch, width, table)
                step = width * ROWS_PER_INSERT
                bulk = len(flat) - len(flat) % step
                self.db.executemany(many, (flat[i:i + step] for i in range(0, bulk, step)))
                self.db.executemany(one, (flat[i:i + width] for i in range(bulk, len(flat), width)))
                if table not in SHARD_TABLES:
                    written += len(batch)
                    values += len(batch) * width
        return written, values

    def query(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, tuple(parameters))


def _interleaved(batch: Any, width: int, table: str) -> list:
    """The values of a batch's rows, row after row, in one flat list."""
    columns = getattr(batch, "columns", None)
    if columns is None:
        flat = list(chain.from_iterable(batch))
    else:
        flat = [None] * (len(batch) * width)
        try:
            for index, column in enumerate(columns):
                flat[index::width] = column  # a C-level copy per column
        except ValueError:  # a column of another length
            flat = []
    if len(flat) != len(batch) * width:
        # what executemany said of a row of the wrong length, now that rows are flattened
        raise sqlite3.ProgrammingError(f"rows of {table} must have {width} values each")
    return flat
