"""What becomes of one record: a new run, a duplicate, a conflict, a document kept whole.

The profile says what a record is and what rows it makes; the pipeline
decides, here, what happens to it (the same rules for every format).
"""

from __future__ import annotations

from typing import Callable

from ..errors import WarehouseError
from ..formats import Record
from ..formats.extjson import relaxed_json
from ..profiles.ctmixtures import PROFILE
from ..profiles.interface import LoadContext, Profile
from ..store.shards import pack_document

RAW_KEPT = 64 << 10  # characters of a skipped part's text kept in `skipped.raw`

profile: Profile = PROFILE


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
        _keep_document(ctx, csv_run, record)
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
            if ctx.keep_documents:
                ctx.rows["shard_duplicate"].append((run_key, ctx.source_id, record.line,
                                                    record.offset, content))
        else:
            _conflict(record, ctx, run_key, content)
        return
    run_id = ctx.ids.run  # the key map_run gives the run
    profile.map_run(record, ctx, content)
    _keep_document(ctx, run_id, record)
    ctx.seen_runs[run_key] = content
    ctx.outcome.runs += 1


def _keep_document(ctx: LoadContext, run_id: int, record: Record) -> None:
    """A shard keeps the document of each run it stores, for a merge's conflicts."""
    if ctx.keep_documents:
        ctx.rows["shard_document"].append((run_id, pack_document(record.document)))


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


def map_record(record: Record, file_collection: str | None, ctx: LoadContext, salvage: bool) -> None:
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
