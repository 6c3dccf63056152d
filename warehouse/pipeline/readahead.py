"""Reading ahead in a process of its own: a collection's documents through a pipe.

Reading a WiredTiger table costs CPU before any document is decoded: block
checksums, decompression, cells. In the worker, which is the slower side of a
build, that work is moved to a child forked for the collection: it reads the
documents and writes each one's BSON bytes, with the offset that locates it,
to a pipe; the worker decodes and maps them as they come, as it does a dump's.
The pipe is bounded, so memory stays flat; an error of the child's reading
comes through it and is raised here, where reading in place would raise it.
Ending early (an error of the worker's own, a signal) kills the child.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import signal
import struct
import traceback
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from ..errors import WarehouseError
from ..formats.bsonfile import read_exact

# Each frame: its kind, the document's offset, the length of what follows.
_FRAME = struct.Struct("<BqI")
_DOCUMENT, _ERROR, _END = 0, 1, 2
PIPE_BYTES = 1 << 20  # the pipe's capacity where the system allows: fewer switches
_BUFFER = 1 << 20


def can_read_ahead() -> bool:
    return hasattr(os, "fork")


def read_ahead(documents: Callable[[], Iterable[tuple[Any, int]]],
               path: str) -> Iterator[tuple[bytes, int]]:
    """What ``documents()`` yields ((BSON bytes, offset) pairs), read in a child process."""
    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except OSError:
        pass  # a smaller pipe works too
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its work is seen through the pipe
        os.close(read_end)
        _child(write_end, documents)
    os.close(write_end)
    try:
        with open(read_end, "rb", buffering=_BUFFER) as stream:
            yield from _frames(stream, path)
    finally:
        _end(pid)


def _frames(stream: BinaryIO, path: str) -> Iterator[tuple[bytes, int]]:
    while True:
        head = read_exact(stream, _FRAME.size)
        if len(head) != _FRAME.size:
            raise WarehouseError("the process reading ahead ended before the collection did",
                                 path=path)
        kind, offset, length = _FRAME.unpack(head)
        payload = read_exact(stream, length)
        if len(payload) != length:
            raise WarehouseError("the process reading ahead ended inside a document",
                                 path=path, offset=offset)
        if kind == _DOCUMENT:
            yield payload, offset
        elif kind == _ERROR:
            raise pickle.loads(payload)
        else:
            return


def _child(write_end: int, documents: Callable[[], Iterable[tuple[Any, int]]]) -> None:
    """Write every document, then the end (or the error that stopped the reading)."""
    status = 0
    try:
        # the worker's handlers are not this process's: SIGTERM ends it at once
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _yield_to_others()
        with open(write_end, "wb", buffering=_BUFFER) as out:
            try:
                for raw, offset in documents():
                    out.write(_FRAME.pack(_DOCUMENT, offset, len(raw)))
                    out.write(raw)
                out.write(_FRAME.pack(_END, 0, 0))
            except Exception as error:  # raised in the worker, as reading there would
                if not isinstance(error, WarehouseError):
                    error = RuntimeError(f"{error!r}\n{traceback.format_exc()}")
                data = pickle.dumps(error)
                out.write(_FRAME.pack(_ERROR, 0, len(data)))
                out.write(data)
    except BrokenPipeError:
        pass  # the worker stopped reading: nothing more to do
    except BaseException:  # never return into the worker's code
        status = 1
    finally:
        os._exit(status)


def _yield_to_others() -> None:
    """Run only on a core the build leaves idle: woken by the pipe, a process that has
    used little CPU would otherwise take the core of the busy worker it is to relieve
    (when the worker waits on the pipe, a core is idle, so the reading goes on)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        try:
            os.nice(19)
        except OSError:
            pass


def _end(pid: int) -> None:
    """Reap the child; still running (the reading stopped early), it is killed first."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass
