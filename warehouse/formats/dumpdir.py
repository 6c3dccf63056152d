"""Helpers for ``mongodump --out`` directories.

Layout: ``dump/<db>/<coll>.bson`` with ``<coll>.metadata.json`` beside it
(``--gzip`` adds ``.gz`` to each file), and, with newer tools, a top-level
``prelude.json``. Odd collection names are percent-escaped in file names
(``caf%C3%A9s.bson`` holds collection ``cafés``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Protocol
from urllib.parse import unquote

from bson import json_util
from bson.codec_options import DatetimeConversion
from bson.json_util import JSONOptions

from warehouse.errors import WarehouseError
from warehouse.sources.compression import DECOMPRESSION_ERRORS, open_source

MAX_METADATA = 64 * 1024 * 1024

# Extended JSON, legacy or canonical; dates kept as milliseconds like in BSON.
JSON_OPTIONS = JSONOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)

# A dump folder compressed after the fact (``zstd -r dump/``) keeps its layout;
# mongodump itself only ever adds ``.gz``.
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")


def strip_compression(name: str) -> str:
    """The file name without a compression suffix."""
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_companion(path: str | os.PathLike) -> bool:
    """Whether a file describes a dump rather than holding data.

    ``*.metadata.json`` and ``prelude.json``, plain or compressed.
    """
    name = strip_compression(PurePath(path).name)
    return name.endswith(".metadata.json") or name == "prelude.json"


def _percent_decode(text: str, path: str) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError as exc:
        raise WarehouseError(
            f"file name {text!r} is not valid percent-escaped UTF-8", path=path) from exc


def bson_namespace(path: str | os.PathLike) -> tuple[str, str]:
    """``(database, collection)`` of ``<db>/<coll>.bson`` or ``<coll>.bson.gz``.

    The collection is the percent-decoded file name without its suffix; the
    database is the name of the folder holding the file, as it is.
    """
    pure = PurePath(path)
    name = strip_compression(pure.name)
    if not name.endswith(".bson") or name == ".bson":
        raise WarehouseError("not a mongodump .bson file name", path=str(path))
    collection = _percent_decode(name[: -len(".bson")], str(path))
    return pure.parent.name, collection


def _read_companion(path: str) -> bytes:
    """The decompressed bytes of a small companion file (compression from its magic)."""
    with open_source(Path(path)) as opened:
        try:
            data = opened.stream.read(MAX_METADATA + 1)
        except DECOMPRESSION_ERRORS as exc:
            raise WarehouseError(f"corrupt {opened.compression} data: {exc}", path=path) from exc
    if len(data) > MAX_METADATA:
        raise WarehouseError(f"metadata file larger than {MAX_METADATA} bytes", path=path)
    return data


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a ``metadata.json`` (or ``prelude.json``), possibly gzipped.

    Legacy and canonical Extended JSON are both accepted. Invalid UTF-8 or
    JSON, or a top level that is not an object, raises ``WarehouseError``.
    """
    path = str(path)
    data = _read_companion(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WarehouseError(f"metadata is not UTF-8: {exc.reason}", path=path,
                             offset=exc.start) from exc
    return parse_metadata_json(text, path)


def parse_metadata_json(text: str, path: str | None = None) -> dict[str, Any]:
    """Parse metadata Extended JSON text (also used for archive metadata)."""
    try:
        value = json_util.loads(text, json_options=JSON_OPTIONS)
    except json.JSONDecodeError as exc:
        raise WarehouseError(f"invalid metadata JSON: {exc.msg} (column {exc.colno})",
                             path=path, line=exc.lineno) from exc
    except Exception as exc:  # Extended JSON with bad $-values
        raise WarehouseError(f"invalid metadata Extended JSON: {exc}", path=path) from exc
    if not isinstance(value, dict):
        raise WarehouseError("metadata JSON is not an object", path=path)
    return value


# -- what a dump says about the data it holds -----------------------------------


@dataclass
class DumpNamespace:
    """One namespace of a dump file, with what mongodump wrote about it."""

    database: str
    collection: str
    documents: int = 0
    type: str | None = None  # collection, view, timeseries (when the dump says)
    metadata: str | None = None  # the metadata JSON text as written, valid or not


def is_bson_name(path: str | os.PathLike) -> bool:
    """Whether a file is named like mongodump's data files (``<coll>.bson[.gz]``)."""
    name = strip_compression(PurePath(path).name)
    return name.endswith(".bson") and name != ".bson"


def _first_existing(folder: Path, stem: str) -> Path | None:
    for suffix in ("",) + COMPRESSION_SUFFIXES:
        candidate = folder / (stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def metadata_file(bson_path: str | os.PathLike) -> Path | None:
    """The ``<coll>.metadata.json`` mongodump wrote beside a ``.bson`` file, if any.

    A time-series collection's ``system.buckets.<coll>.bson`` is described by
    ``<coll>.metadata.json``.
    """
    path = Path(bson_path)
    stem = strip_compression(path.name)[: -len(".bson")]
    found = _first_existing(path.parent, stem + ".metadata.json")
    if found is None and stem.startswith("system.buckets."):
        found = _first_existing(path.parent, stem[len("system.buckets."):] + ".metadata.json")
    return found


def prelude_file(bson_path: str | os.PathLike) -> Path | None:
    """``prelude.json`` of the dump holding a ``.bson`` file, if any.

    It sits in the dump's top folder: beside a top-level ``oplog.bson``, or
    one level above ``<db>/<coll>.bson``.
    """
    folder = Path(bson_path).parent
    return _first_existing(folder, "prelude.json") or _first_existing(folder.parent, "prelude.json")


def _is_dump_top(folder: Path) -> bool:
    """Whether a folder is a dump's top: it holds database folders or a prelude."""
    try:
        return any(child.is_dir() or strip_compression(child.name) == "prelude.json"
                   for child in folder.iterdir())
    except OSError:
        return False


def read_text(path: str | os.PathLike) -> str:
    """A companion file's text as written (decompressed; UTF-8, bad bytes replaced)."""
    return _read_companion(str(path)).decode("utf-8", errors="replace")


def metadata_type(text: str | None) -> str | None:
    """The ``type`` a metadata text states (tools 100.x), None when absent or unreadable."""
    if not text:
        return None
    try:
        value = parse_metadata_json(text).get("type")
    except WarehouseError:
        return None
    return value if isinstance(value, str) else None


class Companions(Protocol):
    """Where a ``.bson`` file's companions are found: beside it on disk, or in its container."""

    def metadata(self, bson_path: PurePath) -> str | None:
        """The text of its ``<coll>.metadata.json``, if any."""

    def prelude(self, bson_path: PurePath) -> str | None:
        """The text of its dump's ``prelude.json``, if any."""

    def is_dump_top(self, folder: PurePath) -> bool:
        """Whether a folder is a dump's top (it holds database folders or a prelude)."""


class DiskCompanions:
    """Companions of a ``.bson`` file on disk."""

    def metadata(self, bson_path: PurePath) -> str | None:
        companion = metadata_file(bson_path)
        return None if companion is None else read_text(companion)

    def prelude(self, bson_path: PurePath) -> str | None:
        companion = prelude_file(bson_path)
        return None if companion is None else read_text(companion)

    def is_dump_top(self, folder: PurePath) -> bool:
        return _is_dump_top(Path(folder))


ON_DISK = DiskCompanions()


def bson_file_namespace(path: str | os.PathLike,
                        companions: Companions = ON_DISK) -> DumpNamespace:
    """The namespace of a ``<db>/<coll>.bson`` file, with its metadata file's text.

    ``mongodump --oplog`` writes ``oplog.bson`` at the dump's top, in no
    database folder: its database is ``""``, as in an archive.
    """
    database, collection = bson_namespace(path)
    if collection == "oplog" and companions.is_dump_top(PurePath(path).parent):
        database = ""
    text = companions.metadata(PurePath(path))
    return DumpNamespace(database, collection, type=metadata_type(text), metadata=text)
