"""Benchmark: the WiredTiger reader alone, in MB of BSON documents per second.

Writes a MongoDB-like ``--dbpath`` with ``wt`` (collection settings as mongod
4.2 creates them) holding demo run documents (about 50 KB each) until the
collection holds ``MB`` megabytes of BSON, then reads every document with
``read_wiredtiger_dir(...).collections[0].records()`` (checksums, decompression,
cells, BSON decoding) and reports the best of three passes; the files are in
the page cache by then, so this is the reader's speed, not the disk's.

Run alone: ``python -m warehouse.bench.wiredtiger_reader [MB] [COMPRESSOR] [WORKDIR]``
(defaults: 50, snappy, a temporary folder).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import bson

from ..demo import generate
from ..formats.wiredtiger import read_wiredtiger_dir
from ..demo.wiredtiger_writer import CollectionSpec, write_dbpath

PASSES = 3


def write_input(workdir: Path, megabytes: float, compressor: str) -> int:
    """A dbpath of one collection holding ``megabytes`` of documents; its BSON bytes."""
    documents, total = [], 0
    for document in generate(1_000_000, seed=7):
        documents.append(document)
        total += len(bson.encode(document))
        if total >= megabytes * 1e6:
            break
    write_dbpath(workdir, [CollectionSpec("bench.runs", documents)], compressor=compressor)
    return total


def read_all(workdir: Path) -> tuple[int, float]:
    """(documents, seconds) of one pass over every collection."""
    start = time.perf_counter()
    count = 0
    for collection in read_wiredtiger_dir(workdir).collections:
        for _ in collection.records():
            count += 1
    return count, time.perf_counter() - start


def bench(workdir: Path, megabytes: float = 50, compressor: str = "snappy") -> dict[str, float]:
    total = write_input(workdir, megabytes, compressor)
    files = sum(p.stat().st_size for p in workdir.glob("collection-*.wt"))
    passes = [read_all(workdir) for _ in range(PASSES)]
    count, seconds = min(passes, key=lambda p: p[1])
    return {"documents": count, "bson_mb": total / 1e6, "file_mb": files / 1e6,
            "seconds": seconds, "mb_per_s": total / 1e6 / seconds}


def main(argv: list[str]) -> None:
    megabytes = float(argv[0]) if argv else 50
    compressor = argv[1] if len(argv) > 1 else "snappy"
    scratch = Path(argv[2]) if len(argv) > 2 else Path(tempfile.mkdtemp(prefix="bench-wt-"))
    try:
        result = bench(scratch / "dbpath", megabytes, compressor)
    finally:
        if len(argv) <= 2:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"{result['documents']:.0f} documents, {result['bson_mb']:.1f} MB of BSON "
          f"({compressor}: {result['file_mb']:.1f} MB of table file) read in "
          f"{result['seconds']:.2f} s: {result['mb_per_s']:.0f} MB/s")


if __name__ == "__main__":
    main(sys.argv[1:])
