"""Finding the databases of a data directory, by content, and telling an unclean copy.

A database is a ``<db>.ns`` beside ``<db>.0``, in the directory itself or,
with ``--directoryperdb``, in a sub-folder named after it. The name alone
proves nothing: ``<db>.0`` must start with a 4.5 or 4.6 header. A sub-folder
named after its database is also what a plain dbpath of that name looks like
(``raw/eq3/eq3.ns`` beside ``raw/node9/…``): it belongs to its parent only
when the parent is a dbpath itself (its own lock file, journal or
``storage.bson``, or nothing but databases and server folders).
"""

from __future__ import annotations

from pathlib import Path

from .layout import FILE_HEADER_SIZE, parse_file_header

LOCK_FILE = "mongod.lock"
JOURNAL = "journal"
# only a dbpath holds these at its top; with the folders a server makes beside databases
SERVER_MARKS = (LOCK_FILE, JOURNAL, "storage.bson")
SERVER_NAMES = frozenset({*SERVER_MARKS, "diagnostic.data", "_tmp", "moveChunk"})


def _database_in(folder: Path, ns_file: Path) -> str | None:
    """The database a ``.ns`` file names, when its ``.0`` has a supported header."""
    database = ns_file.name[: -len(".ns")]
    if not database or "." in database or not ns_file.is_file():
        return None
    try:
        with open(folder / f"{database}.0", "rb") as file:
            head = file.read(FILE_HEADER_SIZE)
    except OSError:
        return None
    if len(head) < FILE_HEADER_SIZE or not parse_file_header(head).supported:
        return None
    return database


def find_databases(directory: Path) -> list[tuple[str, Path]]:
    """``(database, folder)`` of every database of a data directory, by name."""
    found: list[tuple[str, Path]] = []
    per_db: list[tuple[str, Path]] = []  # --directoryperdb
    others = False  # anything a dbpath would not hold
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return found
    for entry in entries:
        database = None
        if entry.name.endswith(".ns"):
            database = _database_in(directory, entry)
            if database is not None:
                found.append((database, directory))
        elif entry.is_dir() and not (entry / LOCK_FILE).exists():  # else its own dbpath
            database = _database_in(entry, entry / f"{entry.name}.ns")
            if database is not None:
                per_db.append((database, entry))
        if database is None and entry.name not in SERVER_NAMES and entry.name[:1] != ".":
            others = True
    if found or not others or any((directory / mark).exists() for mark in SERVER_MARKS):
        found += per_db
    return sorted(found)


def unclean_warning(directory: Path) -> str | None:
    """One line saying the copy was not taken after a clean shutdown, and what that means."""
    reasons = []
    try:
        lock_size = (directory / LOCK_FILE).stat().st_size
    except OSError:
        lock_size = 0
    if lock_size:
        reasons.append(f"{LOCK_FILE} is not empty ({lock_size} bytes)")
    try:
        journal = sorted(p.name for p in (directory / JOURNAL).iterdir()
                         if p.name.startswith("j._"))
    except OSError:
        journal = []
    if journal:
        reasons.append(f"{JOURNAL}/ holds {', '.join(journal)}")
    if not reasons:
        return None
    return (f"unclean copy ({'; '.join(reasons)}): taken from a running or crashed server."
            " The data files hold what the server last flushed, without the journal's later"
            " writes: recent writes may be missing and a document may be torn (reported as"
            " an error at its offset)")
