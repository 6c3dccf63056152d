"""Benchmark: the MMAPv1 reader alone, in MB of BSON per second.

Writes one collection of ~40 KB documents (lists of numbers and labels, like
a simulation run's detail) with ``mmapv1_writer``, then reads it back with
``read_mmapv1_dir`` and every ``Collection.records()``, decoding each
document. The floor beside it is ``bson.decode`` alone on the same bytes
already in memory: what any reader of these documents must pay. The files
were just written, so they are read from the page cache. Best of ``repeat``
runs, as the machine is shared.

Run alone: ``python -m warehouse.bench.mmapv1_reader [MEGABYTES] [WORKDIR]``.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bson

from ..formats.bsonfile import CODEC_OPTIONS
from ..formats.mmapv1 import read_mmapv1_dir
from ..demo.mmapv1_writer import CollectionSpec, write_mmapv1_dir

DOCUMENT_KB = 40


def document(i: int, rng: random.Random) -> dict[str, Any]:
    """About 40 KB: counts, frequencies and labels of one run."""
    return {
        "_id": i, "simulation_run_id": f"urn:uuid:{rng.getrandbits(128):032x}",
        "parameters": {"population": 2000, "mutation_rate": rng.random(), "loci": 4},
        "trait_counts": [rng.randrange(1 << 20) for _ in range(1000)],
        "frequencies": [rng.random() for _ in range(1800)],
        "labels": [f"{rng.randrange(100)}-{rng.randrange(100)}" for _ in range(300)],
    }


def _read_all(workdir: Path) -> int:
    return sum(1 for c in read_mmapv1_dir(workdir).collections for _ in c.records())


def bench_mmapv1(workdir: Path, megabytes: int = 50, repeat: int = 5,
                 seed: int = 0) -> dict[str, float]:
    """MB/s of the reader and of ``bson.decode`` alone, best of ``repeat``."""
    rng = random.Random(seed)
    raws = [bson.encode(document(i, rng)) for i in range(megabytes * 1024 // DOCUMENT_KB)]
    size = sum(len(r) for r in raws) / 1e6
    write_mmapv1_dir(workdir, {"sim": [CollectionSpec("runs", raws)]})
    reader = floor = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        count = _read_all(workdir)
        reader = min(reader, time.perf_counter() - start)
        start = time.perf_counter()
        for raw in raws:
            bson.decode(raw, CODEC_OPTIONS)
        floor = min(floor, time.perf_counter() - start)
    return {"documents": len(raws), "records_read": count, "megabytes": size,
            "reader_mb_s": size / reader, "decode_only_mb_s": size / floor}


def main(argv: list[str]) -> None:
    megabytes = int(argv[0]) if argv else 50
    workdir = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp(prefix="bench-mmapv1-"))
    try:
        result = bench_mmapv1(workdir, megabytes)
    finally:
        if len(argv) <= 1:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{result['documents']:.0f} documents, {result['megabytes']:.1f} MB of BSON:"
          f" reader {result['reader_mb_s']:.0f} MB/s,"
          f" bson.decode alone {result['decode_only_mb_s']:.0f} MB/s")


if __name__ == "__main__":
    main(sys.argv[1:])
