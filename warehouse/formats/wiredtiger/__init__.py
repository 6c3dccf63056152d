"""MongoDB data directories of the WiredTiger engine, read without a server.

``read_wiredtiger_dir(directory)`` lists the collections of a ``--dbpath``
(MongoDB 3.0 to 4.2; 4.4 and later where the format is certain, see
``docs/wiredtiger.md``); ``Collection.records()`` yields every live document of
one collection, in record-id order, from the table's last checkpoint. Nothing
is written; files are read block by block.

Every problem raises ``WarehouseError`` located at the file and byte offset of
the block concerned. A collection whose table is damaged raises when its
records are read; the other collections still read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from warehouse.errors import WarehouseError
from warehouse.formats import Record
from warehouse.formats.bsonfile import MAX_DOCUMENT, MIN_DOCUMENT, decode_document

from . import catalog, journal
from .btree import walk
from .config import FileConfig, file_config

ENGINE = "wiredtiger"
_INT32 = struct.Struct("<i")


def _starts_with(path: Path, prefix: bytes) -> bool:
    """Whether ``path`` is a readable file starting with ``prefix``."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(prefix)) == prefix
    except OSError:
        return False


def is_wiredtiger_dir(directory: Path) -> bool:
    """Whether ``directory`` looks like a WiredTiger ``--dbpath``, by content.

    ``WiredTiger`` starts with ``WiredTiger\\n``, the turtle file starts with its
    version key, and MongoDB's catalog ``_mdb_catalog.wt`` is there.
    """
    directory = Path(directory)
    return (_starts_with(directory / "WiredTiger", b"WiredTiger\n")
            and _starts_with(directory / catalog.TURTLE, b"WiredTiger version")
            and _starts_with(directory / catalog.CATALOG, b""))


@dataclass
class Collection:
    """One collection (or ``system.*`` collection) of a data directory."""

    database: str
    name: str
    path: Path  # the collection's table file
    system: bool  # a system.* collection: metadata, not data
    metadata: dict[str, Any]  # the catalog entry's md: options, indexes
    _config: FileConfig | None = field(default=None, repr=False)
    _problem: str | None = field(default=None, repr=False)

    def records(self, max_document: int = MAX_DOCUMENT) -> Iterator[Record]:
        """Every live document in record-id order.

        ``offset`` is the byte offset in the table file of the block holding
        the document.
        """
        for raw, offset in self.documents(max_document):
            yield self.record(raw, offset)

    def documents(self, max_document: int = MAX_DOCUMENT) -> Iterator[tuple[memoryview, int]]:
        """What ``records`` decodes: each document's BSON bytes (a view of its page,
        not a copy) and the offset of its block."""
        path = str(self.path)
        if not self.path.is_file():  # the catalog names it, the copy lacks it
            raise WarehouseError(f"its table file {self.path.name} is missing")
        if self._config is None:
            raise WarehouseError(self._problem or "no metadata for this table", path=path)
        if (self._config.key_format, self._config.value_format) != ("q", "u"):
            raise WarehouseError(
                f"table formats key={self._config.key_format} value="
                f"{self._config.value_format} are not a collection's (q, u)", path=path)
        with catalog.open_table(self.path, self._config) as file:
            for item in walk(file, catalog.root_of(file, self._config)):
                catalog.record_id(item.key, path, item.offset)
                yield _document_bytes(item.value, max_document, path, item.offset), item.offset

    def record(self, raw: bytes | memoryview, offset: int) -> Record:
        """One document of ``documents``, decoded."""
        return Record(decode_document(raw, str(self.path), offset), None, offset, self.database,
                      self.name)


def _document_bytes(value: memoryview, max_document: int, path: str,
                    offset: int) -> memoryview:
    """A value as one whole BSON document, its length checked against the cell's
    (a view of the page: decoded where it lies, not copied)."""
    size = len(value)
    if size < MIN_DOCUMENT or size > max_document:
        raise WarehouseError(f"value of {size} bytes is not a BSON document (at most "
                             f"{max_document} bytes)", path=path, offset=offset)
    (length,) = _INT32.unpack_from(value)
    if length != size or value[-1] != 0:
        raise WarehouseError(f"BSON document of {length} bytes in a value of {size}",
                             path=path, offset=offset)
    return value


@dataclass
class DataDirectory:
    """What a data directory holds."""

    engine: str
    collections: list[Collection]
    warnings: list[str]


def _collection(directory: Path, entry: catalog.CatalogEntry,
                metadata: dict[str, str]) -> Collection:
    path = directory / f"{entry.ident}.wt"
    text = metadata.get(f"file:{entry.ident}.wt")
    config, problem = None, None
    if text is None:
        problem = f"the metadata has no entry for table {entry.ident}"
    else:
        try:
            config = file_config(text, str(path))
        except WarehouseError as exc:
            problem = exc.message
    return Collection(entry.database, entry.name, path, entry.name.startswith("system."),
                      entry.metadata, config, problem)


def read_wiredtiger_dir(directory: Path) -> DataDirectory:
    """The collections of a WiredTiger data directory, and what to know about the copy."""
    directory = Path(directory)
    if not is_wiredtiger_dir(directory):
        raise WarehouseError("not a WiredTiger data directory (WiredTiger, "
                             "WiredTiger.turtle and _mdb_catalog.wt expected)",
                             path=str(directory))
    turtle = catalog.read_turtle(directory)
    metadata = catalog.read_metadata(directory, turtle)
    entries = catalog.read_catalog(directory, metadata)
    collections = [_collection(directory, entry, metadata) for entry in entries]
    return DataDirectory(ENGINE, collections, journal.unclean_warnings(directory, turtle))
