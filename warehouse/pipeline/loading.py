"""The reading side of a build: one decompressed stream to batches of table rows.

``read_stream`` tells a stream's format, maps every record through the
profile (``records.map_record``), and emits events (``Opened``, ``Batch``,
``Finished``) for the writing side (``build.FileWriter``) to apply. It reads
the warehouse (to recognise runs already stored) but never writes rows
itself, except the CSV handlers, which run only in the writing process. The
same code runs in the main process or in a worker process (``worker.py``),
for a file or for a container's member (``unpack.py``).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, MutableMapping

from ..errors import WarehouseError
from ..formats import Record
from ..formats.csvfile import looks_like_csv, paused_gc
from ..formats.detect import HEAD, Detected, detect as detect_format
from ..formats.dumpdir import ON_DISK, Companions, DumpNamespace
from ..formats.extjson import relaxed_json
from ..formats.mongoexport import DEFAULT_MAX_DOCUMENT, OnBadLine
from ..profiles.interface import LoadContext
from ..sources import DECOMPRESSION_ERRORS, OpenedSource, open_source
from ..store import Warehouse
from .events import Batch, Emit, FileJob, FileOutcome, Finished, NeedsWriter, Opened
from .readahead import can_read_ahead, read_ahead
from .records import map_record, profile, skip

FLUSH_ROWS = 20_000  # pending rows per batch: bounds memory, keeps the writer busy early


def detect(stream: BinaryIO, path: Path, max_document: int = DEFAULT_MAX_DOCUMENT,
           on_bad_line: OnBadLine | None = None, companions: Companions = ON_DISK,
           display: str | None = None) -> Detected:
    """The format of a decompressed stream, knowing the profile's CSV files."""
    return detect_format(stream, path, max_document, on_bad_line, profile.csv_headers,
                         companions, display)


def writes_directly(format_name: str) -> bool:
    """Formats whose handlers write to SQLite themselves: never in a worker."""
    return format_name.startswith("csv")


def looks_written_directly(path: Path) -> bool:
    """Whether a file's first bytes are those of a CSV file: the main process reads
    it at once, rather than hand it to the worker to learn that (starting the
    worker for it, and waiting for its answer, cost a small file a third of its time)."""
    try:
        with open_source(path) as opened:
            return looks_like_csv(opened.stream.peek(HEAD)[:HEAD])  # type: ignore[attr-defined]
    except (WarehouseError, *DECOMPRESSION_ERRORS):
        return False  # reading it tells what is wrong, wherever it is read


def damaged(error: BaseException, display: str, opened: OpenedSource) -> WarehouseError:
    """A decompressor's exception as the error of the stream it was undoing."""
    return WarehouseError(f"damaged {opened.compression} stream: {error}", display,
                          offset=opened.raw.bytes_read)


def read_stream(job: FileJob, warehouse: Warehouse, emit: Emit, opened: OpenedSource,
                in_worker: bool = False, *, companions: Companions = ON_DISK,
                progress: Callable[[], int] | None = None,
                identity: Callable[[], tuple[int, str]] | None = None,
                seen_runs: MutableMapping[str, str | None] | None = None) -> None:
    """Read one source's records and emit its events; raise WarehouseError if it is damaged.

    With ``job.salvage``, damage does not raise (except where keeping the
    rest would be wrong): the damaged parts are left out and recorded.
    ``progress`` gives the bytes read on disk (a container's, for a member);
    ``identity`` gives a member's (size, sha256) once it is read whole.
    """
    bytes_read = progress or (lambda: opened.raw.bytes_read)
    stream: Any = opened.stream
    ctx, counts = _context(job, warehouse)
    if seen_runs is not None:
        ctx.seen_runs = seen_runs
    on_bad_line = (lambda error, raw: skip(ctx, error, raw)) if job.salvage else None
    detected = detect(stream, job.path, job.max_document, on_bad_line, companions, job.display)
    if in_worker and writes_directly(detected.format):
        raise NeedsWriter(detected.format)
    emit(Opened(detected.format, opened.compression, detected.database, detected.collection))
    ctx.database = detected.database
    _load_records(job, ctx, emit, detected.records, detected.collection,
                  writes_directly(detected.format), bytes_read,
                  lambda error: damaged(error, job.display, opened))
    member = identity() if identity is not None else None
    emit(Finished(counts, detected.header, detected.namespaces(), _position(stream),
                  bytes_read(), member))


def read_collection(job: FileJob, warehouse: Warehouse, emit: Emit, collection: Any,
                    engine: str, *, progress: Callable[[], int] = lambda: 0,
                    identity: tuple[int, str] | None = None,
                    seen_runs: MutableMapping[str, str | None] | None = None,
                    in_worker: bool = False) -> None:
    """Read one collection of a MongoDB data directory and emit its events
    (``seen_runs`` as for ``read_stream``). In the worker, a WiredTiger table's
    pages are read ahead by a process of their own (``readahead``)."""
    ctx, counts = _context(job, warehouse)
    if seen_runs is not None:
        ctx.seen_runs = seen_runs
    ctx.database = collection.database
    emit(Opened(f"mongodb-{engine}", "none", collection.database, collection.name))
    namespace = DumpNamespace(collection.database, collection.name, type="collection",
                              metadata=relaxed_json(collection.metadata))

    def counted() -> Iterator[Record]:
        # a reader that offers its documents undecoded (WiredTiger's: its pages cost CPU)
        if in_worker and hasattr(collection, "documents") and can_read_ahead():
            records = (collection.record(raw, offset) for raw, offset in read_ahead(
                lambda: collection.documents(job.max_document), job.display))
        else:
            records = collection.records(job.max_document)
        for record in records:
            namespace.documents += 1
            yield record

    _load_records(job, ctx, emit, counted(), collection.name, False, progress,
                  lambda error: WarehouseError(str(error), job.display))
    emit(Finished(counts, None, [namespace], 0, progress(), identity))


def _context(job: FileJob, warehouse: Warehouse) -> tuple[LoadContext, FileOutcome]:
    """What the handlers of one source's records are given, and its outcome."""
    counts = FileOutcome(job.display, "loaded", job.node)
    return LoadContext(job.display, warehouse, job.source_id, job.node, job.ids,
                       profile.new_rows(), counts, None,
                       csv_runs=warehouse.has_csv_only_runs(),
                       keep_documents=warehouse.shard is not None), counts


def _load_records(job: FileJob, ctx: LoadContext, emit: Emit, records: Iterable[Record],
                  collection: str | None, direct: bool, bytes_read: Callable[[], int],
                  damaged_by: Callable[[BaseException], WarehouseError]) -> None:
    """Map every record and emit the rows in batches. ``direct``: the handlers write
    themselves (CSV chunks), so a bad record cannot be skipped alone."""
    salvage_records = job.salvage and not direct
    found = iter(records)
    # CSV chunks hold no reference cycles: collecting between chunks costs a few per cent
    with paused_gc() if direct else nullcontext():
        while True:
            try:
                record = next(found)
            except StopIteration:
                break
            except (WarehouseError, *DECOMPRESSION_ERRORS) as error:
                # Damage that ends the stream: in salvage mode, keep what came before.
                if not isinstance(error, WarehouseError):
                    error = damaged_by(error)
                if not (job.salvage and error.salvageable):
                    raise error.located(job.display) from None
                skip(ctx, error.located(job.display), None)
                break
            ctx.outcome.documents += 1
            map_record(record, collection, ctx, salvage_records)
            if sum(map(len, ctx.rows.values())) >= FLUSH_ROWS:
                # A fresh dict each time: a worker's queue pickles the old one later.
                emit(Batch(ctx.rows, bytes_read()))
                ctx.rows = profile.new_rows()
    emit(Batch(ctx.rows, bytes_read()))


def _position(stream: BinaryIO) -> int:
    """Bytes read from the decompressed stream (0 where it cannot tell)."""
    try:
        return int(stream.tell())
    except (OSError, ValueError, AttributeError):
        return 0
