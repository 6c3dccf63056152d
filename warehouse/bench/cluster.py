"""Beyond one machine (issue 17): shard builds, their merge against SQLite's own copy, Dask's
start-up, and what these rates make of 100,000 and 1,000,000 runs on 1, 8 and 32 machines.

On the demo's runs (~42 KB records) and a few large ones (~1 MB):

- the shard build rate: two shards built one after the other (runs/s each);
- the merge: rows/s of ``warehouse merge`` of the two shards into a new
  warehouse, beside SQLite copying the same tables (``INSERT INTO t SELECT *
  FROM s.t`` into an empty warehouse of the same schema; goal: >= 0.6);
- Dask: the seconds to start a LocalCluster of two workers and stop it.

Run alone: ``python -m warehouse.bench.cluster --runs 4000``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..pipeline.build import build, input_sources
from ..store.merge import merge_shards
from ..store.shards import SHARD_TABLES
from .measure import generate

MACHINES = (1, 8, 32)


def shard_builds(raw: Path, folder: Path) -> tuple[list[Path], float, int]:
    """Two shards of the inputs, built one after the other: (shards, seconds, runs)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = input_sources([raw])
    half = len(sources) // 2
    shards, seconds, runs = [], 0.0, 0
    for number, group in enumerate((sources[:half], sources[half:])):
        shard = folder / f"shard-{number}.sqlite"
        started = time.perf_counter()
        summary = build(shard, [], sources=group, shard=number)
        seconds += time.perf_counter() - started
        runs += summary.total("runs")
        shards.append(shard)
    return shards, seconds, runs


def merge_rate(shards: list[Path], folder: Path) -> dict[str, float]:
    """Rows/s of the merge, and of SQLite's plain copy of the same tables."""
    merged = folder / "merged.sqlite"
    started = time.perf_counter()
    outcomes = merge_shards(merged, shards)
    merge_seconds = time.perf_counter() - started
    rows = sum(o.rows for o in outcomes)
    copy = folder / "copy.sqlite"
    shutil.copy(merged, copy)  # the same schema …
    con = sqlite3.connect(copy, isolation_level=None)
    tables = [name for (name,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if name not in SHARD_TABLES]
    con.execute("BEGIN")
    for table in tables:  # … empty
        con.execute(f'DELETE FROM "{table}"')
    con.execute("COMMIT")
    copied, started = 0, time.perf_counter()
    for shard in shards:
        con.execute("ATTACH DATABASE ? AS s", (str(shard),))
        con.execute("BEGIN")
        for table in tables:
            before = con.total_changes
            con.execute(f'INSERT INTO main."{table}" SELECT * FROM s."{table}"')
            copied += con.total_changes - before
        con.execute("COMMIT")
        con.execute("DETACH DATABASE s")
    copy_seconds = time.perf_counter() - started
    con.close()
    return {"rows": rows, "merge_rows_per_s": rows / merge_seconds,
            "copy_rows_per_s": copied / copy_seconds,
            "ratio": (rows / merge_seconds) / (copied / copy_seconds)}


def dask_startup() -> float | None:
    """Seconds to start a LocalCluster of two workers, connect, and stop it."""
    try:
        from ..cluster.dask import connect
    except ImportError:
        return None
    try:
        started = time.perf_counter()
        client = connect("local:2")
        client.close()
        client.cluster.close()
        return time.perf_counter() - started
    except Exception:  # Dask missing or unable to start here
        return None


def projections(rates: dict[str, dict[str, float]], startup: float) -> list[dict[str, Any]]:
    """Hours for N runs on M machines: shard builds in parallel, then one merge."""
    table = []
    for record, rate in rates.items():
        for runs in (100_000, 1_000_000):
            for machines in MACHINES:
                build_s = runs / (rate["runs_per_s"] * machines)
                merge_s = 0.0 if machines == 1 else runs * rate["rows_per_run"] / rate["merge_rows_per_s"]
                total = build_s + merge_s + (startup if machines > 1 else 0)
                table.append({"record": record, "runs": runs, "machines": machines,
                              "hours": round(total / 3600, 2),
                              "bound": "merge" if merge_s > build_s else "parse and write"})
    return table


def projection_table(rows: list[dict[str, Any]]) -> str:
    """The projections as a markdown table, for docs/performance.md."""
    lines = ["| record | runs | machines | hours | bound by |", "| --- | ---: | ---: | ---: | --- |"]
    lines += [f"| {r['record']} | {r['runs']:,} | {r['machines']} | {r['hours']} | {r['bound']} |"
              for r in rows]
    return "\n".join(lines)


def bench_cluster(workdir: Path, runs: int, large_runs: int = 20) -> dict[str, Any]:
    found: dict[str, Any] = {"runs": runs}
    rates = {}
    for record, count, keys in (("42 KB", runs, None), ("1 MB", large_runs, 11_000)):
        raw = generate(workdir / f"data-{record.replace(' ', '')}-{count}", count, keys)
        shards, seconds, built = shard_builds(raw, workdir / "shards")
        merge = merge_rate(shards, workdir / "shards")
        rates[record] = {"runs_per_s": built / seconds, "rows_per_run": merge["rows"] / built,
                         "merge_rows_per_s": merge["merge_rows_per_s"]}
        found[record] = {"shard_build_runs_per_s": round(built / seconds, 1), **{
            k: round(v, 3) for k, v in merge.items()}}
    startup = dask_startup()
    found["dask_startup_s"] = None if startup is None else round(startup, 2)
    found["projections"] = projections(rates, startup or 0.0)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m warehouse.bench.cluster", description=__doc__)
    parser.add_argument("--runs", type=int, default=4000)
    parser.add_argument("--large-runs", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("bench-out/cluster"))
    args = parser.parse_args(argv)
    found = bench_cluster(args.workdir, args.runs, args.large_runs)
    print(json.dumps({k: v for k, v in found.items() if k != "projections"}))
    print(projection_table(found["projections"]))


if __name__ == "__main__":
    main()
