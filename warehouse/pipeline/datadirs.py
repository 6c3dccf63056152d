"""MongoDB data directories: each collection loaded as a source of its own.

A data directory (a server's ``--dbpath``, MMAPv1 or WiredTiger) is kept in
the ledger like a container (``container``, kind ``mongodb-<engine>``): its
identity is that of all its files, so a directory read whole before is
skipped. Each collection is a member (``db.collection``): its identity is
that of the files its documents live in (a WiredTiger table; an MMAPv1
database's files with the collection's name), it loads in its own
transaction, in the worker process where there is one. ``system.*``
collections are recorded as metadata, not loaded as data.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import WarehouseError
from ..formats.dbpath import engine_of, looks_like_data_file, read_data_directory
from ..sources import SourceFile
from ..store import Warehouse, WarehouseFileError
from .collections import (SERVER_DATABASES, collection_identity, combined, file_hashes,
                          files_note, settled)
from .containers import ContainerLoad, ContainerWriter, container_row
from .events import FileJob, FileOutcome, MemberDone, MemberStarted
from .reading import read_file
from .records import profile
from .writing import Progress, through_worker


def is_data_directory(folder: Path) -> bool:
    return engine_of(folder) is not None


def load_data_directory(warehouse: Warehouse, source: SourceFile, progress: Progress,
                        max_document: int, *, replace_changed: bool = False, worker: Any = None,
                        salvage: bool = False) -> list[FileOutcome]:
    """Load every collection of a data directory; their outcomes, then the directory's."""
    load = ContainerLoad(warehouse, source, progress)
    with load, warehouse.storing(source.display):
        progress.file_started(source, source.size())
        directory = read_data_directory(source.path)
        files = sorted(p for p in source.path.rglob("*") if p.is_file())
        collections = sorted(directory.collections, key=lambda c: (c.database, c.name))
        loader = _CollectionLoader(warehouse, source, load.node, worker, max_document, salvage)
        with loader.early(collections, files):  # read while the files are hashed
            hashes = file_hashes(files)
            size, sha256 = load.identity = combined(
                (str(p.relative_to(source.path)), h) for p, h in hashes.items())
            outcome = load.outcome
            outcome.input_bytes, outcome.warnings = size, list(directory.warnings)
            outcome.warnings += _not_read(source.path, files)
            engine = f"mongodb-{directory.engine}"
            container_id = container_row(warehouse, source, outcome, size, sha256, load.node,
                                         replace_changed, engine, "none")
            if container_id is None:
                return load.outcomes()
            outcome.format, outcome.compression = engine, "none"
            load.writer = loader.writer = ContainerWriter(warehouse, container_id, outcome,
                                                          progress)
            loader.identity = (size, sha256)
            for collection in collections:
                loader.load(collection, collection_identity(source.path, collection, hashes))
    return load.outcomes()


def _not_read(folder: Path, files: list[Path]) -> list[str]:
    """A line naming the files in a data directory that are not a data directory's:
    no reader looks at them, so they are said, not lost silently."""
    names = [name for name in (p.relative_to(folder).as_posix() for p in files)
             if not looks_like_data_file(name) and "/." not in f"/{name}"]
    if not names:
        return []
    shown = ", ".join(names[:5]) + (f", … ({len(names)} files)" if len(names) > 5 else "")
    return [f"not a data directory's files, not read: {shown} (give them to build on their own)"]


class _CollectionLoader:
    """Sends each collection to be read (worker or here) and applies its events."""

    def __init__(self, warehouse: Warehouse, source: SourceFile, node: str | None, worker: Any,
                 max_document: int, salvage: bool) -> None:
        self.warehouse, self.source, self.node, self.worker = warehouse, source, node, worker
        self.max_document, self.salvage = max_document, salvage
        self.writer: ContainerWriter | None = None
        self.identity: tuple[int, str] | None = None  # the directory's, once hashed
        self.sent: FileJob | None = None  # the job the worker began before the hashes

    @contextmanager
    def early(self, collections: list[Any], files: list[Path]) -> Iterator[None]:
        """Let the worker begin the first collection to read while this process hashes
        the files (their hashes decide what is read: a data directory's files can be
        hundreds of MB, mostly preallocated). Only when the ledger cannot know the
        directory or that collection, whatever their hashes: their sizes tell. A job
        begun and not used (the directory failed) is thrown away."""
        first = next((c for c in collections
                      if not (c.system or c.database in SERVER_DATABASES)), None)
        if self.worker is not None and first is not None:
            sizes = {p: (p.stat().st_size, "") for p in files}  # the identities' sizes only
            member_size = collection_identity(self.source.path, first, sizes)[0]
            if not self.warehouse.may_know(self.source.display, sum(s for s, _ in sizes.values()),
                                           member_size):
                self.sent = self._job(first)
                self.worker.send(self.sent)
        try:
            yield
        except BaseException as error:
            if self.sent is not None and (isinstance(error, WarehouseFileError)
                                          or not isinstance(error, WarehouseError)):
                self.sent = None
                self.worker.abandon()  # the build stops: no use reading on
            raise
        finally:
            if self.sent is not None:
                self.worker.drop(self.sent)
                self.sent = None

    def _job(self, collection: Any) -> FileJob:
        return FileJob(self.source.path, f"{self.source.display}!{_key(collection)}", self.node,
                       self.warehouse.next_source_id(), profile.new_ids(self.warehouse.next_key),
                       self.max_document, self.salvage, None,
                       (collection.database, collection.name))

    def _begun(self, collection: Any) -> FileJob | None:
        """The job the worker began for this collection, if any: taken from ``sent``."""
        job = self.sent
        if job is None or job.collection != (collection.database, collection.name):
            return None
        self.sent = None
        return job

    def load(self, collection: Any, identity: tuple[int, str]) -> None:
        assert self.writer is not None
        key = _key(collection)
        display = f"{self.source.display}!{key}"
        done = settled(self.warehouse, self.identity, collection, key, display, identity,
                       self.max_document)
        begun = self._begun(collection)
        if done is not None:
            if begun is not None:  # never, while sizes decide what is begun; never left unread
                self.worker.drop(begun)
            self.writer(done)
            return
        job = begun or self._job(collection)
        self.writer(MemberStarted(job, key, identity[0], identity,
                                  files_note(self.source.path, collection)))
        try:
            if self.worker is None or not through_worker(self.worker, job, self.writer,
                                                         sent=begun is not None):
                read_file(job, self.warehouse, self.writer)
        except WarehouseFileError:
            raise
        except WarehouseError as error:
            self.writer(MemberDone(display, key, "failed", "", error.located(display),
                                   identity))


def _key(collection: Any) -> str:
    return f"{collection.database}.{collection.name}"
