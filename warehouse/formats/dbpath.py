"""MongoDB data directories (a server's ``--dbpath``), whichever engine wrote them.

A directory is recognised by its content: an MMAPv1 database (``<db>.ns``
beside a ``<db>.0`` with a 4.5 or 4.6 header) or a WiredTiger one
(``WiredTiger``, ``WiredTiger.turtle``, ``_mdb_catalog.wt``). Both readers
list collections the same way (``database``, ``name``, ``path``, ``system``,
``metadata``, ``records()``); this module picks the reader and says which
files a collection's content lives in (its identity in the ledger).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import WarehouseError
from .mmapv1 import is_mmapv1_dir, read_mmapv1_dir
from .wiredtiger import is_wiredtiger_dir, read_wiredtiger_dir

# Names only a data directory holds: inside a container such files are copied
# to a temporary folder (the readers need to read by position).
_DATA_NAMES = frozenset({"WiredTiger", "WiredTiger.turtle", "WiredTiger.lock", "WiredTiger.wt",
                         "WiredTigerLAS.wt", "WiredTigerHS.wt", "_mdb_catalog.wt",
                         "sizeStorer.wt", "storage.bson", "mongod.lock"})
_DATA_FOLDERS = frozenset({"journal", "diagnostic.data", "_tmp"})
_NUMBERED = re.compile(r"\.\d+$")  # MMAPv1 data files: <db>.0, <db>.1, …


def engine_of(directory: Path) -> str | None:
    """"wiredtiger" or "mmapv1" for a data directory, else None."""
    if is_wiredtiger_dir(directory):
        return "wiredtiger"
    if is_mmapv1_dir(directory):
        return "mmapv1"
    return None


def read_data_directory(directory: Path) -> Any:
    """The directory's ``DataDirectory`` (engine, collections, warnings)."""
    engine = engine_of(directory)
    if engine == "wiredtiger":
        return read_wiredtiger_dir(directory)
    if engine == "mmapv1":
        return read_mmapv1_dir(directory)
    raise WarehouseError("not a MongoDB data directory", path=str(directory))


def content_files(collection: Any) -> list[Path]:
    """The files a collection's documents are read from: a WiredTiger table, or an
    MMAPv1 database's namespace and data files (shared by its collections)."""
    return [collection.path, *getattr(collection, "files", [])]


def looks_like_data_file(name: str) -> bool:
    """Whether a member of a container is probably a data directory's file."""
    path = PurePosixPath(name)
    return (path.name in _DATA_NAMES or path.name.startswith("WiredTiger")
            or path.suffix in (".wt", ".ns")
            or bool(_NUMBERED.search(path.name))
            or not _DATA_FOLDERS.isdisjoint(path.parts[:-1]))
