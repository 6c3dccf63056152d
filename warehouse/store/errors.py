"""The warehouse file's own failures, as the one error type the library raises.

A ``WarehouseFileError`` is a ``WarehouseError`` whose path is the warehouse
(not an input) and whose ``problem`` names the cause, so that the CLI can
give each cause its own exit code. ``from_sqlite`` turns the SQLite errors
that are about the file (disk full, I/O, read-only, locked, damaged) into
one; any other SQLite error is a bug and stays what it is.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum
from pathlib import Path

from ..errors import WarehouseError


class Problem(StrEnum):
    BUSY = "busy"  # another build holds the warehouse and --wait ran out
    NOT_SQLITE = "not-sqlite"  # not an SQLite file, or a damaged one
    NOT_WAREHOUSE = "not-warehouse"  # an SQLite database of something else
    NEWER_SCHEMA = "newer-schema"  # written by a newer version
    READ_ONLY = "read-only"  # read-only file, folder or filesystem; immutable
    FOLDER = "folder"  # the path is a folder
    NO_PARENT = "no-parent"  # the folder it should be in does not exist
    DISK_FULL = "disk-full"
    IO_ERROR = "io-error"


class WarehouseFileError(WarehouseError):
    """A problem with the warehouse file itself; printed as ``warehouse: message``."""

    def __init__(self, message: str, path: str | Path, problem: Problem | str) -> None:
        super().__init__(message, path=str(path), salvageable=False)
        self.problem = Problem(problem)

    def __reduce__(self):  # sent from the worker process like any WarehouseError
        return (type(self), (self.message, self.path, str(self.problem)))


# SQLite's primary result codes (the low byte of an extended code)
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26

# primary code -> (problem, what happened, what to do)
_CAUSES = {
    SQLITE_FULL: (Problem.DISK_FULL, "disk full", "free space"),
    SQLITE_IOERR: (Problem.IO_ERROR, "I/O error", "check the disk (dmesg, df)"),
    SQLITE_CANTOPEN: (Problem.IO_ERROR, "cannot open a file beside it",
                      "check the folder's space and permissions"),
    SQLITE_READONLY: (Problem.READ_ONLY, "became read-only", "make it writable"),
    SQLITE_BUSY: (Problem.BUSY, "locked by another program",
                  "end that program's write (a sqlite3 shell in a transaction?)"),
    SQLITE_LOCKED: (Problem.BUSY, "locked by another program",
                    "end that program's write (a sqlite3 shell in a transaction?)"),
    SQLITE_CORRUPT: (Problem.NOT_SQLITE, "damaged", "run warehouse verify; restore a copy"),
    SQLITE_NOTADB: (Problem.NOT_SQLITE, "damaged", "run warehouse verify; restore a copy"),
}


def primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def from_sqlite(error: sqlite3.Error, warehouse: str | Path, loading: str | None = None,
                doing: str = "opening it") -> WarehouseFileError | None:
    """The file's own failure behind ``error`` (None when it is not one).

    ``loading``: the input file being loaded when it happened (its rows were
    rolled back); without one, what was being done (``doing``), in a
    transaction of its own, so the warehouse stays as it was.
    """
    code = primary_code(error)
    if code not in _CAUSES:
        return None
    problem, cause, advice = _CAUSES[code]
    if problem is Problem.IO_ERROR:
        cause = f"{cause} ({getattr(error, 'sqlite_errorname', error)})"
    if loading is not None:
        message = (f"{cause} while loading {loading}: nothing of it was stored; "
                   f"{advice} and build again")
    else:
        message = f"{cause} while {doing}: the warehouse stays valid; {advice} and build again"
    return WarehouseFileError(message, warehouse, problem)
