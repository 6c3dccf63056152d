"""The build pipeline: sources -> formats -> profile -> store.

Each file is loaded in its own transaction: a damaged file contributes
nothing, the files beside it still load, and what the warehouse already held
is never touched. A file whose content (size and sha256) is already in the
ledger is skipped, so building again over the same inputs loads nothing; a
file whose content changed under the same path is reported, and replaced
only when asked.

Reading and mapping (``loading.read_file``) can run in a worker process while
this process writes: SQLite has one writer, and on two cores the writer is the
bottleneck, so one worker is all that helps.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from ..errors import WarehouseError
from ..formats.dumpdir import is_bson_name, is_companion
from ..formats.mongoexport import DEFAULT_MAX_DOCUMENT
from ..sources import SourceFile, file_identity, find_sources
from ..store import Warehouse, WarehouseFileError
from .interrupt import Interrupted
from .loading import (Batch, FileJob, FileOutcome, Finished, NeedsWriter, Opened, profile,
                      read_file)

__all__ = ["BuildSummary", "FileOutcome", "Interrupted", "build", "load_file"]

# Below this much input a worker process costs more than it saves.
PARALLEL_MIN_BYTES = 4 << 20


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


@dataclass
class BuildSummary:
    files: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    parallel: bool = False

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def changed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "changed"]

    @property
    def salvaged(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "salvaged"]

    @property
    def ok(self) -> bool:
        """No damaged input (failed or salvaged) and no file left out as changed."""
        return not self.failed and not self.changed and not self.salvaged


def default_jobs() -> int:
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def build(db_path: str | Path, paths: list[str | Path], *, node: str | None = None,
          progress: Progress | None = None, max_document: int = DEFAULT_MAX_DOCUMENT,
          replace: bool = False, jobs: int | None = None, salvage: bool = False,
          wait: float | None = None, notify: Callable[[str], None] | None = None) -> BuildSummary:
    """Load every file under ``paths`` into the warehouse at ``db_path``.

    ``replace``: a file whose content changed since it was loaded from the same
    path replaces its old rows (otherwise it is reported and left out).
    ``jobs``: processes to use (default: 2 where there are 2 cores).
    ``salvage``: keep the intact records of a damaged file (default: load
    nothing of it); the parts left out go to the ``skipped`` table.
    ``wait``: seconds to wait for another build of the same warehouse (None:
    as long as it takes); ``notify`` hears one line about that, and about a
    network filesystem.

    Raises ``WarehouseFileError`` when the warehouse file cannot be used or
    fails (the file being loaded rolls back), and ``Interrupted`` on Ctrl-C
    (or SIGTERM, where the caller turns it into one), with what was complete.
    """
    started = time.perf_counter()
    progress = progress or NullProgress()
    summary = BuildSummary()
    sources = find_sources(paths, node)
    jobs = default_jobs() if jobs is None else jobs
    big = sum(s.path.stat().st_size for s in sources) >= PARALLEL_MIN_BYTES
    loading: str | None = None
    first_free = 0
    try:
        with Warehouse(db_path, wait=wait, notify=notify) as warehouse:
            # the worker reads the file SQLite works on (a local copy on a network filesystem)
            workers = _Workers(warehouse.file) if jobs > 1 and big else None
            try:
                for source in sources:
                    if is_companion(source.path):
                        summary.files.append(FileOutcome(source.display, "companion", source.node))
                        continue
                    loading, first_free = source.display, warehouse.next_source_id()
                    summary.files.append(load_file(warehouse, source, progress, max_document,
                                                   replace=replace, worker=workers,
                                                   salvage=salvage))
                    loading = None
            except KeyboardInterrupt:
                loading = _unless_stored(warehouse, summary, loading, first_free)
                raise
            finally:
                if workers is not None:
                    summary.parallel = workers.started
                    workers.close()
    except KeyboardInterrupt as stop:
        raise _interrupted(stop, summary, loading) from None
    summary.seconds = time.perf_counter() - started
    return summary


def _unless_stored(warehouse: Warehouse, summary: BuildSummary, loading: str | None,
                   first_free: int) -> str | None:
    """The file a signal interrupted, unless the signal came just after its commit:
    then the ledger has it, and so does the summary."""
    if loading is None or not first_free:
        return loading
    row = warehouse.query("SELECT runs FROM source WHERE source_id >= ?", (first_free,)).fetchone()
    if row is None:
        return loading
    summary.files.append(FileOutcome(loading, "loaded", runs=row[0] or 0))
    return None


def _interrupted(stop: KeyboardInterrupt, summary: BuildSummary,
                 loading: str | None) -> Interrupted:
    interrupted = stop if isinstance(stop, Interrupted) else Interrupted()
    interrupted.summary, interrupted.loading = summary, loading
    return interrupted


class _Workers:
    """The worker process, started when the first file is to be loaded."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.worker: Any = None

    @property
    def started(self) -> bool:
        return self.worker is not None

    def read(self, job: FileJob):
        if self.worker is None:
            from .worker import MappingWorker

            self.worker = MappingWorker(self.db_path)
        return self.worker.read(job)

    def abandon(self) -> None:
        if self.worker is not None:
            self.worker.abandon()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def load_file(warehouse: Warehouse, source: SourceFile, progress: Progress,
              max_document: int = DEFAULT_MAX_DOCUMENT, *, replace: bool = False,
              worker: Any = None, salvage: bool = False) -> FileOutcome:
    """Load one file in one transaction; on any input error, load nothing of it.

    A failure of the warehouse file itself (``WarehouseFileError``: disk full,
    I/O error) or an interruption rolls the file back too, and stops the build.
    """
    outcome = FileOutcome(source.display, "loaded", source.node)
    size, sha256 = file_identity(source.path)
    outcome.input_bytes = size
    progress.file_started(source, size)
    try:
        with warehouse.storing(source.display):
            try:
                _load(warehouse, source, outcome, size, sha256, progress, max_document,
                      replace, worker, salvage)
            except WarehouseFileError:
                raise
            except WarehouseError as error:
                warehouse.rollback()
                outcome.status = "failed"
                outcome.error = error.located(source.display)
                warehouse.record_failure(source.display, size, sha256, source.node,
                                         str(outcome.error))
                outcome.runs = outcome.rows = outcome.values = outcome.duplicates = 0
                outcome.conflicts = outcome.disagreements = 0
    except BaseException:
        warehouse.rollback()
        raise
    finally:
        progress.file_done()
    return outcome


def _load(warehouse: Warehouse, source: SourceFile, outcome: FileOutcome, size: int,
          sha256: str, progress: Progress, max_document: int, replace: bool, worker: Any,
          salvage: bool) -> None:
    """The load itself: ask the ledger, then read (in the worker where there is one) and write."""
    wanted, replacing = _wanted(warehouse, source, outcome, size, sha256, replace)
    if not wanted:
        return
    job = FileJob(source.path, source.display, source.node, warehouse.next_source_id(),
                  profile.new_ids(warehouse.next_key), max_document, salvage)
    writer = FileWriter(warehouse, job, outcome, size, sha256, progress)
    writer.replacing = replacing
    if worker is not None and not warehouse.has_csv_only_runs():
        if _through_worker(worker, job, writer):
            return
    read_file(job, warehouse, writer)


def _through_worker(worker: Any, job: FileJob, writer: "FileWriter") -> bool:
    """Write what the worker reads of the file; False when only this process can read it."""
    events = worker.read(job)
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


def _wanted(warehouse: Warehouse, source: SourceFile, outcome: FileOutcome, size: int,
            sha256: str, replace: bool) -> tuple[bool, int | None]:
    """Whether the file must be loaded (if not, why goes in ``outcome``), and the
    ledger id of the old content of its path that it replaces, if any."""
    if size == 0 and is_bson_name(source.path):
        # mongodump writes an empty collection as an empty file: nothing to
        # load, and no ledger row (all empty files share one sha256)
        outcome.status, outcome.note = "empty", "empty collection"
        return False, None
    known = warehouse.loaded_source(sha256, size)
    if known is not None:
        outcome.status = "skipped"
        outcome.note = f"same content as {known[1]}, already loaded"
        return False, None
    previous = warehouse.source_at_path(source.display)  # loaded before, other content
    if previous is None:
        return True, None
    if replace:
        return True, int(previous[0])
    outcome.status = "changed"
    outcome.note = (f"content changed since it was loaded on {previous[3]}: "
                    "left out; build with --replace to load it instead of the old content")
    return False, None


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
        self.warehouse.commit()

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
