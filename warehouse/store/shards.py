"""Shards: warehouses built apart (on several machines), to be merged into one.

Shard K's keys start above (K + 1) * 2^40 (``key_base``), so rows of
different shards, and of a warehouse built on one machine (keys from 1),
do not share a key and a merge copies them as they are (it moves them only
where the warehouse holds keys in the shard's range already). A shard keeps
each stored run's document and each duplicate it met (schemas/012_shards.sql),
and is described by a manifest written beside it once its build is complete:
a merge refuses a shard whose content does not match its manifest (a worker
that died mid-way).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import bson
import zstandard

from .. import __version__
from ..errors import WarehouseError
from ..formats.bsonfile import CODEC_OPTIONS
from ..formats.extjson import relaxed_json

KEY_BITS = 40  # keys per shard: 2^40; shards 0 to 2^23 - 2
MAX_SHARD = (1 << (63 - KEY_BITS)) - 2
# tables whose keys a shard takes from its range (the keys other rows refer to)
RANGED_KEYS = {"source": "source_id", "run": "run_id", "sample": "sample_id",
               "simulation_timing": "timing_id", "document": "document_id",
               "container": "container_id", "configuration_label": "label_id"}
# tables a shard keeps for the merge only
SHARD_TABLES = ("shard", "shard_document", "shard_duplicate", "merged_shard")

_BSON, _JSON = b"B", b"J"


def key_base(number: int) -> int:
    """Shard K's keys are above (K + 1) * 2^40: below it are one machine's."""
    return (number + 1) << KEY_BITS


def manifest_path(shard: Path) -> Path:
    return shard.with_name(shard.name + ".manifest.json")


def pack_document(document: dict[str, Any]) -> bytes:
    """A run's document, small: zstd of its BSON (of its relaxed JSON where BSON cannot
    hold a value, an integer beyond 64 bits)."""
    try:
        raw = _BSON + bson.encode(document)
    except (OverflowError, bson.errors.InvalidDocument):
        raw = _JSON + relaxed_json(document).encode()
    return zstandard.ZstdCompressor(level=1).compress(raw)


def unpack_document(body: bytes) -> str:
    """The document packed by ``pack_document``, as relaxed Extended JSON text."""
    raw = zstandard.ZstdDecompressor().decompress(body)
    if raw[:1] == _JSON:
        return raw[1:].decode()
    return relaxed_json(bson.decode(raw[1:], CODEC_OPTIONS))


class ShardLedger:
    """The shard part of a warehouse (mixed into ``Warehouse``)."""

    db: sqlite3.Connection
    path: Path

    @property
    def shard_number(self) -> int | None:
        """K for shard K; None for a warehouse that is not a shard."""
        try:
            row = self.db.execute("SELECT number FROM shard").fetchone()
        except sqlite3.OperationalError:  # a warehouse older than shards
            return None
        return None if row is None else int(row[0])

    def make_shard(self, number: int) -> None:
        """Mark a new warehouse as shard ``number`` (or check an existing shard's number)."""
        if not 0 <= number <= MAX_SHARD:
            raise WarehouseError(f"shard numbers go from 0 to {MAX_SHARD}", str(self.path))
        current = self.shard_number
        if current == number:
            return
        if current is not None:
            raise WarehouseError(f"this is shard {current}, not shard {number}", str(self.path))
        if self.db.execute("SELECT EXISTS (SELECT 1 FROM source)").fetchone()[0]:
            raise WarehouseError("a shard is built into a new file; this warehouse holds "
                                 "files already", str(self.path))
        self.db.execute("INSERT INTO shard (number, key_base, built_at, tool_version) "
                        "VALUES (?, ?, ?, ?)",
                        (number, key_base(number), _now(), __version__))

    def manifest(self) -> dict[str, Any]:
        """What a merge checks the shard against: its number, sources and row counts."""
        return {**shard_content(self.db), "tool_version": __version__, "complete": True}

    def write_manifest(self, target: Path) -> Path:
        """The manifest beside the shard, written whole or not at all."""
        path = manifest_path(target)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.manifest(), indent=1))
        os.replace(partial, path)
        return path


def shard_content(db: sqlite3.Connection) -> dict[str, Any]:
    """A shard's number, schema version, sources and the rows of each table: what its
    manifest says, and what a merge finds in the shard to check it against."""
    number = db.execute("SELECT number FROM shard").fetchone()
    tables = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    return {"shard": None if number is None else number[0],
            "schema_version": db.execute("PRAGMA user_version").fetchone()[0],
            "sources": [list(row) for row in db.execute(
                "SELECT source_id, path, size, sha256 FROM source ORDER BY source_id")],
            "tables": {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                       for name in tables}}


def read_manifest(shard: Path) -> tuple[dict[str, Any], str]:
    """A shard's manifest and the sha256 of its text; WarehouseError if there is none."""
    path = manifest_path(shard)
    try:
        text = path.read_text()
        manifest = json.loads(text)
    except FileNotFoundError:
        raise WarehouseError(f"no manifest ({path.name}): its build did not finish; build "
                             "the shard again", str(shard)) from None
    except (OSError, ValueError) as error:
        raise WarehouseError(f"unreadable manifest {path.name}: {error}", str(shard)) from None
    if not isinstance(manifest, dict) or not manifest.get("complete"):
        raise WarehouseError(f"manifest {path.name} is not complete", str(shard))
    return manifest, hashlib.sha256(text.encode()).hexdigest()


def check_shard(shard: Path, schema_version: int) -> tuple[dict[str, Any], str]:
    """The shard's manifest, once its content is found to match it; WarehouseError if not."""
    manifest, digest = read_manifest(shard)
    try:
        con = sqlite3.connect(shard.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise WarehouseError(f"cannot open the shard: {error}", str(shard)) from None
    try:
        found = shard_content(con)
    except sqlite3.Error as error:
        raise WarehouseError(f"not a readable shard: {error}", str(shard)) from None
    finally:
        con.close()
    if found["schema_version"] != schema_version:
        raise WarehouseError(f"shard of schema {found['schema_version']}, this warehouse is of "
                             f"schema {schema_version}: build shards with this version",
                             str(shard))
    for name in ("shard", "sources", "tables"):
        if found[name] != manifest.get(name):
            raise WarehouseError(f"its content does not match its manifest ({name} differ): "
                                 "its build did not finish; build the shard again", str(shard))
    return manifest, digest


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
