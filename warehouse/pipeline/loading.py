"""The reading side of a build: one file to batches of table rows.

``read_file`` opens a file, tells its format, maps every record through the
profile, and emits events (``Opened``, ``Batch``, ``Finished``) for the
writing side (``build.FileWriter``) to apply. It reads the warehouse (to
recognise runs already stored) but never writes rows itself, except the CSV
handlers, which run only in the writing process. The same code runs in the
main process or in a worker process (``worker.py``).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable

from ..errors import WarehouseError
from ..formats import Record
from ..formats.csvfile import paused_gc
from ..formats.detect import Detected, detect as detect_format
from ..formats.dumpdir import DumpNamespace
from ..formats.extjson import relaxed_json
from ..formats.mongoexport import DEFAULT_MAX_DOCUMENT, OnBadLine
from ..profiles.ctmixtures import PROFILE
from ..profiles.interface import LoadContext, LoadCounts, Profile
from ..sources import DECOMPRESSION_ERRORS, open_source
from ..store import Warehouse

RAW_KEPT = 64 << 10  # characters of a skipped part's text kept in `skipped.raw`
FLUSH_ROWS = 20_000  # pending rows per batch: bounds memory, keeps the writer busy early

profile: Profile = PROFILE


@dataclass
class FileOutcome(LoadCounts):
    """What became of one input file."""

    path: str
    status: str  # loaded, skipped (already in the ledger), companion, empty, changed, failed
    node: str | None = None
    format: str | None = None
    compression: str | None = None
    input_bytes: int = 0  # on disk
    raw_bytes: int = 0  # decompressed
    error: WarehouseError | None = None


@dataclass(frozen=True)
class FileJob:
    """One file to read, with the keys its rows start from."""

    path: Path
    display: str
    node: str | None
    source_id: int
    ids: Any  # the profile's next keys
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
    rows: Any  # the profile's pending rows per table
    bytes_read: int  # of the file on disk, for progress


@dataclass
class Finished:
    counts: FileOutcome
    header: str | None
    namespaces: list[DumpNamespace]
    raw_bytes: int
    bytes_read: int


Emit = Callable[[Any], None]


def detect(stream: BinaryIO, path: Path, max_document: int = DEFAULT_MAX_DOCUMENT,
           on_bad_line: OnBadLine | None = None) -> Detected:
    """The format of a decompressed stream, knowing the profile's CSV files."""
    return detect_format(stream, path, max_document, on_bad_line, profile.csv_headers)


def skip(ctx: LoadContext, error: WarehouseError, raw: bytes | str | None) -> None:
    """Leave a damaged part out, and say so (salvage mode)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    ctx.rows["skipped"].append((None, ctx.source_id, error.line, error.offset,
                                error.message, None if raw is None else raw[:RAW_KEPT]))
    ctx.outcome.skipped += 1
    ctx.outcome.errors.append(error)


def _load_run(record: Record, ctx: LoadContext) -> None:
    run_key = profile.run_key(record.document)
    # a run known so far only from CSV export rows takes its document's rows now
    if ctx.csv_runs and run_key not in ctx.seen_runs and (
            csv_run := profile.csv_only_run(ctx.warehouse, run_key)):
        profile.adopt(record, ctx, csv_run)
        ctx.seen_runs[run_key] = None
        ctx.outcome.runs += 1
        return
    content = profile.fingerprint(record.document)
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
            _conflict(record, ctx, run_key, content)
        return
    profile.map_run(record, ctx, content)
    ctx.seen_runs[run_key] = content
    ctx.outcome.runs += 1


def _conflict(record: Record, ctx: LoadContext, run_key: str, content: str) -> None:
    """Another version of a stored run: kept whole in `conflict`, out of the views."""
    ctx.rows["conflict"].append((None, run_key, ctx.source_id, ctx.node, record.line,
                                 record.offset, content, relaxed_json(record.document)))
    ctx.outcome.conflicts += 1


def _load_other(record: Record, ctx: LoadContext) -> None:
    """A collection the profile does not know: kept whole, and reported."""
    if record.database is None:  # "" is a name: the oplog's database in an archive
        record = record._replace(database=ctx.database)
    profile.map_other(record, ctx)
    ctx.outcome.unknown_collections[record.collection or "?"] += 1


# What the profile says a record is -> what the pipeline does with it.
HANDLERS: dict[str, Callable[[Record, LoadContext], None]] = {
    "run": _load_run,
    "timing": lambda record, ctx: profile.map_timing(record, ctx),
    "other": _load_other,
    "csv": lambda record, ctx: profile.load_csv(record, ctx),
}


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
    ctx = LoadContext(job.display, warehouse, job.source_id, job.node, job.ids, profile.new_rows(), counts,
                      None, csv_runs=warehouse.has_csv_only_runs())
    on_bad_line = (lambda error, raw: skip(ctx, error, raw)) if job.salvage else None
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
                skip(ctx, error.located(job.display), None)
                break
            counts.documents += 1
            _map(record, detected.collection, ctx, salvage_records)
            if sum(map(len, ctx.rows.values())) >= FLUSH_ROWS:
                # A fresh dict each time: a worker's queue pickles the old one later.
                emit(Batch(ctx.rows, opened.raw.bytes_read))
                ctx.rows = profile.new_rows()
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
        HANDLERS[profile.kind(record.document, collection)](record, ctx)
    except WarehouseError as error:
        error.located(ctx.path, record.line, record.offset)
        if marks is None:
            raise error from None
        if savepoint:
            ctx.warehouse.query("ROLLBACK TO record")
        for table, rows in ctx.rows.items():  # drop what the record had begun to add
            del rows[marks.get(table, 0):]
        skip(ctx, error, relaxed_json(record.document))
    finally:
        if savepoint:
            ctx.warehouse.query("RELEASE record")


def _position(stream) -> int:
    """Bytes read from the decompressed stream (0 where it cannot tell)."""
    try:
        return int(stream.tell())
    except (OSError, ValueError, AttributeError):
        return 0
