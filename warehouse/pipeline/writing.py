"""The writing side of one source: its events applied to the warehouse in one transaction."""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, Protocol

from ..errors import WarehouseError
from ..sources import SourceFile
from ..store import Warehouse, WarehouseFileError
from .events import Batch, FileJob, FileOutcome, Finished, NeedsWriter, Opened


class Progress(Protocol):
    def file_started(self, source: SourceFile, size: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def file_done(self) -> None: ...


class NullProgress:
    def file_started(self, source: SourceFile, size: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def file_done(self) -> None:
        pass


def _nothing() -> None:
    pass


class FileWriter:
    """The writing side: applies a file's events to the warehouse."""

    def __init__(self, warehouse: Warehouse, job: FileJob, outcome: FileOutcome, size: int,
                 sha256: str, progress: Progress) -> None:
        self.warehouse = warehouse
        self.job = job
        self.outcome = outcome
        self.size = size
        self.sha256 = sha256
        self.progress = progress
        self.bytes_reported = 0
        self.replacing: int | None = None  # ledger id of the old content of this path
        # called once every row of the file is written, before its commit
        self.before_commit: Callable[[], None] = _nothing

    def __call__(self, event: object) -> None:
        if isinstance(event, Opened):
            self.opened(event)
        elif isinstance(event, Batch):
            self.write(event.rows)
            self.advance(event.bytes_read)
        elif isinstance(event, Finished):
            self.finished(event)
        else:
            raise TypeError(f"unexpected event {event!r}")

    def advance(self, bytes_read: int) -> None:
        self.progress.advance(bytes_read - self.bytes_reported)
        self.bytes_reported = bytes_read

    def opened(self, event: Opened) -> None:
        self.outcome.format, self.outcome.compression = event.format, event.compression
        self.warehouse.begin()
        if self.replacing is not None:
            self.warehouse.remove_source(self.replacing)
            self.outcome.note = "replaced the content loaded before from this path"
        self.warehouse.add_source(
            source_id=self.job.source_id, path=self.job.display, size=self.size,
            sha256=self.sha256, format=event.format, compression=event.compression,
            node=self.job.node, database_name=event.database, collection=event.collection)

    def write(self, rows) -> None:
        try:
            written, values = self.warehouse.write(rows)
        except (sqlite3.InterfaceError, sqlite3.ProgrammingError) as error:
            # a value of a type no column can hold (a date or Decimal128 where a
            # number belongs): the file fails, the build goes on
            raise WarehouseError(f"a value SQLite cannot store: {error}") from None
        self.outcome.rows += written
        self.outcome.values += values

    def finished(self, event: Finished) -> None:
        self.account(event)
        self.before_commit()
        self.warehouse.commit()

    def account(self, event: Finished) -> None:
        """What the reading side counted, in the outcome and the ledger (not yet committed)."""
        counts, outcome = event.counts, self.outcome
        for name in ("documents", "runs", "duplicates", "conflicts", "disagreements", "skipped",
                     "rows", "values"):  # rows and values: what CSV handlers wrote themselves
            setattr(outcome, name, getattr(outcome, name) + getattr(counts, name))
        outcome.unknown_collections.update(counts.unknown_collections)
        outcome.errors = counts.errors
        if counts.skipped:
            outcome.status = "salvaged"
        outcome.note = counts.note or outcome.note
        outcome.raw_bytes = event.raw_bytes
        self.advance(event.bytes_read)
        self.record_dump(event)
        self.warehouse.finish_source(
            self.job.source_id, documents=outcome.documents, runs=outcome.runs,
            duplicates=outcome.duplicates, conflicts=outcome.conflicts, skipped=outcome.skipped,
            rows_written=outcome.rows, values_written=outcome.values)

    def record_dump(self, event: Finished) -> None:
        """What a mongodump file says about its namespaces (schemas/003_dumps.sql)."""
        if event.header is not None:
            self.warehouse.query("UPDATE source SET dump_header = ? WHERE source_id = ?",
                                 (event.header, self.job.source_id))
        for ns in event.namespaces:
            self.warehouse.query(
                "INSERT INTO source_namespace (source_id, database_name, collection, "
                "documents, type, metadata) VALUES (?, ?, ?, ?, ?, ?)",
                (self.job.source_id, ns.database, ns.collection, ns.documents, ns.type,
                 ns.metadata))


def through_worker(worker: Any, job: FileJob, writer: Callable[[object], None],
                   sent: bool = False) -> bool:
    """Apply what the worker reads of a job; False when only this process can read it.
    When the build stops (the warehouse file failed, or a signal), the worker is ended."""
    events = worker.read(job, sent)  # sent: the worker has the job already
    try:
        for event in events:
            writer(event)
        return True
    except NeedsWriter:
        return False  # a format whose handlers write themselves: read it here
    except BaseException as error:
        if isinstance(error, WarehouseFileError) or not isinstance(error, WarehouseError):
            worker.abandon()  # the build stops: no use reading the rest of the file
        raise
    finally:
        events.close()
