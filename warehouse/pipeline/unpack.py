"""The reading side for containers: every member of a tar or zip read as a source of its own.

Members are read where they are, in the container's order: a tar front to
back once, a zip through its central directory; only a zip inside another
container (or compressed as a whole) is first copied to a temporary file.
Each member that holds data goes through ``loading.read_stream`` like a file
(``container!member`` in messages and the ledger), its bytes hashed on the
way: its identity is known once it is read, and the writing side then keeps
it or, if the same content was loaded before, rolls it back.

A mongodump folder's companions (``metadata.json``, ``prelude.json``) may come
before or after their ``.bson`` in a tar: those met before are kept in memory
for it, those met after are sent to the writer to complete what it stored.
"""

from __future__ import annotations

import io
from dataclasses import replace
from functools import partial
from pathlib import Path, PurePosixPath
from collections import ChainMap
from typing import Any, Iterator, MutableMapping

from ..errors import WarehouseError
from ..formats.dbpath import looks_like_data_file, read_data_directory
from ..formats.dumpdir import MAX_METADATA, is_bson_name, is_companion
from ..sources import DECOMPRESSION_ERRORS, OpenedSource, open_stream
from ..sources.compression import RatioGuard
from ..sources.containers import HEAD, Member, Spool, container_kind, tar_members, zip_members
from ..sources.zip import ZIP_ERRORS
from ..store import Warehouse
from .companions import MemberCompanions
from .events import (EVENTS_IN_FLIGHT, CompanionLate, ContainerFinished, ContainerStarted, Emit,
                     FileJob, MemberDone, MemberStarted, NeedsWriter)
from .collections import collection_identity, files_note, settled
from .loading import damaged, read_collection, read_stream
from .spooled import SpooledData


class _MemberBytes(io.RawIOBase):
    """A member's stored bytes. Trouble reading them is the container's damage (a
    tar's stream cut short, its decompression failing), or, in a zip, the member's
    (a CRC mismatch, bad deflate data): ``broken`` tells which."""

    def __init__(self, data: Any, container: "_Container", member: str) -> None:
        self.data = data
        self.container = container
        self.member = member
        self.broken: WarehouseError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        try:
            chunk = self.data.read(len(buffer))
        except WarehouseError as error:  # a tar cut short: located in the container
            self.broken = error
            raise
        except ZIP_ERRORS + DECOMPRESSION_ERRORS as error:
            if self.container.kind != "tar":  # a zip member, or a copy: the member's own
                raise WarehouseError(f"damaged zip member: {error}", salvageable=False) from None
            self.broken = damaged(error, self.container.display, self.container.opened)
            self.broken.message += f" (while reading member {self.member})"
            raise self.broken from None
        buffer[:len(chunk)] = chunk
        return len(chunk)


class _Container:
    """One container being read (the top one, or one inside it)."""

    def __init__(self, kind: str, display: str, opened: OpenedSource, prefix: str,
                 outer: "_Container | None" = None) -> None:
        self.kind = kind
        self.display = display  # as messages name it
        self.opened = opened  # its decompressed stream
        self.prefix = prefix  # of its members' keys in the top container ("inner.tar!")
        self.outer = outer  # the container it is a member of

    def allow(self, size: int) -> None:
        """A member of this size is read as stored, its size bounded otherwise: not held
        against the decompression ratio of this container, nor of those holding it."""
        container: _Container | None = self
        while container is not None:
            guard = getattr(container.opened.stream, "raw", None)
            if isinstance(guard, RatioGuard):
                guard.allow(size)
            container = container.outer


class ContainerReader:
    """Reads a container's members and emits their events.

    It goes from member to member without waiting for the writer to commit:
    the runs of the members read so far count as stored (``_seen``), as long
    as the writer may not have applied them yet (the events in flight between
    the processes); past that, the warehouse itself says which runs it holds.
    A member that fails here is not counted; one the writer refuses makes the
    writer read the container again itself (``containers._read``), where that
    member fails alone.
    """

    def __init__(self, job: FileJob, warehouse: Warehouse, emit: Emit, in_worker: bool,
                 stored: MutableMapping[str, str | None] | None = None) -> None:
        self.job = job
        self.warehouse = warehouse
        self._emit = emit
        self.emitted = 0  # events emitted so far
        self.lag = EVENTS_IN_FLIGHT + 1 if in_worker else 0  # events maybe not applied yet
        self.stored = stored or {}  # runs of the file before, maybe not committed yet
        self.carried: list[tuple[int, dict[str, str | None]]] = []  # (emitted when read, runs)
        self.in_worker = in_worker
        self.next_source_id = job.source_id
        self.companions = MemberCompanions()
        self.loaded_bson: dict[str, str] = {}  # key of a .bson member -> its display
        self.spool: Spool | None = None
        self.spooled: SpooledData | None = None  # files of MongoDB data directories
        self.top: OpenedSource | None = None

    def emit(self, event: object) -> None:
        self.emitted += 1
        self._emit(event)

    def _seen(self) -> tuple[dict[str, str | None], ChainMap[str, str | None]]:
        """A new member's runs, and those it must count as stored besides the warehouse's."""
        self.carried = [(at, runs) for at, runs in self.carried if at + self.lag > self.emitted]
        runs: dict[str, str | None] = {}
        return runs, ChainMap(runs, *(runs for _, runs in reversed(self.carried)), self.stored)

    def _read_whole(self, runs: dict[str, str | None]) -> None:
        """A member read without failing: its runs are stored, or about to be."""
        self.carried.append((self.emitted, runs))

    def read(self, opened: OpenedSource, kind: str) -> None:
        """The whole container; raise WarehouseError where it is damaged."""
        self.top = opened
        self.emit(ContainerStarted(kind, opened.compression))
        try:
            container = _Container(kind, self.job.display, opened, "")
            self.members(container, self._entries(container))
            if self.spooled is not None:
                self.load_spooled(self.spooled)
        finally:
            if self.spool is not None:
                self.spool.close()
        self.emit(ContainerFinished())

    def _entries(self, container: _Container) -> Iterator[Member]:
        if container.kind == "tar":
            return tar_members(container.opened.stream, container.display)
        if container.opened.compression == "none" and not container.prefix:
            return zip_members(open(self.job.path, "rb"), container.display)
        self.spool = self.spool or Spool()  # a zip is read from its end: it needs a file
        copy = self.spool.copy(container.opened.stream, container.display)
        return zip_members(open(copy, "rb"), container.display)

    def members(self, container: _Container, entries: Iterator[Member]) -> None:
        for member in entries:
            if member.kind == "directory":
                continue
            key = container.prefix + member.name
            display = f"{container.display}!{member.name}"
            if member.problem is not None or member.open is None:
                self.emit(MemberDone(display, key, "unsafe", member.problem or "not readable"))
            elif self.warehouse.known_member(self.job.container, key):
                self.emit(MemberDone(display, key, "skipped",
                                     "already loaded from this same container"))
            elif member.size == 0 and is_bson_name(member.name):
                # mongodump writes an empty collection as an empty file
                self.emit(MemberDone(display, key, "empty", "empty collection", None, (0, "")))
            elif is_companion(member.name):
                self.companion(container, member, key, display)
            elif looks_like_data_file(member.name):
                self.data_file(container, member, key, display)
            else:
                self.member(container, member, key, display)
            self.companions.seen(key)

    def companion(self, container: _Container, member: Member, key: str, display: str) -> None:
        opening = _OpenedMember(container, member, key, display)
        try:
            with opening as (opened, data):
                raw = opened.stream.read(MAX_METADATA + 1)
                if len(raw) > MAX_METADATA:
                    raise WarehouseError(f"metadata file larger than {MAX_METADATA} bytes",
                                         display)
                identity = _identity(opened, data)
        except WarehouseError as error:
            self._failed(opening, error)
            return
        text = raw.decode("utf-8", "replace")
        kind, describes = self.companions.add(PurePosixPath(key), text)
        for bson_key, bson_display in self.loaded_bson.items():
            if describes(bson_key):
                self.emit(CompanionLate(bson_display, kind, text))
        self.emit(MemberDone(display, key, "companion", "", None, identity))

    def member(self, container: _Container, member: Member, key: str, display: str) -> None:
        job = replace(self.job, path=Path(key), display=display, source_id=self.next_source_id,
                      container=None)
        opening = _OpenedMember(container, member, key, display)
        try:
            with opening as (opened, data):
                nested = container_kind(opened.stream.peek(HEAD)[:HEAD])  # type: ignore[attr-defined]
                if nested is not None:
                    self.nested(nested, display, opened, key, container)
                    return
                self.next_source_id += 1
                self.emit(MemberStarted(job, key, member.size))
                runs, seen = self._seen()
                read_stream(job, self.warehouse, self.emit, opened, self.in_worker,
                            companions=self.companions, progress=self._progress,
                            identity=lambda: _identity(opened, data), seen_runs=seen)
            self._read_whole(runs)
            if is_bson_name(member.name):
                self.loaded_bson[self.companions.bson_key(key)] = display
        except NeedsWriter:
            raise
        except WarehouseError as error:
            self.emit(MemberDone(display, key, "failed", "", error.located(display)))
        if opening.data is not None and opening.data.broken is not None:
            raise ContainerBroken(opening.data.broken, key)

    def data_file(self, container: _Container, member: Member, key: str, display: str) -> None:
        """A file of a MongoDB data directory: copied as stored, read once the container is."""
        self.spool = self.spool or Spool()
        spooled = self.spooled = self.spooled or SpooledData(self.spool.folder)
        opening = _OpenedMember(container, member, key, display, as_stored=True)
        try:
            self.spool.make_room(member.size)
            container.allow(member.size)  # preallocated data files: zeros
            with opening as (opened, data):
                self.spool.copy(opened.stream, key, target=spooled.path_of(key))
                spooled.add(key, _identity(opened, data))
        except WarehouseError as error:
            self._failed(opening, error)

    def _failed(self, opening: "_OpenedMember", error: WarehouseError) -> None:
        """A member that could not be read; the container too, if the damage is its own."""
        self.emit(MemberDone(opening.display, opening.key, "failed", "",
                             error.located(opening.display)))
        if opening.data is not None and opening.data.broken is not None:
            raise ContainerBroken(opening.data.broken, opening.key) from None

    def load_spooled(self, spooled: SpooledData) -> None:
        """The data directories among the copied files; the other copies as members."""
        folders = spooled.directories()
        for folder, key in folders:
            self.data_directory(spooled, folder, key)
        here = _Container("copy", self.job.display, self.top, "")  # type: ignore[arg-type]
        for path, key, identity in spooled.leftovers([folder for folder, _ in folders]):
            member = Member(key, identity[0], "file", 0, None, partial(open, path, "rb"))
            self.member(here, member, key, f"{self.job.display}!{key}")

    def data_directory(self, spooled: SpooledData, folder: Path, root: str) -> None:
        """A data directory met in the container: its collections, each a member."""
        try:
            directory = read_data_directory(folder)
        except WarehouseError as error:
            self.emit(MemberDone(f"{self.job.display}!{root}", root, "failed", "",
                                 spooled.in_container(error, self.job.display)))
            return
        self.emit(ContainerStarted(f"mongodb-{directory.engine}", "none", root))
        hashes = spooled.file_identities()
        for collection in sorted(directory.collections, key=lambda c: (c.database, c.name)):
            identity = collection_identity(folder, collection, hashes)
            self.collection(spooled, folder, root, directory.engine, collection, identity)
        for _, key, identity in spooled.under(folder):
            self.emit(MemberDone(f"{self.job.display}!{key}", key, "data-file", root, None,
                                 identity))
        self.emit(ContainerFinished(spooled.identity(folder), root,
                                    spooled.warnings(directory.warnings, folder, self.job.display)))

    def collection(self, spooled: SpooledData, folder: Path, root: str, engine: str,
                   collection: Any, identity: tuple[int, str]) -> None:
        key = f"{root}!{collection.database}.{collection.name}"
        display = f"{self.job.display}!{key}"
        done = settled(self.warehouse, self.job.container, collection, key, display, identity,
                       self.job.max_document)
        if done is not None:
            self.emit(done)
            return
        job = replace(self.job, path=folder, display=display, source_id=self.next_source_id,
                      container=None, collection=(collection.database, collection.name))
        self.next_source_id += 1
        self.emit(MemberStarted(job, key, identity[0], identity, files_note(folder, collection)))
        runs, seen = self._seen()
        try:
            read_collection(job, self.warehouse, self.emit, collection, engine,
                            progress=self._progress, identity=identity, seen_runs=seen,
                            in_worker=self.in_worker)
        except WarehouseError as error:
            self.emit(MemberDone(display, key, "failed", "",
                                 spooled.in_container(error, self.job.display), identity))
        else:
            self._read_whole(runs)

    def nested(self, kind: str, display: str, opened: OpenedSource, key: str,
               container: _Container) -> None:
        """A container inside this one: its members are read in turn."""
        self.emit(ContainerStarted(kind, opened.compression, key))
        inner = _Container(kind, display, opened, key + "!", container)
        self.members(inner, self._entries(inner))
        self.emit(ContainerFinished(_identity(opened), key))

    def _progress(self) -> int:
        return self.top.raw.bytes_read if self.top is not None else 0


class _OpenedMember:
    """``with``: a member's stream, decompressed by its own magic, hashed as stored."""

    def __init__(self, container: _Container, member: Member, key: str, display: str,
                 as_stored: bool = False) -> None:
        self.container, self.member, self.key, self.display = container, member, key, display
        self.as_stored = as_stored  # copied as stored, to a spool that has room for it
        self.data: _MemberBytes | None = None

    def __enter__(self) -> tuple[OpenedSource, _MemberBytes]:
        assert self.member.open is not None
        try:
            raw = self.member.open(bounded=self.as_stored)
        except WarehouseError as error:
            raise error.located(self.display) from None
        self.data = _MemberBytes(raw, self.container, self.key)
        self.opened = open_stream(self.data, hashed=True, decompress=not self.as_stored)
        return self.opened, self.data

    def __exit__(self, *exc: object) -> None:
        self.opened.close()


class ContainerBroken(WarehouseError):
    """The container cannot be read past a member (already reported with it)."""

    def __init__(self, error: WarehouseError, member: str) -> None:
        super().__init__(error.message, error.path, error.line, error.offset, False)
        self.member = member

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_broken, (self.message, self.path, self.offset, self.member))


def _broken(message: str, path: str | None, offset: int | None, member: str) -> ContainerBroken:
    return ContainerBroken(WarehouseError(message, path, offset=offset), member)


def _identity(opened: OpenedSource, data: _MemberBytes | None = None) -> tuple[int, str]:
    """(size, sha256) of a member's stored bytes: what is left is read first, unless
    the container broke inside it (then of what could be read)."""
    if data is None or data.broken is None:
        opened.raw.drain()
    digest = opened.raw.digest
    return opened.raw.bytes_read, digest.hexdigest() if digest is not None else ""
