"""Is this path a warehouse, and may this process use it? Asked before anything is written.

A warehouse is marked with ``PRAGMA application_id`` (``APPLICATION_ID``,
"ctWH"); a file made before the mark, with the warehouse's tables, is one too
and gets marked by its next build. Everything here only reads: a file that
is not a warehouse is left exactly as it was (bytes and modification time).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, WarehouseFileError, from_sqlite, primary_code, SQLITE_CANTOPEN

APPLICATION_ID = 0x63745748  # "ctWH"
SQLITE_MAGIC = b"SQLite format 3\x00"
# Tables every warehouse has had since its first schema: how an unmarked one is known.
CORE_TABLES = frozenset({"source", "run", "parameter", "census", "sample"})

_WRITE_DENIED = {
    errno.EROFS: "on a read-only filesystem",
    errno.EPERM: "immutable or append-only, see lsattr",
    errno.EACCES: "no permission to write it",
}


@dataclass(frozen=True)
class Identity:
    application_id: int
    version: int  # PRAGMA user_version
    tables: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.tables and self.version == 0 and self.application_id == 0

    @property
    def marked(self) -> bool:
        return self.application_id == APPLICATION_ID


def check_for_building(path: Path, known_version: int) -> Identity | None:
    """Raise unless a build may write to ``path``; its identity, None when it is new."""
    check_path(path)
    parent = path.absolute().parent
    if not path.exists():
        _check_folder_writable(path, parent)
        return None
    _check_header(path)
    denied = _write_denied(path)
    if denied:
        raise WarehouseFileError(f"the warehouse is read-only ({denied}): nothing was changed",
                                 path, Problem.READ_ONLY)
    _check_folder_writable(path, parent)
    identity = read_identity(path)
    check_identity(path, identity, known_version)
    return identity


def check_path(path: Path) -> None:
    """A folder, something else than a file, or a file in a folder that does not
    exist: raise."""
    if path.is_dir():
        raise WarehouseFileError("is a folder; give the warehouse file, e.g. "
                                 f"{path / 'warehouse.sqlite'}", path, Problem.FOLDER)
    if path.exists() and not path.is_file():  # a device, a pipe: nothing SQLite should open
        raise WarehouseFileError("not a warehouse: not a regular file", path, Problem.NOT_SQLITE)
    parent = path.absolute().parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise WarehouseFileError(
            f"the folder {parent} {what}: create it first (a build creates the warehouse "
            "file, never its folder)", path, Problem.NO_PARENT)


def check_identity(path: Path, identity: Identity, known_version: int,
                   new_ok: bool = True) -> None:
    """Raise unless ``identity`` is a warehouse this version can build on
    (``new_ok``: or an empty SQLite file, which a build makes one)."""
    if not (identity.marked or new_ok and identity.empty or _unmarked_warehouse(identity)):
        if identity.application_id not in (0, APPLICATION_ID):
            what = ("an SQLite database of another application (application_id "
                    f"{_application(identity.application_id)})")
        else:
            tables = ", ".join(sorted(identity.tables)[:6]) or "none"
            what = f"an SQLite database without the warehouse's tables (it has: {tables})"
        raise WarehouseFileError(f"not a warehouse: {what}; nothing was changed", path,
                                 Problem.NOT_WAREHOUSE)
    if identity.version > known_version:
        raise WarehouseFileError(
            f"written by a newer ctwarehouse (schema {identity.version}; this one knows up to "
            f"{known_version}): nothing was changed; build with the newer version",
            path, Problem.NEWER_SCHEMA)


def _application(application_id: int) -> str:
    """The id in hex, and as the four letters most applications choose ('GPKG')."""
    letters = (application_id & 0xFFFFFFFF).to_bytes(4, "big")
    shown = f"{application_id:#x}"
    if all(32 < byte < 127 for byte in letters):
        shown += f" {letters.decode('ascii')!r}"
    return shown


def _unmarked_warehouse(identity: Identity) -> bool:
    return identity.application_id == 0 and identity.version >= 1 and CORE_TABLES <= identity.tables


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as error:
        raise WarehouseFileError(f"cannot read it ({error.strerror}): nothing was changed",
                                 path, Problem.READ_ONLY) from None
    # an empty file is an empty database to SQLite (and `touch w.sqlite` makes one)
    if head and not head.startswith(SQLITE_MAGIC):
        raise WarehouseFileError(f"not a warehouse: not an SQLite file ({_looks_like(head)}); "
                                 "nothing was changed", path, Problem.NOT_SQLITE)


def _looks_like(head: bytes) -> str:
    first = head.split(b"\n", 1)[0][:40]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return "it begins with binary bytes " + head[:8].hex(" ")
    if text.isprintable():
        return f"it begins with {text!r}"
    return "it begins with " + head[:8].hex(" ")


def read_identity(path: Path) -> Identity:
    """Application id, schema version and tables, read without writing anything."""
    db = connect_read_only(path)
    try:
        return identity_of(db)
    except sqlite3.DatabaseError as error:
        raise _unreadable(error, path) from None
    finally:
        db.close()


def identity_of(db: sqlite3.Connection) -> Identity:
    return Identity(
        db.execute("PRAGMA application_id").fetchone()[0],
        db.execute("PRAGMA user_version").fetchone()[0],
        frozenset(name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")))


def open_for_reading(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to the warehouse at ``path``, once it is known to be one.

    FileNotFoundError when there is nothing at ``path``; a schema newer than
    this version's is read as it is (reading writes nothing).
    """
    path = Path(path)
    check_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path}")
    _check_header(path)
    db = connect_read_only(path)
    try:
        identity = identity_of(db)
        check_identity(path, identity, known_version=identity.version, new_ok=False)
    except sqlite3.DatabaseError as error:
        db.close()
        raise _unreadable(error, path) from None
    except BaseException:
        db.close()
        raise
    return db


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that never writes the file (``mode=ro``).

    SQLite needs the ``-shm`` file beside a WAL database even to read it; on
    a read-only filesystem it cannot create one, and nobody can write there
    either, so the file is opened as immutable.
    """
    uri = path.resolve().as_uri()
    db = sqlite3.connect(uri + "?mode=ro", uri=True)
    try:
        db.execute("PRAGMA schema_version").fetchone()  # connect is lazy: open the file now
    except sqlite3.OperationalError as error:
        db.close()
        if primary_code(error) == SQLITE_CANTOPEN and _read_only_filesystem(path):
            return sqlite3.connect(uri + "?immutable=1", uri=True)
        raise _unreadable(error, path) from None
    except sqlite3.DatabaseError as error:
        db.close()
        raise _unreadable(error, path) from None
    return db


def _unreadable(error: sqlite3.Error, path: Path) -> WarehouseFileError:
    translated = from_sqlite(error, path, doing="reading it")
    if translated is not None and translated.problem is not Problem.NOT_SQLITE:
        return translated
    return WarehouseFileError(f"not a warehouse: a damaged or encrypted SQLite file ({error}); "
                              "nothing was changed", path, Problem.NOT_SQLITE)


def _write_denied(path: Path) -> str | None:
    """Why this process may not write ``path`` (None: it may). Opening for
    writing changes neither the file's bytes nor its modification time."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as error:
        return _WRITE_DENIED.get(error.errno or 0, error.strerror)
    os.close(fd)
    return None


def _check_folder_writable(path: Path, parent: Path) -> None:
    # SQLite creates the -wal and -shm files beside the warehouse, the build its lock file
    if os.access(parent, os.W_OK | os.X_OK):
        return
    reason = ("on a read-only filesystem" if _read_only_filesystem(parent)
              else "no permission to create files in it")
    raise WarehouseFileError(f"cannot write in the folder {parent} ({reason}): nothing was changed",
                             path, Problem.READ_ONLY)


def _read_only_filesystem(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
