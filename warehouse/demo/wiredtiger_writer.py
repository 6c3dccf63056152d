"""Writers of MongoDB-like WiredTiger data directories, through the real library.

Every WiredTiger file is written by the ``wt`` utility (Debian's ``wiredtiger``
package, 3.2.1: the engine of MongoDB 4.2), so the pages, cells, checkpoints
and log are the library's own. What ``mongod`` would add is laid out as it
does: a ``_mdb_catalog`` table of ``{md, idxIdent, ns, ident}`` entries (and
the feature document of 3.4-4.2), one ``collection-N-R`` table per collection
with MongoDB's creation settings, one ``index-N-R`` table per ``_id`` index,
``sizeStorer``, ``storage.bson``, an empty ``mongod.lock`` and the log in
``journal/``. Tables are filled with ``wt load -f`` from dumps in hex format
(keys: the packed record ids; values: the BSON documents).

This module is independent of the reader in :mod:`warehouse.formats.wiredtiger`
(it packs integers and checksums on its own), so that a bug shared by writer
and reader cannot hide itself. Its one piece of page surgery, the zstd
conversion (this ``wt`` has no zstd compressor), lives in
:mod:`warehouse.demo.wiredtiger_zstd`.
"""

from __future__ import annotations

import datetime
import os
import random
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import bson
from bson.binary import Binary, UuidRepresentation
from bson.int64 import Int64

from .wiredtiger_pack import pack_record_id, pack_uint

WT = "wt"
# Another wt (e.g. a WiredTiger 11 built with its compressors inside, to write
# files of the MongoDB 4.4+ format): its path in this variable.
WT_ENVIRONMENT = "WIREDTIGER_WT"
EXTENSION_DIR = Path("/usr/lib/x86_64-linux-gnu")
COMPRESSORS = ("snappy", "zlib", "none", "zstd")
# MongoDB 4.2's settings for a collection (WiredTigerRecordStore::generateCreateString)
# and an index (WiredTigerIndex::generateCreateString), without the compressor.
COLLECTION_CONFIG = ("type=file,memory_page_max=10m,split_pct=90,leaf_value_max=64MB,"
                     "checksum=on,key_format=q,value_format=u,"
                     "app_metadata=(formatVersion=1),log=(enabled=true)")
INDEX_CONFIG = ("type=file,internal_page_max=16k,leaf_page_max=16k,checksum=on,"
                "prefix_compression=true,key_format=u,value_format=u,"
                "app_metadata=(formatVersion=8,infoObj={}),log=(enabled=true)")
# mongod's log settings (in journal/, snappy), with small files for tests.
LOG_CONFIG = ("log=(enabled=true,archive=true,path=journal,compressor=snappy,"
              "file_max=100KB,prealloc=false)")


def wt_missing() -> str | None:
    """Why the ``wt`` utility cannot be used here, or None if it can."""
    if shutil.which(_wt()) is None:
        return f"the wt utility ({_wt()}; Debian package wiredtiger) is not installed"
    return None


def _wt() -> str:
    return os.environ.get(WT_ENVIRONMENT, WT)


def _has_zstd() -> bool:
    """Debian's wt has no zstd compressor; another wt is taken to have it."""
    return bool(os.environ.get(WT_ENVIRONMENT))


def _extension_config() -> str:
    """The compressors of Debian's wt are extensions to load; another wt has its own."""
    if os.environ.get(WT_ENVIRONMENT):
        return "extensions=[]"
    paths = [EXTENSION_DIR / f"libwiredtiger_{name}.so" for name in ("snappy", "zlib")]
    found = ",".join(str(path) for path in paths if path.exists())
    return f"extensions=[{found}]"


@dataclass
class CollectionSpec:
    """A collection to write: its namespace, documents and table settings."""

    ns: str
    documents: Sequence[dict[str, Any]]
    compressor: str | None = None  # None: the directory's default
    config: str = ""  # extra WiredTiger settings, e.g. "leaf_value_max=0" for overflow
    first_record_id: int = 1
    removed: Sequence[int] = ()  # indexes into documents: removed after a first load


@dataclass
class WrittenCollection:
    """A collection as written: where, and what it holds now."""

    ns: str
    ident: str
    path: Path
    index_ident: str
    record_ids: list[int]
    documents: list[dict[str, Any]]  # the live documents, in record-id order
    removed: list[dict[str, Any]] = field(default_factory=list)


class WtError(RuntimeError):
    """The ``wt`` utility failed."""


def run_wt(home: Path, *args: str) -> None:
    """Run ``wt`` on ``home`` (created if need be) with the compressors loaded and
    MongoDB's log settings."""
    config = f"create,{_extension_config()},{LOG_CONFIG}"
    done = subprocess.run([_wt(), "-C", config, "-h", str(home), *args],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise WtError(f"wt {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")


def load_table(home: Path, uri: str, config: str,
               pairs: Sequence[tuple[bytes, bytes]]) -> None:
    """Load (key, value) byte pairs into ``uri`` with ``wt load`` in hex format."""
    lines = ["WiredTiger Dump (WiredTiger Version 3.2.1)", "Format=hex", "Header", uri,
             config, "Data"]
    for key, value in pairs:
        lines += [key.hex(), value.hex()]
    with tempfile.NamedTemporaryFile("w", suffix=".dump") as dump:
        dump.write("\n".join(lines) + "\n")
        dump.flush()
        run_wt(home, "load", "-f", dump.name)


def _catalog_entry(ns: str, ident: str, index_ident: str, rng: random.Random) -> bytes:
    """A MongoDB 4.2 catalog entry for a collection with its ``_id`` index."""
    index = {"spec": {"v": 2, "key": {"_id": 1}, "name": "_id_", "ns": ns},
             "ready": True, "multikey": False, "multikeyPaths": {"_id": Binary(b"\0")},
             "head": Int64(0), "prefix": Int64(-1), "backgroundSecondary": False,
             "runTwoPhaseBuild": False, "versionOfBuild": Int64(1)}
    collection_uuid = Binary.from_uuid(uuid.UUID(int=rng.getrandbits(128), version=4),
                                       UuidRepresentation.STANDARD)
    md = {"ns": ns, "options": {"uuid": collection_uuid}, "indexes": [index],
          "prefix": Int64(-1)}
    return bson.encode({"md": md, "idxIdent": {"_id_": index_ident}, "ns": ns, "ident": ident})


FEATURE_DOCUMENT = {"isFeatureDoc": True, "ns": None, "nonRepairable": Int64(0),
                    "repairable": Int64(1)}


def _index_pairs(record_ids: Sequence[int]) -> list[tuple[bytes, bytes]]:
    """Entries of an ``_id`` index table. Their values are BSON documents on
    purpose: a reader that took the index for a collection would show them."""
    return [(b"\x2b" + pack_uint(position) + b"\x04" + pack_record_id(record_id),
             bson.encode({"index": "_id_", "recordId": record_id}))
            for position, record_id in enumerate(record_ids)]


def _write_collection(home: Path, spec: CollectionSpec, ident: str, compressor: str
                      ) -> tuple[list[int], list[dict[str, Any]], list[dict[str, Any]]]:
    """Create and fill one collection table; remove ``spec.removed`` afterwards."""
    converted = compressor == "zstd" and not _has_zstd()
    config = f"{COLLECTION_CONFIG},block_compressor={'zlib' if converted else compressor}"
    if converted:  # recompressed later: keep the checksums off the payload
        config += ",checksum=uncompressed"
    if spec.config:
        config += "," + spec.config  # later settings win
    ids = [spec.first_record_id + i for i in range(len(spec.documents))]
    pairs = [(pack_record_id(i), bson.encode(d)) for i, d in zip(ids, spec.documents)]
    load_table(home, f"table:{ident}", config, pairs)
    if not spec.removed:
        return ids, list(spec.documents), []
    gone = set(spec.removed)
    # wt has no remove command: empty the table and load what stays. WiredTiger
    # reuses the freed blocks at once and cuts free space off the end of the
    # file, so to leave stale copies behind, as a live server's files often
    # hold, the old blocks are put back after the last block: valid pages (their
    # checksums hold) that no checkpoint references.
    path = home / f"{ident}.wt"
    before = path.read_bytes()
    run_wt(home, "truncate", f"table:{ident}")
    kept = [i for i in range(len(pairs)) if i not in gone]
    load_table(home, f"table:{ident}", config, [pairs[i] for i in kept])
    with open(path, "ab") as table:
        table.write(before[4096:])  # every allocation unit after the file's descriptor
    return ([ids[i] for i in kept], [spec.documents[i] for i in kept],
            [spec.documents[i] for i in sorted(gone)])


def write_dbpath(directory: Path, collections: Sequence[CollectionSpec], *,
                 compressor: str = "snappy", directory_per_db: bool = False,
                 seed: int = 0) -> dict[str, WrittenCollection]:
    """Write a MongoDB-like ``--dbpath`` holding ``collections``; what was written, by ns.

    ``compressor`` is the default block compressor of the collections: snappy
    (MongoDB's default), zlib, none, or zstd (written as zlib, then converted).
    """
    missing = wt_missing()
    if missing:
        raise WtError(missing)
    directory = Path(directory)
    (directory / "journal").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    suffix = rng.randrange(1 << 62)
    written: dict[str, WrittenCollection] = {}
    catalog = [(pack_record_id(1), bson.encode(FEATURE_DOCUMENT))]
    sizes = []
    for number, spec in enumerate(collections):
        prefix = spec.ns.partition(".")[0] + "/" if directory_per_db else ""
        (directory / prefix).mkdir(exist_ok=True)
        ident = f"{prefix}collection-{2 * number}-{suffix}"
        index_ident = f"{prefix}index-{2 * number + 1}-{suffix}"
        chosen = spec.compressor or compressor
        if chosen not in COMPRESSORS:
            raise ValueError(f"unknown compressor {chosen!r}")
        ids, kept, removed = _write_collection(directory, spec, ident, chosen)
        load_table(directory, f"table:{index_ident}", INDEX_CONFIG, _index_pairs(ids))
        catalog.append((pack_record_id(number + 2),
                        _catalog_entry(spec.ns, ident, index_ident, rng)))
        data_size = sum(len(bson.encode(doc)) for doc in kept)
        sizes.append((f"table:{ident}".encode(),
                      bson.encode({"numRecords": Int64(len(kept)), "dataSize": Int64(data_size)})))
        written[spec.ns] = WrittenCollection(spec.ns, ident, directory / f"{ident}.wt",
                                             index_ident, ids, kept, removed)
    load_table(directory, "table:_mdb_catalog", "type=file,key_format=q,value_format=u", catalog)
    load_table(directory, "table:sizeStorer", "type=file,key_format=u,value_format=u",
               sorted(sizes))
    _mongod_files(directory, directory_per_db)
    zstd = [w.ident for w, s in zip(written.values(), collections)
            if (s.compressor or compressor) == "zstd"]
    if zstd and not _has_zstd():
        from . import wiredtiger_zstd  # here: its conversion is needed for zstd only
        for ident in zstd:
            wiredtiger_zstd.convert_table(directory, ident)
    return written


def _mongod_files(directory: Path, directory_per_db: bool) -> None:
    """What mongod writes beside WiredTiger's files: storage.bson, mongod.lock."""
    options = {"directoryPerDB": directory_per_db, "directoryForIndexes": False}
    (directory / "storage.bson").write_bytes(
        bson.encode({"storage": {"engine": "wiredTiger", "options": options}}))
    (directory / "mongod.lock").write_bytes(b"")


def append_after_checkpoint(directory: Path, written: WrittenCollection,
                            documents: Sequence[dict[str, Any]]) -> None:
    """Make ``directory`` an unclean copy: ``documents`` are added to the collection
    and committed to the journal, but the data files stay as of the checkpoint
    before (as if the copy was taken before mongod's next checkpoint)."""
    saved = {path: path.read_bytes() for path in directory.rglob("*")
             if path.is_file() and "journal" not in path.relative_to(directory).parts}
    first = written.record_ids[-1] + 1 if written.record_ids else 1
    pairs = [(pack_record_id(first + i), bson.encode(doc)) for i, doc in enumerate(documents)]
    load_table(directory, f"table:{written.ident}", "key_format=q,value_format=u", pairs)
    for path, content in saved.items():
        path.write_bytes(content)


def sample_documents(count: int, seed: int, size: int = 0) -> list[dict[str, Any]]:
    """Deterministic documents of several BSON types; ``size`` pads each to about that."""
    rng = random.Random(seed)
    documents = []
    for i in range(count):
        document: dict[str, Any] = {
            "_id": i, "seed": Int64(rng.getrandbits(63)), "name": f"run-{seed}-{i}",
            "fraction": rng.random(), "flags": [rng.random() < 0.5 for _ in range(3)],
            "nested": {"depth": i % 5, "label": "é" * (i % 4)},
            "date": datetime.datetime(2015, 1, 1) + datetime.timedelta(seconds=i),
        }
        if size:
            words = [f"{rng.getrandbits(24):06x}" for _ in range(size // 7)]
            document["payload"] = " ".join(words)
        documents.append(document)
    return documents


def sample_collections(full: bool = True) -> list[CollectionSpec]:
    """Collections that exercise what a reader must handle.

    Small documents; documents larger than a page stored as overflow items
    (WiredTiger's default ``leaf_value_max``) and in oversized leaf pages
    (MongoDB's ``leaf_value_max=64MB``); a ``system.*`` collection; with
    ``full``, also removed documents, prefix-compressed keys (large record ids),
    value copies (``dictionary``) and a three-level tree (small pages).
    """
    specs = [
        CollectionSpec("sim.runs", sample_documents(300, 1)),
        CollectionSpec("sim.overflow", sample_documents(4, 2, 50_000), config="leaf_value_max=0"),
        CollectionSpec("sim.large", sample_documents(4, 3, 50_000)),
        CollectionSpec("admin.system.version",
                       [{"_id": "featureCompatibilityVersion", "version": "4.2"}]),
    ]
    if full:
        repeated = [{"k": i % 5, "pad": "p" * 80} for i in range(400)]
        specs += [
            # The last three are large: the reload does not overwrite all their
            # old bytes, which stay visible (no compression) in freed blocks.
            CollectionSpec("sim.removed", sample_documents(27, 4) + sample_documents(3, 12, 3000),
                           removed=(2, 9, 17, 27, 28, 29), compressor="none"),
            CollectionSpec("sim.prefixed", sample_documents(200, 5), first_record_id=1 << 40,
                           config="prefix_compression=true,prefix_compression_min=1"),
            CollectionSpec("sim.copies", repeated, config="dictionary=100"),
            CollectionSpec("sim.deep", sample_documents(2000, 6), config=SMALL_PAGES),
        ]
    return specs


# Pages as small as WiredTiger allows: many leaves, a tree three levels deep.
SMALL_PAGES = ("allocation_size=512,leaf_page_max=512,internal_page_max=512,"
               "memory_page_max=4KB")
