"""The build pipeline: sources -> formats -> profile -> store.

Each file is loaded in its own transaction: a damaged file contributes
nothing, the files beside it still load, and what the warehouse already held
is never touched. A file whose content (size and sha256) is already in the
ledger is skipped, so building again over the same inputs loads nothing.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections import Counter
from typing import Callable, Protocol

from .errors import WarehouseError
from .formats import Record
from .formats.detect import Detected, detect
from .formats.dumpdir import is_bson_name, is_companion
from .formats.mongoexport import DEFAULT_MAX_DOCUMENT
from .profiles.ctmixtures_csv import CSV_HANDLERS, adopt_document, csv_only_run
from .profiles.ctmixtures import (Ids, Rows, document_kind, map_other, map_run, map_timing,
                                  new_rows)
from .sources import DECOMPRESSION_ERRORS, SourceFile, file_identity, find_sources, open_source
from .store import Warehouse

FLUSH_ROWS = 50_000  # pending rows before an executemany round; bounds memory


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
class FileOutcome:
    """What became of one input file."""

    path: str
    status: str  # loaded, skipped (already in the ledger), companion, empty, failed
    node: str | None = None
    format: str | None = None
    compression: str | None = None
    documents: int = 0
    runs: int = 0
    duplicates: int = 0
    disagreements: int = 0  # values that differ from what another source stored
    rows: int = 0
    values: int = 0
    input_bytes: int = 0  # on disk
    raw_bytes: int = 0  # decompressed
    error: WarehouseError | None = None
    note: str = ""
    # documents kept in the generic `document` table, per collection
    unknown_collections: Counter = field(default_factory=Counter)


@dataclass
class BuildSummary:
    files: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


def build(db_path: str | Path, paths: list[str | Path], *, node: str | None = None,
          progress: Progress | None = None, max_document: int = DEFAULT_MAX_DOCUMENT) -> BuildSummary:
    """Load every file under ``paths`` into the warehouse at ``db_path``."""
    started = time.perf_counter()
    progress = progress or NullProgress()
    summary = BuildSummary()
    sources = find_sources(paths, node)
    with Warehouse(db_path) as warehouse:
        for source in sources:
            if is_companion(source.path):
                summary.files.append(FileOutcome(source.display, "companion", source.node))
                continue
            summary.files.append(load_file(warehouse, source, progress, max_document))
    summary.seconds = time.perf_counter() - started
    return summary


def load_file(warehouse: Warehouse, source: SourceFile, progress: Progress,
              max_document: int = DEFAULT_MAX_DOCUMENT) -> FileOutcome:
    """Load one file in one transaction; on any input error, load nothing of it."""
    outcome = FileOutcome(source.display, "loaded", source.node)
    size, sha256 = file_identity(source.path)
    outcome.input_bytes = size
    if size == 0 and is_bson_name(source.path):
        # mongodump writes an empty collection as an empty file: nothing to
        # load, and no ledger row (all empty files share one sha256)
        outcome.status, outcome.note = "empty", "empty collection"
        return outcome
    known = warehouse.loaded_source(sha256, size)
    if known is not None:
        outcome.status = "skipped"
        outcome.note = f"same content as {known[1]}, already loaded"
        return outcome
    progress.file_started(source, size)
    try:
        with open_source(source.path, progress.advance) as opened:
            outcome.compression = opened.compression
            try:
                _load_stream(warehouse, source, opened.stream, outcome, size, sha256, max_document)
            except DECOMPRESSION_ERRORS as error:
                raise WarehouseError(f"damaged {opened.compression} stream: {error}",
                                     source.display, offset=opened.raw.bytes_read) from None
    except WarehouseError as error:
        warehouse.rollback()
        outcome.status = "failed"
        outcome.error = error.located(source.display)
        outcome.runs = outcome.rows = outcome.values = outcome.duplicates = 0
        outcome.disagreements = 0
    except BaseException:
        warehouse.rollback()
        raise
    finally:
        progress.file_done()
    return outcome


@dataclass
class LoadContext:
    """What a record handler needs while one file loads."""

    warehouse: Warehouse
    source_id: int
    node: str | None
    ids: Ids
    rows: Rows
    outcome: FileOutcome
    database: str | None
    seen_runs: set[str] = field(default_factory=set)  # run keys stored from this file


def _load_run(record: Record, ctx: LoadContext) -> None:
    run_key = record.document.get("simulation_run_id")
    # a run known so far only from CSV export rows takes its document's rows now
    if run_key not in ctx.seen_runs and (csv_run := csv_only_run(ctx.warehouse, run_key)):
        adopt_document(record, ctx, csv_run)
        ctx.seen_runs.add(run_key)
        ctx.outcome.runs += 1
        return
    if run_key in ctx.seen_runs or (isinstance(run_key, str) and ctx.warehouse.has_run(run_key)):
        ctx.outcome.duplicates += 1
        return
    map_run(record, ctx.source_id, ctx.node, ctx.ids, ctx.rows)
    ctx.seen_runs.add(run_key)
    ctx.outcome.runs += 1


def _load_timing(record: Record, ctx: LoadContext) -> None:
    map_timing(record, ctx.source_id, ctx.ids, ctx.rows)


def _load_other(record: Record, ctx: LoadContext) -> None:
    """A collection the profile does not know: kept whole, and reported."""
    if record.database is None:  # "" is a name: the oplog's database in an archive
        record = record._replace(database=ctx.database)
    map_other(record, ctx.source_id, ctx.ids, ctx.rows)
    ctx.outcome.unknown_collections[record.collection or "?"] += 1


# Record kind -> handler. A format may name the kind in Record.collection
# (a mongodump namespace, or e.g. an export file's kind); otherwise the
# document's shape decides.
HANDLERS: dict[str, Callable[[Record, LoadContext], None]] = {
    "mixture_model_stats": _load_run,
    "simulation_timing": _load_timing,
    "other": _load_other,
}
HANDLERS.update(CSV_HANDLERS)  # the export CSV files: "csv:<kind>" chunks of rows


def _handler(record: Record, collection: str | None) -> Callable[[Record, LoadContext], None]:
    if collection in HANDLERS:
        return HANDLERS[collection]
    return HANDLERS[document_kind(record.document, collection)]


def _load_stream(warehouse: Warehouse, source: SourceFile, stream, outcome: FileOutcome,
                 size: int, sha256: str, max_document: int) -> None:
    detected = detect(stream, source.path, max_document)
    outcome.format = detected.format
    warehouse.begin()
    source_id = warehouse.add_source(
        path=source.display, size=size, sha256=sha256, format=detected.format,
        compression=outcome.compression, node=source.node,
        database_name=detected.database, collection=detected.collection)
    ctx = LoadContext(warehouse, source_id, source.node, warehouse.next_ids(), new_rows(),
                      outcome, detected.database)
    rows = ctx.rows
    for record in detected.records:
        outcome.documents += 1
        collection = record.collection or detected.collection
        if record.collection is None and collection is not None:
            record = record._replace(collection=collection)
        try:
            _handler(record, collection)(record, ctx)
        except WarehouseError as error:
            raise error.located(source.display, record.line, record.offset) from None
        if sum(map(len, rows.values())) >= FLUSH_ROWS:
            _flush(warehouse, rows, outcome)
    _flush(warehouse, rows, outcome)
    _record_dump(warehouse, source_id, detected)
    outcome.raw_bytes = _position(stream)
    warehouse.finish_source(source_id, documents=outcome.documents, runs=outcome.runs,
                            duplicates=outcome.duplicates, rows_written=outcome.rows,
                            values_written=outcome.values)
    warehouse.commit()


def _position(stream) -> int:
    """Bytes read from the decompressed stream (0 where it cannot tell)."""
    try:
        return int(stream.tell())
    except (OSError, ValueError, AttributeError):
        return 0


# -- mongodump files: what the dump says about its namespaces (schemas/003_dumps.sql)
_NAMESPACE_INSERT = ("INSERT INTO source_namespace (source_id, database_name, collection, "
                     "documents, type, metadata) VALUES (?, ?, ?, ?, ?, ?)")


def _record_dump(warehouse: Warehouse, source_id: int, detected: Detected) -> None:
    if detected.header is not None:
        warehouse.query("UPDATE source SET dump_header = ? WHERE source_id = ?",
                        (detected.header, source_id))
    for ns in detected.namespaces():
        warehouse.query(_NAMESPACE_INSERT, (source_id, ns.database, ns.collection,
                                            ns.documents, ns.type, ns.metadata))


def _flush(warehouse: Warehouse, rows, outcome: FileOutcome) -> None:
    try:
        written, values = warehouse.write(rows)
    except (sqlite3.InterfaceError, sqlite3.ProgrammingError) as error:
        # a value of a type no column can hold (a date or Decimal128 where a
        # number belongs): the file fails, the build goes on
        raise WarehouseError(f"a value SQLite cannot store: {error}") from None
    outcome.rows += written
    outcome.values += values
    for batch in rows.values():
        batch.clear()
