"""``make bench``: build speed and memory on generated data.

Generates a demo experiment (default 20,000 runs over 8 nodes, gzip JSON
lines, tools-3.x era), builds it in a child process, and prints runs/s,
stored values/s (rows times columns written), input MB/s (compressed and
decompressed), CPU time, the child's peak RSS and the warehouse's size against
the decompressed input; then the yardstick of issue 2 on the same files (a
crude load, one row per leaf value: ``yardstick.py``), the same for a few very
large records, and the BSON and CSV comparisons.
Figures go to stdout and to ``<workdir>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
from pathlib import Path
from typing import Any

from .measure import (decompressed_bytes, generate, remove_database, timed_build,
                      timed_child)

YARDSTICK_GOAL = 1.3  # issue 16: document builds against the crude load of issue 2


def yardstick(folder: Path, runs: int) -> dict[str, Any]:
    """The crude load of issue 2 on the files of ``measure(…, folder, runs)``."""
    raw, db = generate(folder, runs), folder / "yardstick.sqlite"
    result = timed_child([sys.executable, "-m", "warehouse.bench.yardstick", str(raw), str(db)])
    remove_database(db)
    result.update(label="  yardstick: a row per leaf value", runs=runs,
                  runs_per_s=runs / result["seconds"])
    return result


def measure(label: str, folder: Path, runs: int, config_keys: int | None = None,
            *build_options: str) -> dict[str, Any]:
    raw = generate(folder, runs, config_keys)
    compressed = sum(path.stat().st_size for path in raw.rglob("*") if path.is_file())
    result = timed_build(folder / "warehouse.sqlite", raw, *build_options)
    seconds = result["seconds"]
    decompressed = decompressed_bytes(raw)
    result.update({
        "label": label,
        "runs_per_s": result["runs"] / seconds,
        "values_per_s": result["values"] / seconds,
        "compressed_mb_per_s": compressed / seconds / 1e6,
        "raw_mb_per_s": decompressed / seconds / 1e6,
        "input_mb": compressed / 1e6,
        "raw_mb": decompressed / 1e6,
        "size_ratio": result["db_mb"] * 1e6 / decompressed,
    })
    return result


def report(result: dict[str, Any]) -> str:
    return (f"{result['label']:<34} {result['runs']:>7} runs {result['seconds']:7.1f} s "
            f"(CPU {result['cpu_s']:6.1f} s) {result['runs_per_s']:7.0f} runs/s "
            f"{result['values_per_s'] / 1e6:6.2f} M values/s "
            f"{result['compressed_mb_per_s']:6.2f} MB/s gz {result['raw_mb_per_s']:6.1f} MB/s raw "
            f"peak RSS {result['peak_rss_mb']:4.0f} MB ({result['peak_rss_all_mb']:4.0f} MB "
            f"with the worker); warehouse {result['db_mb']:.0f} MB = "
            f"{result['size_ratio']:.2f} of the decompressed input")


def report_yardstick(crude: dict[str, Any], build: dict[str, Any]) -> str:
    return (f"{crude['label']:<34} {crude['runs']:>7} runs {crude['seconds']:7.1f} s "
            f"(CPU {crude['cpu_s']:6.1f} s) {crude['runs_per_s']:7.0f} runs/s; the build: "
            f"{build['runs_per_s'] / crude['runs_per_s']:.2f} x the yardstick "
            f"(goal {YARDSTICK_GOAL}; CPU time: {crude['cpu_s'] / build['cpu_s']:.2f} x)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m warehouse.bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--large-runs", type=int, default=100,
                        help="runs with labeled configuration maps of up to 11,000 keys")
    parser.add_argument("--workdir", type=Path, default=Path("bench-out"))
    parser.add_argument("--only-json", action="store_true", help="skip the BSON and CSV comparisons")
    parser.add_argument("--no-single", dest="single", action="store_false",
                        help="skip the one-process build of the JSON set")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}", flush=True)
    json_set = args.workdir / f"json-{args.runs}"
    results = [measure(f"JSON lines, gzip, {args.runs} runs", json_set, args.runs)]
    print(report(results[-1]), flush=True)
    crude = yardstick(json_set, args.runs)
    print(report_yardstick(crude, results[0]), flush=True)
    if args.single:
        results.append(measure("  same, one process (--jobs 1)", json_set, args.runs, None,
                               "--jobs", "1"))
        print(report(results[-1]), flush=True)
    if args.large_runs:
        results.append(measure(f"large records, {args.large_runs} runs",
                               args.workdir / f"large-{args.large_runs}", args.large_runs, 11_000))
        print(report(results[-1]), flush=True)
    extras: dict[str, Any] = {}
    if not args.only_json:
        extras = comparisons(args.workdir, min(args.runs, 20_000))
    (args.workdir / "results.json").write_text(
        json.dumps({"builds": results, "yardstick": crude, **extras}, indent=2))


def comparisons(workdir: Path, runs: int) -> dict[str, Any]:
    """BSON vs JSON (issue 3), CSV vs the sqlite3 shell (issue 4), containers vs loose
    files (issue 13), data directories vs a dump (issue 14), shards and their merge
    (issue 17), the Parquet export."""
    from .bson_dump import bench_bson
    from .cluster import bench_cluster, projection_table
    from .containers import bench_containers
    from .csv_files import bench_csv
    from .dbpath import bench_dbpath
    from .parquet import bench_parquet, report as parquet_report

    found = {"bson": bench_bson(workdir / "bson", runs)}
    print("BSON vs JSON:", json.dumps(found["bson"]), flush=True)
    found["csv"] = bench_csv(workdir / "csv", runs)
    print("CSV vs sqlite3 .import:", json.dumps(found["csv"]), flush=True)
    found["containers"] = bench_containers(workdir / "containers", min(runs, 5000))
    print("containers vs loose files:", json.dumps(found["containers"]), flush=True)
    # best of 5: the two differ by a few per cent, less than one build's noise
    found["dbpath"] = bench_dbpath(workdir / "dbpath", min(runs, 2000), repeat=5)
    print("data directories vs a dump:", json.dumps(found["dbpath"]), flush=True)
    found["cluster"] = bench_cluster(workdir / "cluster", min(runs, 4000))
    print("shards and merge:", json.dumps({k: v for k, v in found["cluster"].items()
                                           if k != "projections"}), flush=True)
    print(projection_table(found["cluster"]["projections"]), flush=True)
    # skipped, with a message, without pyarrow (the optional extra [parquet])
    found["parquet"] = {"2000": bench_parquet(workdir / "parquet", 2000)}
    print(parquet_report(found["parquet"]["2000"]), flush=True)
    if runs != 2000 and "skipped" not in found["parquet"]["2000"]:  # is memory flat?
        found["parquet"][str(runs)] = bench_parquet(workdir / "parquet", runs)
        print(parquet_report(found["parquet"][str(runs)]), flush=True)
    return found


if __name__ == "__main__":
    main()
