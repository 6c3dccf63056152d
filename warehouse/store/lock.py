"""One build at a time on a warehouse: a lock file beside it.

``w.sqlite.lock`` says who holds the warehouse (pid, host, since when), for
the line a waiting build prints; the lock itself is ``flock(2)`` on that
file, which the kernel drops when its holder dies, so a crashed build never
blocks the next one. The holder removes the file when done; a waiter that
locked a file removed meanwhile starts again on the new one (checked by
inode), so two builds never both hold it.

Not the warehouse file itself: SQLite holds POSIX locks on it, and any
other lock a process takes on that file (then closes) would drop SQLite's.
Readers take no part in this: they read through SQLite as ever.

On NFS, Linux carries flock as a lock of the whole file through the NFS
lock manager, so it holds between hosts; it is then a per-process lock, which
is all a build needs. Where the filesystem refuses flock (a Lustre mount
without ``-o flock``, NFS mounted with ``nolock``), creating the lock file is
the lock: a holder on this host whose process is gone is stale and replaced;
one on another host is waited for, and the message says how to remove it if
that build is gone.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .errors import Problem, WarehouseFileError
from .signals import deferred

POLL_SECONDS = 0.2
_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}

Notify = Callable[[str], None]
_AGAIN: dict = {"again": True}  # the lock file changed under us: try again at once

# Locks held by this process, closed in a forked child (the worker process):
# the child's copy of the descriptor would otherwise keep the lock alive
# after this process dies.
_HELD: set["BuildLock"] = set()


def _forget_in_child() -> None:
    for lock in list(_HELD):
        if lock.fd is not None:
            os.close(lock.fd)  # the parent's lock stays: it shares the open file
        lock.fd = None
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


class BuildLock:
    """The build lock of the warehouse at ``warehouse``."""

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = warehouse
        self.path = lock_path(warehouse)
        self.fd: int | None = None

    def acquire(self, wait: float | None = None, notify: Notify | None = None) -> None:
        """Hold the lock, waiting at most ``wait`` seconds (None: as long as it takes)."""
        deadline = None if wait is None else time.monotonic() + wait
        told: dict | None = None
        while True:
            try:
                with deferred():  # the descriptor is held or closed, never lost
                    holder = self._try()
            except OSError as error:
                raise self._unusable(error) from error
            if holder is None:
                return
            if holder is _AGAIN:
                continue
            if holder.get("pid") and holder != told and notify is not None:
                notify(f"{self.warehouse}: waiting for {describe(holder)} to finish")
                told = holder
            if deadline is not None and time.monotonic() >= deadline:
                raise self._busy(holder, wait or 0.0)
            time.sleep(POLL_SECONDS)

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            # removed while still locked: a waiter that then gets the lock of
            # the removed file sees it is gone and locks the next one
            if _same_file(self.fd, self.path):
                self.path.unlink()
        except OSError:
            pass  # a lock file left behind blocks nobody: flock is gone with the descriptor
        os.close(self.fd)
        self.fd = None
        _HELD.discard(self)

    def _try(self) -> dict | None:
        """Take the lock if free (None), or say who holds it."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            created = True
        except FileExistsError:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                return _AGAIN  # released meanwhile
            created = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            return holder or {"pid": None}
        except OSError as error:
            if error.errno not in _NO_FLOCK:
                os.close(fd)
                raise
            return self._without_flock(fd, created)
        if not _same_file(fd, self.path):
            os.close(fd)
            return _AGAIN
        self._hold(fd)
        return None

    def _without_flock(self, fd: int, created: bool) -> dict | None:
        """The filesystem has no flock: the file's existence is the lock."""
        if created:
            self._hold(fd)
            return None
        holder = _read(fd)
        os.close(fd)
        if holder.get("host") == socket.gethostname() and not _alive(holder.get("pid")):
            self.path.unlink(missing_ok=True)  # its build is gone: stale
            return _AGAIN
        return {**holder, "stale_hint": True}

    def _hold(self, fd: int) -> None:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder_info()).encode() + b"\n")
        self.fd = fd
        _HELD.add(self)

    def _unusable(self, error: OSError) -> WarehouseFileError:
        denied = error.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
        return WarehouseFileError(
            f"cannot use its lock file {self.path} ({error.strerror}): nothing was changed",
            self.warehouse, Problem.READ_ONLY if denied else Problem.IO_ERROR)

    def _busy(self, holder: dict, wait: float) -> WarehouseFileError:
        message = (f"still held by {describe(holder)} after {wait:g} s of waiting: "
                   "nothing was loaded")
        if holder.get("stale_hint"):
            message += f"; if that build is gone, remove {self.path}"
        return WarehouseFileError(message, self.warehouse, Problem.BUSY)


def holder_info() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")}


def describe(holder: dict) -> str:
    if not holder.get("pid"):
        return "another build"
    return (f"the build of pid {holder['pid']} on {holder.get('host', '?')}, "
            f"running since {holder.get('since', '?')}")


def _read(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096) or b"{}")
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}  # being written at this moment: known on the next try


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
