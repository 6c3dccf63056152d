"""Data directories against a dump (issue 14): the same run documents built from each.

The demo's run documents written three ways: a mongodump ``.bson`` file, an
MMAPv1 data directory (the project's writer) and a WiredTiger one (the real
library, through ``wt``; left out where it is missing). Each is built in a
child process with the worker, alternately, best of ``repeat``; the ratio
is the dump's time over the data directory's (goal: >= 1, as fast). The
readers alone, in MB/s of BSON, come from ``mmapv1_reader`` and
``wiredtiger_reader``. Run alone: ``python -m warehouse.bench.dbpath --runs 2000``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from ..demo import DATABASE, generate
from ..demo.dumpwriter import write_collection
from ..demo.mmapv1_writer import CollectionSpec as MmapSpec, write_mmapv1_dir
from ..demo.wiredtiger_writer import CollectionSpec as WtSpec, wt_missing, write_dbpath
from .measure import timed_build


def inputs(workdir: Path, runs: int) -> dict[str, Path]:
    marker = workdir / f"complete-{runs}"
    forms = {"dump": workdir / "dump", "mmapv1": workdir / "mmapv1"}
    if not wt_missing():
        forms["wiredtiger"] = workdir / "wiredtiger"
    if marker.exists():
        return forms
    shutil.rmtree(workdir, ignore_errors=True)
    documents = list(generate(runs, seed=2))
    write_collection(forms["dump"] / "node1" / "dump", DATABASE, "mixture_model_stats",
                     documents, "none")
    write_mmapv1_dir(forms["mmapv1"] / "node1", {DATABASE: [MmapSpec("mixture_model_stats",
                                                                      documents)]})
    if "wiredtiger" in forms:
        write_dbpath(forms["wiredtiger"] / "node1",
                     [WtSpec(f"{DATABASE}.mixture_model_stats", documents)])
    marker.touch()
    return forms


def bench_dbpath(workdir: Path, runs: int, repeat: int = 5) -> dict[str, Any]:
    forms = inputs(workdir, runs)
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, folder in forms.items():
            seconds = timed_build(workdir / f"{name}.sqlite", folder)["seconds"]
            best[name] = min(best.get(name, seconds), seconds)
    found: dict[str, Any] = {"runs": runs, "seconds": {k: round(v, 2) for k, v in best.items()}}
    for name in ("mmapv1", "wiredtiger"):
        if name in best:  # goal: >= 1.0, as fast as the dump
            found[f"{name}_vs_bson_dump"] = round(best["dump"] / best[name], 3)
    found["readers_mb_per_s"] = _readers(workdir / "readers")
    return found


def _readers(workdir: Path) -> dict[str, float]:
    from .mmapv1_reader import bench_mmapv1
    from .wiredtiger_reader import bench as bench_wiredtiger

    shutil.rmtree(workdir, ignore_errors=True)
    found: dict[str, float] = {
        "mmapv1": round(bench_mmapv1(workdir / "mmapv1", 50, repeat=3)["reader_mb_s"])}
    if not wt_missing():
        found["wiredtiger_snappy"] = round(
            bench_wiredtiger(workdir / "wiredtiger", 50, "snappy")["mb_per_s"])
    shutil.rmtree(workdir, ignore_errors=True)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m warehouse.bench.dbpath", description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("bench-out/dbpath"))
    args = parser.parse_args(argv)
    print(json.dumps(bench_dbpath(args.workdir, args.runs, args.repeat)))


if __name__ == "__main__":
    main()
