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
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..demo import write_demo
from ..sources import find_sources, open_source

YARDSTICK_GOAL = 1.3  # issue 16: document builds against the crude load of issue 2


def generate(folder: Path, runs: int, config_keys: int | None = None) -> Path:
    """Demo data, reused when the same parameters were generated before."""
    marker = folder / "complete.json"
    wanted = {"runs": runs, "config_keys": config_keys, "eras": "3.x", "compression": "gzip"}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return folder / "raw"
    started = time.perf_counter()
    write_demo(folder / "raw", n_runs=runs, nodes=8, seed=1, eras="3.x", compression="gzip",
               config_keys=config_keys, workers=2)
    marker.write_text(json.dumps(wanted))
    print(f"  generated {runs} runs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return folder / "raw"


def decompressed_bytes(raw: Path) -> int:
    total = 0
    for source in find_sources([raw]):
        with open_source(source.path) as opened:
            while chunk := opened.stream.read(1 << 20):
                total += len(chunk)
    return total


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _tree_rss(int(child))
    except (OSError, ValueError):
        pass
    return total


class TreeMemory(threading.Thread):
    """Samples the summed RSS of a build and its worker process."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            self.peak = max(self.peak, _tree_rss(self.pid))


def timed_child(command: list[str]) -> dict[str, Any]:
    """Run a child process: its wall and CPU seconds (with the worker it waited for),
    its peak RSS and that of all its processes together."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    sampler = TreeMemory(child.pid)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    sampler.stopped.set()
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return {"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "peak_rss_all_mb": sampler.peak / 2**20}


def remove_database(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def timed_build(db: Path, raw: Path, *extra: str) -> dict[str, Any]:
    """Build in a child process: what ``timed_child`` measures, the rows and the file's size."""
    remove_database(db)
    result = timed_child([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db), "-q",
                          *extra, str(raw)])
    with sqlite3.connect(db) as con:
        runs, values, rows = con.execute(
            "SELECT sum(runs), sum(values_written), sum(rows_written) FROM source").fetchone()
    result.update(runs=runs, rows=rows, values=values, db_mb=db.stat().st_size / 1e6)
    return result


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
    """BSON vs JSON (issue 3) and CSV vs the sqlite3 shell (issue 4)."""
    from .bson_dump import bench_bson
    from .csv_files import bench_csv

    found = {"bson": bench_bson(workdir / "bson", runs)}
    print("BSON vs JSON:", json.dumps(found["bson"]), flush=True)
    found["csv"] = bench_csv(workdir / "csv", runs)
    print("CSV vs sqlite3 .import:", json.dumps(found["csv"]), flush=True)
    return found


if __name__ == "__main__":
    main()
