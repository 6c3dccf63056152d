"""A build on a network filesystem works on a local copy, moved into place when done.

On NFS, Lustre, GPFS, BeeGFS or CIFS, SQLite's WAL index cannot be shared
between hosts and byte-range locks are unreliable (``filesystem.py``). So the
build copies the warehouse to local disk (SQLite's backup API: a consistent
copy whatever is in its journal), builds there as on any local disk, and at
the end writes the copy beside the warehouse and renames it over it: readers
see the old file or the new one, never a half-written one, and a build that
dies leaves the warehouse as it was. The published file uses a rollback
journal, which readers on the network filesystem can read without shared
memory.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from .errors import Problem, WarehouseFileError, from_sqlite
from .signals import deferred

WAL_HEADER_OFFSET = 18  # file format read/write versions: 2 in WAL mode, 1 otherwise


class LocalCopy:
    """The local working copy of the warehouse at ``target``."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.folder = Path(tempfile.mkdtemp(prefix="ctwarehouse-"))
        self.path = self.folder / target.name
        try:
            if target.exists() and target.stat().st_size > 0:
                self._copy_in()
        except BaseException:
            self.discard()
            raise

    def _copy_in(self) -> None:
        try:
            _leave_wal(self.target)
            source = sqlite3.connect(self.target.resolve().as_uri() + "?mode=ro", uri=True)
            copy = sqlite3.connect(self.path)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
        except sqlite3.Error as error:
            raise _translated(error, self.target, "copying it to local disk") from error

    def publish(self) -> None:
        """Put the copy in place of the warehouse, all at once or not at all."""
        with deferred():  # a signal now would leave the copy neither in place nor removed
            self._publish()

    def _publish(self) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode = DELETE")  # folds the WAL into the file
            finally:
                db.close()
            staging = self.target.with_name(f".{self.target.name}.{os.getpid()}.partial")
            try:
                shutil.copyfile(self.path, staging)
                _fsync(staging)
                os.replace(staging, self.target)  # atomic on the server
            finally:
                staging.unlink(missing_ok=True)
            _fsync_folder(self.target.parent)
        except (OSError, sqlite3.Error) as error:
            raise WarehouseFileError(
                f"could not move the local copy into place ({_cause(error)}): the warehouse is as "
                f"it was before this build; what this build loaded is kept in {self.path}",
                self.target, Problem.DISK_FULL if _full(error) else Problem.IO_ERROR) from error
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _leave_wal(target: Path) -> None:
    """Turn a warehouse left in WAL mode (built there before, or elsewhere) to a rollback
    journal, under the build lock: its WAL goes into the file, and no -wal file stays
    beside it that SQLite would later apply to the copy moved into place."""
    with open(target, "rb") as fh:
        header = fh.read(WAL_HEADER_OFFSET + 2)
    if header[WAL_HEADER_OFFSET:] != b"\x02\x02":
        return
    db = sqlite3.connect(target, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = DELETE")
    finally:
        db.close()


def _translated(error: sqlite3.Error, target: Path, doing: str) -> Exception:
    return from_sqlite(error, target, doing=doing) or error


def _full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno == errno.ENOSPC or "full" in str(error)


def _cause(error: BaseException) -> str:
    return "disk full" if _full(error) else str(error)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; some network filesystems cannot sync a folder (the
    rename is then as durable as the server makes it)."""
    try:
        _fsync(folder)
    except OSError:
        pass
