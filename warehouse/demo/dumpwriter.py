"""Writers of mongodump output: ``.bson`` files, dump folders, ``--archive`` files.

A reference for tests, the demo generator and the benchmark, written from
mongo-tools (``mongodump``, ``common/archive/spec.md``) and independent of the
readers in :mod:`warehouse.formats`, so that a bug shared by writer and reader
cannot hide itself. Only the CRC-64 is shared (it is checked against the
published check value and against real archives by the reader's tests).

Documents are encoded by pymongo's ``bson``: key order kept, Python ints as
int32 when they fit and int64 otherwise (as the Python 2 driver of ctmixtures
stored them), floats as doubles, ``ObjectId`` and the other bson types as
themselves.

Layouts written:

- dump folder (``mongodump --out DIR [--gzip]``):
  ``DIR/<db>/<coll>.bson`` and ``DIR/<db>/<coll>.metadata.json``, each with
  the compression's suffix; collection names percent-escaped in file names.
- archive (``mongodump --archive=FILE [--gzip]``): magic, header document,
  one metadata document per collection, terminator, then namespace segments
  (header ``{db, collection, EOF: false, CRC: 0}``, documents, terminator) in
  any interleaving, and per namespace an EOF header carrying the CRC-64 of
  all its documents. With compression the whole stream is compressed once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import bson
from bson.int64 import Int64

from . import compressed
from ..formats import crc64

ARCHIVE_MAGIC = b"\x6d\xe2\x99\x81"
TERMINATOR = b"\xff\xff\xff\xff"
# mongodump of MongoDB 3.2, the first with --archive; ctmixtures ran on 2.6/3.0
SERVER_VERSION = "3.2.22"
TOOL_VERSION = "r3.2.22"


def encode(doc: dict[str, Any]) -> bytes:
    """One document as BSON."""
    return bson.encode(doc)


def write_bson(fh: compressed.ByteSink, docs: Iterable[dict[str, Any]]) -> int:
    """Concatenated BSON documents, as in a ``.bson`` file; returns how many."""
    return compressed.write_batched(fh, map(encode, docs))


def metadata_json(database: str, collection: str) -> str:
    """``<coll>.metadata.json`` as mongodump 3.x wrote it: legacy JSON, the ``_id`` index."""
    index = {"v": 1, "key": {"_id": 1}, "name": "_id_", "ns": f"{database}.{collection}"}
    return json.dumps({"options": {}, "indexes": [index]}, separators=(",", ":"))


def file_stem(collection: str) -> str:
    """A collection name as mongodump escapes it in file names (Go ``url.PathEscape``)."""
    return quote(collection, safe="$&+:=@")


def write_collection(out: str | Path, database: str, collection: str,
                     docs: Iterable[dict[str, Any]], compression: str = "none") -> Path:
    """Write one collection of a dump folder; returns the ``.bson`` file's path.

    ``compression`` is one of ``compressed.COMPRESSIONS``: mongodump ``--gzip``
    is ``"gzip"``; the others are a dump compressed afterwards.
    """
    folder = Path(out) / database
    folder.mkdir(parents=True, exist_ok=True)
    suffix = compressed.SUFFIXES[compression]
    stem = file_stem(collection)
    data = folder / f"{stem}.bson{suffix}"
    with compressed.open_writer(data, compression) as fh:
        write_bson(fh, docs)
    with compressed.open_writer(folder / f"{stem}.metadata.json{suffix}", compression) as fh:
        fh.write(metadata_json(database, collection).encode())
    return data


class ArchiveWriter:
    """Writes one archive to ``fh``: the prelude now, segments on request.

    ``namespaces``: the ``(db, collection)`` pairs the header lists, in order.
    Call :meth:`segment` any number of times, in any interleaving,
    :meth:`finish` when a namespace is complete, then :meth:`close` for the EOF
    headers of the others (every namespace gets one, empty or not). Segments
    of unlisted namespaces are allowed (as the oplog's).
    """

    def __init__(self, fh: compressed.ByteSink, namespaces: list[tuple[str, str]], *,
                 server_version: str = SERVER_VERSION, tool_version: str = TOOL_VERSION) -> None:
        self.fh = fh
        self.crcs: dict[tuple[str, str], int] = {ns: crc64.INITIAL for ns in namespaces}
        self.finished: set[tuple[str, str]] = set()
        fh.write(ARCHIVE_MAGIC)
        fh.write(encode({"concurrent_collections": 4, "version": "0.1",
                         "server_version": server_version, "tool_version": tool_version}))
        for database, collection in namespaces:
            fh.write(encode({"db": database, "collection": collection,
                             "metadata": metadata_json(database, collection), "size": 0}))
        fh.write(TERMINATOR)

    def segment(self, database: str, collection: str, docs: Iterable[dict[str, Any]]) -> int:
        """One segment of a namespace's documents; returns how many."""
        key = (database, collection)
        if key in self.finished:
            raise ValueError(f"{database}.{collection} is finished: no more segments")
        crc = self.crcs.get(key, crc64.INITIAL)
        self.fh.write(encode({"db": database, "collection": collection, "EOF": False,
                              "CRC": Int64(0)}))
        n = 0
        for doc in docs:
            raw = encode(doc)
            crc = crc64.update(crc, raw)
            self.fh.write(raw)
            n += 1
        self.fh.write(TERMINATOR)
        self.crcs[key] = crc
        return n

    def finish(self, database: str, collection: str) -> None:
        """The EOF header of one namespace, with the CRC-64 of its documents.

        mongodump writes it as soon as that collection's dump ends.
        """
        crc = self.crcs.pop((database, collection), crc64.INITIAL)
        self.finished.add((database, collection))
        self.fh.write(encode({"db": database, "collection": collection, "EOF": True,
                              "CRC": Int64(crc64.to_int64(crc))}))
        self.fh.write(TERMINATOR)

    def close(self) -> None:
        """The EOF header of every namespace not finished yet."""
        for database, collection in list(self.crcs):
            self.finish(database, collection)


def write_archive(path: str | Path, collections: dict[tuple[str, str], Iterable[dict[str, Any]]],
                  compression: str = "none") -> Path:
    """An archive holding each ``(db, collection)``'s documents in one segment."""
    with compressed.open_writer(path, compression) as fh:
        writer = ArchiveWriter(fh, list(collections))
        for (database, collection), docs in collections.items():
            writer.segment(database, collection, docs)
        writer.close()
    return Path(path)
