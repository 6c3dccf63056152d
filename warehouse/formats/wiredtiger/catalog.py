"""From a data directory to its collections: turtle → metadata → MongoDB catalog.

- ``WiredTiger.turtle`` is text, lines in (key, value) pairs; the value of
  ``file:WiredTiger.wt`` is the metadata table's configuration, with the
  address of its live checkpoint.
- ``WiredTiger.wt``, the metadata table (key and value format ``S``:
  NUL-terminated strings), maps ``file:<ident>.wt`` to each table's
  configuration: checkpoint, allocation size, block compressor, formats.
- ``_mdb_catalog.wt``, MongoDB's catalog (record id → BSON), holds one entry
  ``{ns: "db.coll", ident: "collection-7-123", md: {…}}`` per collection; with
  ``--directoryperdb`` the ident is ``db/collection-7-123``. Index tables
  (``idxIdent``) and ``sizeStorer`` are not collections and are never listed.
  From MongoDB 3.4 to 4.2 the catalog also holds a feature document
  (``isFeatureDoc``), which is not a collection either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from warehouse.errors import WarehouseError
from warehouse.formats.bsonfile import decode_document

from .btree import walk
from .config import FileConfig, file_config
from .pages import Address, BlockFile, checkpoint_root, unpack_int

TURTLE = "WiredTiger.turtle"
METADATA = "WiredTiger.wt"
CATALOG = "_mdb_catalog.wt"
MAX_TURTLE = 1 << 20


def read_turtle(directory: Path) -> dict[str, str]:
    """The turtle file's (key, value) pairs."""
    path = directory / TURTLE
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_TURTLE + 1)
    except OSError as exc:
        raise WarehouseError(f"cannot read the turtle file: {exc.strerror}",
                             path=str(path)) from exc
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise WarehouseError(f"turtle file is not text: {exc}", path=str(path),
                             offset=exc.start) from exc
    if lines and lines[-1] == "":
        lines.pop()
    if len(raw) > MAX_TURTLE or len(lines) % 2 or "file:" + METADATA not in lines[::2]:
        raise WarehouseError("not a WiredTiger turtle file (key and value lines, with "
                             "file:WiredTiger.wt)", path=str(path))
    return dict(zip(lines[::2], lines[1::2]))


def open_table(path: Path, config: FileConfig) -> BlockFile:
    """A table's file, ready to walk from ``config.checkpoint``."""
    if config.encryption:
        raise WarehouseError(f"encrypted table ({config.encryption}): not supported",
                             path=str(path))
    return BlockFile(str(path), config.allocation_size, config.compressor)


def root_of(file: BlockFile, config: FileConfig) -> Address | None:
    """The root address of a table's live checkpoint (None: an empty table)."""
    if config.checkpoint is None:
        return None
    try:
        return checkpoint_root(config.checkpoint, file.allocation_size)
    except Exception as exc:  # ValueError, IndexError or a truncated integer
        raise WarehouseError(f"bad checkpoint address {config.checkpoint.hex()}: {exc}",
                             path=file.path) from exc


def read_metadata(directory: Path, turtle: dict[str, str]) -> dict[str, str]:
    """Every entry of the metadata table: URI → configuration string."""
    path = directory / METADATA
    config = file_config(turtle["file:" + METADATA], str(directory / TURTLE))
    entries: dict[str, str] = {}
    with open_table(path, config) as file:
        for item in walk(file, root_of(file, config)):
            key, value = bytes(item.key), bytes(item.value)
            if not key.endswith(b"\0") or not value.endswith(b"\0"):
                raise WarehouseError("metadata entry is not a NUL-terminated string",
                                     path=str(path), offset=item.offset)
            try:
                entries[key[:-1].decode("utf-8")] = value[:-1].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise WarehouseError(f"metadata entry is not UTF-8: {exc}", path=str(path),
                                     offset=item.offset) from exc
    return entries


@dataclass(frozen=True)
class CatalogEntry:
    """One collection of MongoDB's catalog."""

    database: str
    name: str
    ident: str
    metadata: dict[str, Any]


def _namespace(entry: dict[str, Any]) -> str | None:
    md = entry.get("md")
    for candidate in (entry.get("ns"), md.get("ns") if isinstance(md, dict) else None):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _entry(document: dict[str, Any], path: str, offset: int) -> CatalogEntry | None:
    """A catalog document as a collection; None for what is not one."""
    if document.get("isFeatureDoc") or "ident" not in document:
        return None
    ident, ns, md = document["ident"], _namespace(document), document.get("md", {})
    if not isinstance(ident, str) or ns is None or "." not in ns or not isinstance(md, dict):
        raise WarehouseError(f"catalog entry without a usable ns, ident or md: "
                             f"{sorted(document)}", path=path, offset=offset)
    parts = PurePosixPath(ident).parts
    if not parts or ident.startswith("/") or ".." in parts or "\0" in ident or "\\" in ident:
        raise WarehouseError(f"catalog ident {ident!r} is not a relative table name",
                             path=path, offset=offset)
    database, _, name = ns.partition(".")
    return CatalogEntry(database, name, ident, md)


def read_catalog(directory: Path, metadata: dict[str, str]) -> list[CatalogEntry]:
    """The collections of ``_mdb_catalog.wt``, in record-id order."""
    path = directory / CATALOG
    text = metadata.get("file:" + CATALOG)
    if text is None:
        raise WarehouseError("the metadata has no entry for _mdb_catalog.wt", path=str(path))
    config = file_config(text, str(directory / METADATA))
    entries = []
    with open_table(path, config) as file:
        for item in walk(file, root_of(file, config)):
            record_id(item.key, str(path), item.offset)
            document = decode_document(bytes(item.value), str(path), item.offset)
            entry = _entry(document, str(path), item.offset)
            if entry is not None:
                entries.append(entry)
    return entries


def record_id(key: bytes, path: str, offset: int) -> int:
    """The record id a key holds (format ``q``: one packed signed integer, nothing more)."""
    try:
        value, end = unpack_int(key, 0)
    except Exception as exc:  # ValueError, IndexError or a truncated integer
        raise WarehouseError(f"bad record id key {key.hex()}: {exc}", path=path,
                             offset=offset) from exc
    if end != len(key):
        raise WarehouseError(f"bad record id key {key.hex()}: trailing bytes", path=path,
                             offset=offset)
    return value
