"""The writing side for containers: a transaction per member, and the container's ledger.

A container is recognised by size and sha256 like a file: one read whole
before is skipped without being opened. Otherwise its members come as
events (``unpack.ContainerReader``); each member that holds data loads in its
own transaction, and once it is read whole its identity decides: kept, or
rolled back when the same content was loaded before (from a loose file or
another container). A damaged member loads nothing; the members read whole
before it stay.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import WarehouseError
from ..formats.dumpdir import metadata_type, strip_compression
from ..sources import DECOMPRESSION_ERRORS, SourceFile, file_identity, open_source
from ..sources.containers import HEAD, container_kind
from ..store import Warehouse, WarehouseFileError
from .collections import SERVER_DATABASES
from .events import (Batch, CompanionLate, ContainerFinished, ContainerStarted,
                     FileJob, FileOutcome, Finished, MemberDone, MemberStarted, Opened)
from .reading import read_file
from .records import profile
from .writing import FileWriter, Progress, through_worker

# suffixes of a container's file name left out of the node named after it
_ARCHIVE_SUFFIXES = (".tar", ".zip", ".tgz", ".tbz", ".tbz2", ".txz", ".tzst")


def is_container(path: Path) -> bool:
    """Whether a file is a tar or zip file (whatever its compression and its name)."""
    try:
        with open_source(path) as opened:
            return container_kind(opened.stream.peek(HEAD)[:HEAD]) is not None  # type: ignore[attr-defined]
    except (WarehouseError, ValueError, *DECOMPRESSION_ERRORS):
        return False  # unreadable here: the file's own load says why


def container_node(source: SourceFile) -> str | None:
    """A container found directly under a path given to `build` (or given itself)
    names its node after itself: ``raw/node3.tar.gz`` -> ``node3``; in a folder
    below it, the folder names it as for any file."""
    if not source.at_top:
        return source.node
    name = strip_compression(source.path.name)
    for suffix in _ARCHIVE_SUFFIXES:
        name = name.removesuffix(suffix)
    return name or source.node


def load_container(warehouse: Warehouse, source: SourceFile, progress: Progress,
                   max_document: int, *, replace_changed: bool = False, worker: Any = None,
                   salvage: bool = False) -> list[FileOutcome]:
    """Load every member of a container; the outcomes of its members, then its own."""
    load = ContainerLoad(warehouse, source, progress)
    with load, warehouse.storing(source.display):
        size, sha256 = load.identity = file_identity(source.path)
        load.outcome.input_bytes = size
        progress.file_started(source, size)
        container_id = container_row(warehouse, source, load.outcome, size, sha256, load.node,
                                     replace_changed)
        if container_id is None:
            return load.outcomes()
        load.writer = ContainerWriter(warehouse, container_id, load.outcome, progress)
        job = _job(warehouse, source, load.node, max_document, salvage, (size, sha256))
        _read(warehouse, job, load.writer, worker)
    return load.outcomes()


class ContainerLoad:
    """``with``: one container (or data directory) being loaded, and how that ends: an
    error that stops it fails it alone (rolled back, remembered in ``failure``)."""

    def __init__(self, warehouse: Warehouse, source: SourceFile, progress: Progress) -> None:
        self.warehouse, self.source, self.progress = warehouse, source, progress
        self.node = container_node(source)
        self.outcome = FileOutcome(source.display, "container", self.node)
        self.writer: ContainerWriter | None = None
        self.identity: tuple[int, str] = (0, "")

    def __enter__(self) -> "ContainerLoad":
        return self

    def __exit__(self, kind: Any, error: BaseException | None, trace: Any) -> bool:
        stopped = isinstance(error, WarehouseError) and not isinstance(error, WarehouseFileError)
        try:
            if error is not None:
                self.warehouse.rollback()
            if stopped and isinstance(error, WarehouseError):  # it cannot be read any further
                self.outcome.status = "failed"
                self.outcome.error = error.located(self.source.display)
                self.warehouse.record_failure(self.source.display, *self.identity, self.node,
                                              str(self.outcome.error))
        finally:
            self.progress.file_done()
            if self.writer is not None:
                self.writer.close(self.outcome.warnings)
        return stopped  # the warehouse file's own failures stop the build

    def outcomes(self) -> list[FileOutcome]:
        """Its members' outcomes, then its own."""
        return (self.writer.outcomes if self.writer is not None else []) + [self.outcome]


def _job(warehouse: Warehouse, source: SourceFile, node: str | None, max_document: int,
         salvage: bool, identity: tuple[int, str]) -> FileJob:
    return FileJob(source.path, source.display, node, warehouse.next_source_id(),
                   profile.new_ids(warehouse.next_key), max_document, salvage, identity)


def _read(warehouse: Warehouse, job: FileJob, writer: "ContainerWriter", worker: Any) -> None:
    """The container's events, from the worker where there is one. A member only the
    writing process can load (CSV files), or one the writer refused (the worker read
    on past it, counting its runs as stored), makes it read the container here instead,
    skipping the members the worker's pass already settled."""
    if worker is not None and not warehouse.has_csv_only_runs():
        try:
            if through_worker(worker, job, writer):
                return
        except MemberRefused:
            pass
        warehouse.rollback()
        writer.read_again()
        job = replace(job, source_id=warehouse.next_source_id(),
                      ids=profile.new_ids(warehouse.next_key))
    read_file(job, warehouse, writer)


class MemberRefused(WarehouseError):
    """A member's rows the writer could not store (read here, it fails alone)."""

    @classmethod
    def of(cls, error: WarehouseError) -> "MemberRefused":
        return cls(error.message, error.path, error.line, error.offset, error.salvageable)


def container_row(warehouse: Warehouse, source: SourceFile, outcome: FileOutcome, size: int,
                  sha256: str, node: str | None, replace_changed: bool, kind: str | None = None,
                  compression: str | None = None) -> int | None:
    """The ledger row to load the container under; None (and why, in ``outcome``) when
    it needs no loading: read whole before, or changed without ``--replace``. Other
    content where a container could not be read to its end (a damaged download, fetched
    again) replaces it without ``--replace``, as a file that failed is loaded anew."""
    known = warehouse.loaded_container(sha256, size)
    if known is not None:
        if known[2]:
            outcome.status, outcome.note = "skipped", f"same content as {known[1]}, already loaded"
            return None
        return int(known[0])  # read before but not to its end: what is missing loads now
    previous = warehouse.container_at_path(source.display)
    warehouse.begin()
    if previous is not None:
        if not replace_changed and previous[4]:
            warehouse.rollback()
            outcome.status = "changed"
            outcome.note = (f"content changed since it was loaded on {previous[3]}: left out; "
                            "build with --replace to load it instead of the old content")
            return None
        warehouse.remove_container(int(previous[0]))
        outcome.note = ("replaced the content loaded before from this path" if previous[4] else
                        "replaced what could be read before of a damaged copy at this path")
    if kind is None or compression is None:
        with open_source(source.path) as opened:
            kind = container_kind(opened.stream.peek(HEAD)[:HEAD]) or "?"  # type: ignore[attr-defined]
            compression = opened.compression
    container_id = warehouse.add_container(path=source.display, size=size, sha256=sha256,
                                           kind=kind, compression=compression, node=node)
    warehouse.commit()
    return container_id


class ContainerWriter:
    """Applies a container's events: members in their own transactions, and the ledger."""

    def __init__(self, warehouse: Warehouse, container_id: int, outcome: FileOutcome,
                 progress: Progress) -> None:
        self.warehouse = warehouse
        self.container_id = container_id
        self.outcome = outcome
        self.progress = progress
        self.outcomes: list[FileOutcome] = []
        self.member: _MemberWriter | None = None
        self.position = 0  # bytes of the container reported to the progress bar
        self.settled: set[str] = set()  # members settled before the container was read again

    def __call__(self, event: object) -> None:
        if isinstance(event, (Opened, Batch, Finished)):
            assert self.member is not None
            try:
                self.member(event)
            except WarehouseFileError:
                raise
            except WarehouseError as error:
                raise MemberRefused.of(error) from None
            self.position = self.member.bytes_reported
            if isinstance(event, Finished):
                self.member = None
        elif isinstance(event, MemberStarted):
            self.started(event)
        elif isinstance(event, MemberDone):
            self.done(event)
        elif isinstance(event, CompanionLate):
            self.companion(event)
        elif isinstance(event, ContainerStarted):
            self.container_started(event)
        elif isinstance(event, ContainerFinished):
            self.container_finished(event)
        else:
            raise TypeError(f"unexpected event {event!r}")

    def container_started(self, event: ContainerStarted) -> None:
        if event.member is None:
            self.outcome.format, self.outcome.compression = event.kind, event.compression

    def container_finished(self, event: ContainerFinished) -> None:
        self.outcome.warnings += event.warnings
        if event.member is not None:  # a container inside: recorded as a member
            size, sha256 = event.identity or (None, None)
            self._record(event.member, size, sha256, "container")

    def started(self, event: MemberStarted) -> None:
        outcome = FileOutcome(event.job.display, "loaded", event.job.node)
        outcome.input_bytes = event.stored_size
        self.outcomes.append(outcome)
        size, sha256 = event.identity or (event.stored_size, f"pending:{event.job.source_id}")
        self.member = _MemberWriter(self.warehouse, event.job, outcome, size, sha256,
                                    self.progress)
        self.member.bytes_reported = self.position
        self.member.container_id = self.container_id
        self.member.key = event.member
        self.member.note = event.note

    def read_again(self) -> None:
        """The container is read again from its start: the member left open is rolled
        back (the caller's rollback) and forgotten; those settled stay as they are."""
        if self.member is not None:
            self.outcomes.remove(self.member.outcome)
            self.member = None
        self.settled = {outcome.path for outcome in self.outcomes}

    def done(self, event: MemberDone) -> None:
        """A member that loads nothing (or failed while it loaded: roll it back)."""
        if event.status == "skipped" and event.display in self.settled:
            return  # settled by the first pass of this same build, and said then
        if self.member is not None and self.member.outcome.path == event.display:
            self.warehouse.rollback()
            outcome = self.member.outcome
            self.member = None
        else:
            outcome = FileOutcome(event.display, event.status, self.outcome.node)
            if event.status != "data-file":  # a data directory's file: its collections tell
                self.outcomes.append(outcome)
        outcome.status, outcome.note, outcome.error = event.status, event.note, event.error
        if event.status == "metadata":  # its documents (or why not) are the ledger's note
            outcome.note = ("the server's own, not data: kept in container_member.note"
                            if event.member.split("!")[-1].split(".", 1)[0] in SERVER_DATABASES
                            else "a system collection: kept in container_member.note")
        outcome.runs = outcome.rows = outcome.values = outcome.duplicates = 0
        size, sha256 = event.identity or (None, None)
        if event.status == "failed" and event.error is not None:
            self.warehouse.record_failure(event.display, size or 0, sha256 or "",
                                          outcome.node, str(event.error))
        if event.status != "skipped":  # skipped: already recorded by an earlier build
            self._record(event.member, size, sha256, event.status, event.source_id,
                         note=str(event.error) if event.error else event.note)

    def companion(self, event: CompanionLate) -> None:
        """A companion met after its .bson: what the .bson's load would have recorded."""
        self.warehouse.begin()
        if event.kind == "prelude":
            self.warehouse.query("UPDATE source SET dump_header = coalesce(dump_header, ?) "
                                 "WHERE path = ?", (event.text, event.bson_display))
        else:
            self.warehouse.query(
                "UPDATE source_namespace SET metadata = ?, type = ? WHERE source_id IN "
                "(SELECT source_id FROM source WHERE path = ?)",
                (event.text, metadata_type(event.text), event.bson_display))
        self.warehouse.commit()

    def _record(self, member: str, size: int | None, sha256: str | None, status: str,
                source_id: int | None = None, note: str | None = None) -> None:
        self.warehouse.begin()
        self.warehouse.record_member(self.container_id, member, size, sha256, status,
                                     source_id, note)
        self.warehouse.commit()

    def close(self, warnings: list[str] | None = None) -> None:
        """Whether the container was read to its end, with every member settled."""
        if self.member is not None:  # a member left open by an error above
            self.warehouse.rollback()
        failed = self.outcome.status == "failed" or any(
            o.status in ("failed", "salvaged") for o in self.outcomes)
        if self.outcome.status != "failed" and failed:
            self.outcome.status = "incomplete"
            self.outcome.note = "some members did not load whole: they are listed above"
        self.warehouse.begin()
        self.warehouse.finish_container(
            self.container_id, not failed,
            str(self.outcome.error) if self.outcome.error else self.outcome.note or None,
            "\n".join(warnings) if warnings else None)
        self.warehouse.commit()


class _MemberWriter(FileWriter):
    """A member: once read whole, kept, or rolled back if its content was loaded before."""

    container_id = 0
    key = ""
    note = ""

    def finished(self, event: Finished) -> None:
        size, sha256 = event.identity or (self.size, self.sha256)
        other = self.warehouse.loaded_source(sha256, size)
        if other is not None and int(other[0]) != self.job.source_id:
            self.warehouse.rollback()
            self.outcome.status = "known"
            self.outcome.note = f"same content as {other[1]}, already loaded"
            self.outcome.runs = self.outcome.rows = self.outcome.values = 0
            self.advance(event.bytes_read)
            self.warehouse.begin()
            self.warehouse.record_member(self.container_id, self.key, size, sha256, "known",
                                         int(other[0]), self.outcome.note)
            self.warehouse.commit()
            return
        self.account(event)
        self.warehouse.query("UPDATE source SET size = ?, sha256 = ? WHERE source_id = ?",
                             (size, sha256, self.job.source_id))
        self.warehouse.record_member(self.container_id, self.key, size, sha256,
                                     self.outcome.status, self.job.source_id, self.note)
        self.warehouse.commit()
