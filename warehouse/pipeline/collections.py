"""The collections of a MongoDB data directory: their identity, and those that need no reading.

Shared by the loose data directories (``datadirs``) and those met inside a
container (``unpack``, ``spooled``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable

from ..errors import WarehouseError
from ..formats.dbpath import content_files
from ..formats.extjson import relaxed_json
from ..store import Warehouse
from .events import MemberDone

SYSTEM_KEPT = 1 << 20  # characters of a system.* collection's documents kept in the ledger
# The server's own databases (the oplog, which repeats every write, sessions, sharding):
# mongodump leaves them out; their collections are metadata like system.* ones.
SERVER_DATABASES = frozenset({"local", "config"})
# Collections holding secrets (password hashes, cluster signing keys): never copied.
SECRETS = frozenset({"system.users", "system.keys"})


def file_hashes(files: Iterable[Path]) -> dict[Path, tuple[int, str]]:
    """(size, sha256) of each file, read once."""
    found = {}
    for path in files:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256")
        found[path] = (path.stat().st_size, digest.hexdigest())
    return found


def combined(parts: Iterable[tuple[str, tuple[int, str]]], extra: str = "") -> tuple[int, str]:
    """One identity for several files: their sizes summed, a sha256 of their names and hashes."""
    digest = hashlib.sha256(extra.encode())
    size = 0
    for name, (file_size, sha256) in sorted(parts):
        digest.update(f"{name}\0{file_size}\0{sha256}\n".encode())
        size += file_size
    return size, digest.hexdigest()


def collection_identity(directory: Path, collection: Any,
                        hashes: dict[Path, tuple[int, str]]) -> tuple[int, str]:
    """The identity of a collection's content: that of the files it is read from. A file
    missing (a table the catalog names) matches nothing: reading it says what is wrong."""
    files = content_files(collection)
    if len(files) == 1 and files[0] in hashes:  # a WiredTiger table: the file's own identity
        return hashes[files[0]]
    size, sha256 = combined(((str(p.relative_to(directory)), hashes.get(p, (0, "missing")))
                             for p in files), f"{collection.database}.{collection.name}")
    # an MMAPv1 database's files hold all its collections: the size is the collection's own
    return getattr(collection, "size", size), sha256


def system_documents(collection: Any, max_document: int) -> str:
    """A system.* collection's documents as relaxed Extended JSON lines (bounded); of a
    collection of credentials, only how many documents were left out."""
    if collection.name in SECRETS:
        count = sum(1 for _ in collection.records(max_document))
        return f"{count} document(s) left out: they hold credentials"
    lines, size = [], 0
    for record in collection.records(max_document):
        line = relaxed_json(record.document)
        size += len(line)
        if size > SYSTEM_KEPT:
            lines.append("…")
            break
        lines.append(line)
    return "\n".join(lines)


def settled(warehouse: Warehouse, directory: tuple[int, str] | None, collection: Any, key: str,
            display: str, identity: tuple[int, str], max_document: int) -> MemberDone | None:
    """What becomes of a collection that needs no reading, or None when it must be read:
    a system.* collection, or one of the server's own databases, is metadata; one loaded
    before, from this same directory or with the same content from elsewhere, is not
    loaded again."""
    if collection.system or collection.database in SERVER_DATABASES:
        try:
            text = system_documents(collection, max_document)
        except WarehouseError as error:
            text = f"unreadable: {error}"
        return MemberDone(display, key, "metadata", text, None, identity)
    if warehouse.known_member(directory, key):
        return MemberDone(display, key, "skipped", "already loaded from this same data directory")
    other = warehouse.loaded_source(identity[1], identity[0])
    if other is not None:
        return MemberDone(display, key, "known", f"same content as {other[1]}, already loaded",
                          None, identity, int(other[0]))
    return None


def files_note(directory: Path, collection: Any) -> str:
    """The files a collection's documents come from, for the ledger."""
    return "read from " + ", ".join(str(Path(path).relative_to(directory))
                                    for path in content_files(collection))
