"""The reading side's entry: one file on disk, or one container of files.

The same code runs in the main process or in the worker process.
"""

from __future__ import annotations

from typing import MutableMapping

from ..errors import WarehouseError
from ..formats.dbpath import read_data_directory
from ..sources import DECOMPRESSION_ERRORS, open_source
from ..sources.containers import HEAD, container_kind
from ..store import Warehouse
from .events import Emit, FileJob
from .loading import damaged, read_collection, read_stream
from .unpack import ContainerReader


def read_file(job: FileJob, warehouse: Warehouse, emit: Emit, in_worker: bool = False,
              seen_runs: MutableMapping[str, str | None] | None = None) -> None:
    """Read one file (or every member of a container) and emit its events.

    A damaged file raises WarehouseError; a container reports its damaged
    members as events and raises only where it cannot be read any further.
    ``seen_runs`` (run key -> fingerprint): where a plain file notes the runs
    it stores, and finds the runs it is to count as stored though not
    committed (a container's members add theirs in turn).
    """
    if job.collection is not None:
        read_data_collection(job, warehouse, emit, in_worker)
        return
    with open_source(job.path) as opened:
        try:
            kind = container_kind(opened.stream.peek(HEAD)[:HEAD])  # type: ignore[attr-defined]
            if kind is None:
                read_stream(job, warehouse, emit, opened, in_worker, seen_runs=seen_runs)
            else:
                ContainerReader(job, warehouse, emit, in_worker, seen_runs).read(opened, kind)
        except DECOMPRESSION_ERRORS as error:
            raise damaged(error, job.display, opened) from None


def read_data_collection(job: FileJob, warehouse: Warehouse, emit: Emit,
                         in_worker: bool = False) -> None:
    """One collection of the MongoDB data directory ``job.path``."""
    assert job.collection is not None
    directory = read_data_directory(job.path)
    database, name = job.collection
    for collection in directory.collections:
        if (collection.database, collection.name) == (database, name):
            read_collection(job, warehouse, emit, collection, directory.engine,
                            in_worker=in_worker)
            return
    raise WarehouseError(f"no collection {database}.{name} in this data directory", job.display)
