"""The reading side of a build: one file to batches of table rows.

``read_file`` opens a file, tells its format, maps every record with the
handler of its kind, and emits events (``Opened``, ``Batch``, ``Finished``)
for the writing side (``build.FileWriter``) to apply. It reads the warehouse
(to recognise runs already stored) but never writes rows itself, except the
CSV handlers, which run only in the writing process. The same code runs in
the main process or in a worker process (``worker.py``).
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import WarehouseError
from .formats import Record
from .formats.detect import detect
from .formats.dumpdir import DumpNamespace
from .formats.exportcsv import paused_gc
from .profiles.ctmixtures import (Ids, Rows, document_kind, map_other, map_run, map_timing,
                                  new_rows, relaxed_json)
from .profiles.ctmixtures_csv import CSV_HANDLERS, adopt_document, csv_only_run
from .profiles.fingerprint import fingerprint
from .sources import DECOMPRESSION_ERRORS, open_source
from .store import Warehouse

RAW_KEPT = 64 << 10  # characters of a skipped part's text kept in `skipped.raw`
FLUSH_ROWS = 20_000  # pending rows per batch: bounds memory, keeps the writer busy early


@dataclass
class FileOutcome:
    """What became of one input file."""

    path: str
    status: str  # loaded, skipped (already in the ledger), companion, empty, changed, failed
    node: str | None = None
    format: str | None = None
    compression: str | None = None
    documents: int = 0
    runs: int = 0
    duplicates: int = 0  # runs already stored with the same content
    conflicts: int = 0  # runs already stored with other content
    skipped: int = 0  # damaged parts left out by a salvaging build (table `skipped`)
    disagreements: int = 0  # CSV values that differ from what another source stored
    rows: int = 0
    values: int = 0
    input_bytes: int = 0  # on disk
    raw_bytes: int = 0  # decompressed
    error: WarehouseError | None = None
    note: str = ""
    # documents kept in the generic `document` table, per collection
    unknown_collections: Counter = field(default_factory=Counter)
    errors: list[WarehouseError] = field(default_factory=list)  # damage a salvaging build left out


@dataclass(frozen=True)
class FileJob:
    """One file to read, with the keys its rows start from."""

    path: Path
    display: str
    node: str | None
    source_id: int
    ids: Ids
    max_document: int
    salvage: bool = False  # keep the intact records of a damaged file


@dataclass
class Opened:
    format: str
    compression: str
    database: str | None
    collection: str | None


@dataclass
class Batch:
    rows: Rows
    bytes_read: int  # of the file on disk, for progress


@dataclass
class Finished:
    counts: FileOutcome
    header: str | None
    namespaces: list[DumpNamespace]
    raw_bytes: int
    bytes_read: int


Emit = Callable[[Any], None]


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
    # run key -> content fingerprint, for the runs this file stored so far
    seen_runs: dict[str, str | None] = field(default_factory=dict)
    # whether some stored run is known only from CSV rows (checked once per file)
    csv_runs: bool = True

    def skip(self, error: WarehouseError, raw: bytes | str | None) -> None:
        """Leave a damaged part out, and say so (salvage mode)."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        self.rows["skipped"].append((None, self.source_id, error.line, error.offset,
                                     error.message, None if raw is None else raw[:RAW_KEPT]))
        self.outcome.skipped += 1
        self.outcome.errors.append(error)


def _load_run(record: Record, ctx: LoadContext) -> None:
    run_key = record.document.get("simulation_run_id")
    # a run known so far only from CSV export rows takes its document's rows now
    if ctx.csv_runs and run_key not in ctx.seen_runs and (
            csv_run := csv_only_run(ctx.warehouse, run_key)):
        adopt_document(record, ctx, csv_run)
        ctx.seen_runs[run_key] = None
        ctx.outcome.runs += 1
        return
    content = fingerprint(record.document)
    if run_key in ctx.seen_runs:
        known, stored = True, ctx.seen_runs[run_key]
    elif isinstance(run_key, str):
        known, stored = ctx.warehouse.run_fingerprint(run_key)
    else:
        known = False  # map_run reports the missing key
    if known:
        if stored is None or stored == content:
            ctx.outcome.duplicates += 1
        else:
            _conflict(record, ctx, content)
        return
    map_run(record, ctx.source_id, ctx.node, ctx.ids, ctx.rows, content)
    ctx.seen_runs[run_key] = content
    ctx.outcome.runs += 1


def _conflict(record: Record, ctx: LoadContext, content: str) -> None:
    """Another version of a stored run: kept whole in `conflict`, out of the views."""
    ctx.rows["conflict"].append((None, record.document["simulation_run_id"], ctx.source_id,
                                 ctx.node, record.line, record.offset, content,
                                 relaxed_json(record.document)))
    ctx.outcome.conflicts += 1


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


def writes_directly(format_name: str) -> bool:
    """Formats whose handlers write to SQLite themselves: never in a worker."""
    return format_name.startswith("csv")


class NeedsWriter(Exception):
    """Raised in a worker for a file only the writing process can load."""


def read_file(job: FileJob, warehouse: Warehouse, emit: Emit, in_worker: bool = False) -> None:
    """Read one file and emit its events; raise WarehouseError if it is damaged.

    With ``job.salvage``, damage does not raise (except where keeping the
    rest would be wrong): the damaged parts are left out and recorded.
    """
    with open_source(job.path) as opened:
        try:
            _read_stream(job, warehouse, emit, opened, in_worker)
        except DECOMPRESSION_ERRORS as error:
            raise _damaged(error, job, opened) from None


def _damaged(error: BaseException, job: FileJob, opened) -> WarehouseError:
    return WarehouseError(f"damaged {opened.compression} stream: {error}", job.display,
                          offset=opened.raw.bytes_read)


def _read_stream(job: FileJob, warehouse: Warehouse, emit: Emit, opened, in_worker: bool) -> None:
    counts = FileOutcome(job.display, "loaded", job.node)
    ctx = LoadContext(warehouse, job.source_id, job.node, job.ids, new_rows(), counts, None,
                      csv_runs=warehouse.has_csv_only_runs())
    on_bad_line = ctx.skip if job.salvage else None
    detected = detect(opened.stream, job.path, job.max_document, on_bad_line)
    if in_worker and writes_directly(detected.format):
        raise NeedsWriter(detected.format)
    emit(Opened(detected.format, opened.compression, detected.database, detected.collection))
    ctx.database = detected.database
    # A bad record is skipped alone only where its rows are still in ctx.rows:
    # formats whose handlers write themselves cannot take a record back.
    salvage_records = job.salvage and not writes_directly(detected.format)
    records = iter(detected.records)
    # CSV chunks hold no reference cycles: collecting between chunks costs a few per cent
    with paused_gc() if writes_directly(detected.format) else nullcontext():
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except (WarehouseError, *DECOMPRESSION_ERRORS) as error:
                # Damage that ends the stream: in salvage mode, keep what came before.
                if not isinstance(error, WarehouseError):
                    error = _damaged(error, job, opened)
                if not (job.salvage and error.salvageable):
                    raise error.located(job.display) from None
                ctx.skip(error.located(job.display), None)
                break
            counts.documents += 1
            _map(record, detected.collection, ctx, salvage_records)
            if sum(map(len, ctx.rows.values())) >= FLUSH_ROWS:
                # A fresh dict each time: a worker's queue pickles the old one later.
                emit(Batch(ctx.rows, opened.raw.bytes_read))
                ctx.rows = new_rows()
    emit(Batch(ctx.rows, opened.raw.bytes_read))
    emit(Finished(counts, detected.header, detected.namespaces(), _position(opened.stream),
                  opened.raw.bytes_read))


def _map(record: Record, file_collection: str | None, ctx: LoadContext, salvage: bool) -> None:
    """Map one record with the handler of its kind; when salvaging, a bad record is skipped."""
    collection = record.collection or file_collection
    if record.collection is None and collection is not None:
        record = record._replace(collection=collection)
    marks = {table: len(rows) for table, rows in ctx.rows.items()} if salvage else None
    # A document taking over a CSV-only run deletes rows in SQLite first: undo those too.
    savepoint = salvage and ctx.csv_runs
    if savepoint:
        ctx.warehouse.query("SAVEPOINT record")
    try:
        _handler(record, collection)(record, ctx)
    except WarehouseError as error:
        error.located(ctx.outcome.path, record.line, record.offset)
        if marks is None:
            raise error from None
        if savepoint:
            ctx.warehouse.query("ROLLBACK TO record")
        for table, rows in ctx.rows.items():  # drop what the record had begun to add
            del rows[marks.get(table, 0):]
        ctx.skip(error, relaxed_json(record.document))
    finally:
        if savepoint:
            ctx.warehouse.query("RELEASE record")


def _position(stream) -> int:
    """Bytes read from the decompressed stream (0 where it cannot tell)."""
    try:
        return int(stream.tell())
    except (OSError, ValueError, AttributeError):
        return 0
