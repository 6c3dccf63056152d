"""Helpers for ``mongodump --out`` directories.

Layout: ``dump/<db>/<coll>.bson`` with ``<coll>.metadata.json`` beside it
(``--gzip`` adds ``.gz`` to each file), and, with newer tools, a top-level
``prelude.json``. Odd collection names are percent-escaped in file names
(``caf%C3%A9s.bson`` holds collection ``cafés``).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from pathlib import PurePath
from typing import Any
from urllib.parse import unquote

from bson import json_util
from bson.codec_options import DatetimeConversion
from bson.json_util import JSONOptions

from warehouse.errors import WarehouseError

GZIP_MAGIC = b"\x1f\x8b"
MAX_METADATA = 64 * 1024 * 1024

# Extended JSON, legacy or canonical; dates kept as milliseconds like in BSON.
JSON_OPTIONS = JSONOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)


def _strip_gz(name: str) -> str:
    return name[:-3] if name.endswith(".gz") else name


def is_companion(path: str | os.PathLike) -> bool:
    """Whether a file describes a dump rather than holding data.

    ``*.metadata.json`` and ``prelude.json``, plain or ``.gz``.
    """
    name = _strip_gz(PurePath(path).name)
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
    name = _strip_gz(pure.name)
    if not name.endswith(".bson") or name == ".bson":
        raise WarehouseError("not a mongodump .bson file name", path=str(path))
    collection = _percent_decode(name[: -len(".bson")], str(path))
    return pure.parent.name, collection


def _read_maybe_gzipped(path: str) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(MAX_METADATA + 1)
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(MAX_METADATA + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise WarehouseError(f"corrupt gzip data: {exc}", path=path) from exc
    if len(data) > MAX_METADATA:
        raise WarehouseError(f"metadata file larger than {MAX_METADATA} bytes", path=path)
    return data


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a ``metadata.json`` (or ``prelude.json``), possibly gzipped.

    Legacy and canonical Extended JSON are both accepted. Invalid UTF-8 or
    JSON, or a top level that is not an object, raises ``WarehouseError``.
    """
    path = str(path)
    data = _read_maybe_gzipped(path)
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
