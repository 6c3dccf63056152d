"""A worker process that reads and maps files while the main process writes.

The worker runs ``loading.read_file`` unchanged, with a read-only connection
to the warehouse (it sees what the writer has committed, which is all it
needs: files are loaded one after the other, except that the next file may
begin while the file before commits, and then that file's runs are carried
over: ``FileJob.carry_runs``), and sends the events, pickled, through a
bounded queue, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import traceback
from collections import ChainMap
from pathlib import Path
from typing import Any, Callable, Iterator, cast

from ..errors import WarehouseError
from ..store import Warehouse
from .events import EVENTS_IN_FLIGHT, FileJob, NeedsWriter
from .reading import read_file

POLL_SECONDS = 1.0
WARM_BLOCK = 4 << 20  # bytes: above any batch pickled (``_warm_allocator``)


class _Failed:
    def __init__(self, error: BaseException, detail: str = "") -> None:
        self.error = error
        self.detail = detail


class _Orphaned(Exception):
    """The main process is gone (killed): the worker ends too."""


class _Ended(BaseException):
    """SIGTERM from the main process (the build stops): what the worker holds is let go
    on the way out (a data directory's files copied to a temporary folder)."""


def _end(signum: int, frame: object) -> None:
    raise _Ended


class _JobDone:
    """The last event of every job that did not fail."""


# A token on the task queue besides jobs: the writer gave up on the job.
_ABANDON = "abandon"


def _serve(db_path: Path, tasks: multiprocessing.Queue, events: multiprocessing.Queue) -> None:
    parent = os.getppid()

    def wait(operation: Callable[[], object]) -> object:
        # Never block for good: a main process killed by SIGKILL must not
        # leave its worker waiting on a queue forever.
        while True:
            try:
                return operation()
            except (queue.Empty, queue.Full):
                if os.getppid() != parent:
                    raise _Orphaned from None

    def emit(event: object) -> None:
        data = pickle.dumps(event, pickle.HIGHEST_PROTOCOL)
        wait(lambda: events.put(data, timeout=POLL_SECONDS))

    # Ctrl-C reaches the whole process group: the main process decides what
    # stops, and ends this one with SIGTERM (a fork keeps the handlers of the
    # main process, which would report an interrupted build).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _end)
    _warm_allocator()
    warehouse = Warehouse(db_path, read_only=True)
    stored: dict[str, str | None] = {}  # runs of the file before, maybe being committed
    try:
        while (task := wait(lambda: tasks.get(timeout=POLL_SECONDS))) is not None:
            if task == _ABANDON:
                continue  # meant for a job that has ended
            job = cast(FileJob, task)
            runs: dict[str, str | None] = {}
            seen = ChainMap(runs, stored) if job.carry_runs else runs
            stored = {}
            try:
                with warehouse.storing(job.display):  # the warehouse unreadable: one clear error
                    read_file(job, warehouse, emit, in_worker=True, seen_runs=seen)
                stored = runs
                emit(_JobDone())
            except (WarehouseError, NeedsWriter) as error:
                emit(_Failed(error))
            except (_Orphaned, _Ended):
                raise
            except BaseException as error:  # reported in the main process, with its traceback
                emit(_Failed(RuntimeError(f"worker: {error!r}"), traceback.format_exc()))
    except _Orphaned:
        os._exit(1)
    except _Ended:
        os._exit(128 + signal.SIGTERM)


def _warm_allocator() -> None:
    """Have the C allocator serve the pickled batches (~0.4 MB each) from its heap.

    glibc maps a block above its threshold (128 KB at first) afresh each time,
    every page of it faulted in again, until a block that large is freed: the
    threshold then rises to its size. A dump's worker happened to free such a
    block early; a data directory's did not, and its batches cost 50,000 page
    faults per 2,000 runs (0.1 s, measured with the bench of issue 14).
    """
    bytes(WARM_BLOCK)


class MappingWorker:
    """One worker process serving files one at a time."""

    def __init__(self, db_path: Path) -> None:
        # fork where there is one: no re-import of the caller's main module, so a
        # script calling build() needs no `if __name__ == "__main__"` guard
        methods = multiprocessing.get_all_start_methods()
        context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.tasks: multiprocessing.Queue = context.Queue()
        self.events: multiprocessing.Queue = context.Queue(EVENTS_IN_FLIGHT)
        self.process = context.Process(target=_serve, args=(db_path, self.tasks, self.events),
                                       name="warehouse-mapper", daemon=True)
        self.process.start()
        self.abandoned = False

    def send(self, job: FileJob) -> None:
        """Start a job now; ``read(job, sent=True)`` gives its events later."""
        self.tasks.put(job)

    def read(self, job: FileJob, sent: bool = False) -> Iterator[object]:
        """The events of one file, as ``read_file`` emits them; errors re-raised here."""
        if not sent:
            self.tasks.put(job)
        finished = False
        try:
            while not finished:
                event = self._next()
                if isinstance(event, _Failed):
                    finished = True
                    if event.detail:
                        raise RuntimeError(f"{event.error}\n{event.detail}")
                    raise event.error
                if isinstance(event, _JobDone):
                    finished = True
                    return
                yield event
        except GeneratorExit:
            if not finished and not self.abandoned:
                # The writer gave up on this file and goes on with the next: skip
                # what the worker still sends of it (unless the build stops).
                self.tasks.put(_ABANDON)
                while not finished:
                    finished = isinstance(self._next(), (_JobDone, _Failed))
            raise

    def _next(self) -> object:
        while True:
            try:
                return pickle.loads(self.events.get(timeout=POLL_SECONDS))
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError("the worker process died") from None

    def abandon(self) -> None:
        """End the worker now, whatever it is reading: the build stops (interrupted,
        or the warehouse cannot be written)."""
        self.abandoned = True
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=5)

    def close(self) -> None:
        if self.process.is_alive():
            self.tasks.put(None)
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
