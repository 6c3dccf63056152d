"""MongoDB MMAPv1 data directories (MongoDB 2.0 to 3.0), read without a server.

``read_mmapv1_dir(directory)`` lists the collections of every database found
(``<db>.ns`` + ``<db>.0``, ``--directoryperdb`` and ``--smallfiles`` too);
each ``Collection.records()`` yields its live documents, following the
collection's extent and record chains across data files. Damage raises
``WarehouseError`` located in the file that holds it, when that collection is
read; the other collections still read. See docs/mmapv1.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from warehouse.errors import WarehouseError
from warehouse.formats import Record
from warehouse.formats.bsonfile import MAX_DOCUMENT

from .datafiles import DataFiles, list_data_files
from .directory import find_databases, unclean_warning
from .layout import USE_POWER_OF_2_SIZES
from .namespaces import Namespace, is_collection, read_namespaces
from .walk import collection_records

__all__ = ["Collection", "DataDirectory", "is_mmapv1_dir", "read_mmapv1_dir"]

ENGINE = "mmapv1"
NO_LIMIT = 0x7FFFFFFF  # maxDocsInCapped when a capped collection has no max


@dataclass
class Collection:
    """One collection of a data directory: what is known about it, and its documents."""

    database: str
    name: str
    path: Path  # the namespace file <db>.ns
    files: list[Path]  # <db>.0, <db>.1, ...: where its documents may live
    system: bool  # system.*: metadata, not data
    metadata: dict[str, Any]
    _namespace: Namespace = field(repr=False, compare=False)
    check_count: bool = True  # off in an unclean copy: its counters may lag its records

    @property
    def size(self) -> int:
        """Bytes of its records (the namespace's datasize): the files are the database's."""
        return max(0, self._namespace.details.datasize)

    def records(self, max_document: int = MAX_DOCUMENT) -> Iterator[Record]:
        """The live documents in chain order; ``offset`` is the BSON's in its data file."""
        files = DataFiles(self.files, self.database)
        try:
            yield from collection_records(self._namespace, files, self.database, self.name,
                                          max_document, self.check_count)
        finally:
            files.close()


@dataclass
class DataDirectory:
    engine: str
    collections: list[Collection]
    warnings: list[str] = field(default_factory=list)


def is_mmapv1_dir(directory: Path) -> bool:
    """Whether a folder holds an MMAPv1 database (by the content of ``<db>.0``)."""
    return Path(directory).is_dir() and bool(find_databases(Path(directory)))


def _metadata(ns: Namespace) -> dict[str, Any]:
    """What the namespace's details say (``options`` come later, from system.namespaces)."""
    d = ns.details
    metadata: dict[str, Any] = {
        "nrecords": d.nrecords, "datasize": d.datasize, "capped": d.capped,
        "padding_factor": d.padding_factor,
        "power_of_2_sizes": bool(d.user_flags & USE_POWER_OF_2_SIZES), "indexes": d.n_indexes}
    if d.capped:
        metadata["max_docs"] = None if d.max_docs_in_capped == NO_LIMIT else d.max_docs_in_capped
    return metadata


def _options(catalog: Collection | None, warnings: list[str]) -> dict[str, dict[str, Any]]:
    """``name -> options`` from ``system.namespaces``; damage there is only a warning."""
    found: dict[str, dict[str, Any]] = {}
    if catalog is None:
        return found
    try:
        for record in catalog.records():
            name, options = record.document.get("name"), record.document.get("options")
            if isinstance(name, str) and isinstance(options, dict):
                found[name] = options
    except WarehouseError as exc:
        warnings.append(f"collection options incomplete, system.namespaces is unreadable: {exc}")
    return found


def _database(database: str, folder: Path, warnings: list[str]) -> list[Collection]:
    ns_path = folder / f"{database}.ns"
    try:
        namespaces, skipped = read_namespaces(ns_path)
        files = list_data_files(folder, database)
    except (WarehouseError, OSError) as exc:
        warnings.append(f"database {database} skipped: {exc}")
        return []
    warnings.extend(skipped)
    prefix = database + "."
    collections = []
    for ns in namespaces:
        if not ns.name.startswith(prefix):
            warnings.append(f"{ns_path}@{ns.node_offset}: namespace {ns.name!r} skipped:"
                            f" it is not in database {database}")
            continue
        if not is_collection(ns.name):
            continue
        name = ns.name[len(prefix):]
        collections.append(Collection(database, name, ns_path, files, name.startswith("system."),
                                      _metadata(ns), ns))
    catalog = next((c for c in collections if c.name == "system.namespaces"), None)
    options = _options(catalog, warnings)
    for collection in collections:
        found = options.get(f"{prefix}{collection.name}")
        if found is not None:
            collection.metadata["options"] = found
    return sorted(collections, key=lambda c: c.name)


def read_mmapv1_dir(directory: Path) -> DataDirectory:
    """The collections of every database of an MMAPv1 data directory.

    Nothing is decoded yet but ``system.namespaces`` (for collection options).
    Raises ``WarehouseError`` only when the folder holds no MMAPv1 database.
    """
    directory = Path(directory)
    databases = find_databases(directory) if directory.is_dir() else []
    if not databases:
        raise WarehouseError("not a MongoDB MMAPv1 data directory: no <db>.ns beside a <db>.0"
                             " with a 4.5 or 4.6 header", path=str(directory))
    warnings = []
    unclean = unclean_warning(directory)
    if unclean is not None:
        warnings.append(unclean)
    collections = []
    for database, folder in databases:
        collections.extend(_database(database, folder, warnings))
    for collection in collections:
        collection.check_count = unclean is None
    return DataDirectory(ENGINE, collections, warnings)
