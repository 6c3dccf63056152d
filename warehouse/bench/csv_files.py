"""Loading an export CSV file vs the sqlite3 shell's ``.import`` of the same file.

``bench_csv(workdir, runs)`` makes demo runs, builds them from JSON, exports
the four CSV files, then for each file times

* ``sqlite3 x.db ".import --csv FILE t"`` in a child process (a fresh file,
  one table of TEXT columns, minus the shell's own start-up time), and
* ``warehouse.build.build`` of the same file into a fresh warehouse (schema
  already created; the time includes hashing, detection, conversion, the run
  lookups and the checks),

* the floor: the least any loader going through Python's ``sqlite3`` module
  does with the file (``_floor``): read and split every field as the reader
  does, and bind it to one INSERT per row into a table of the file's columns,
  typed as the warehouse types them, in one transaction, the garbage
  collector off. No keys, no checks, no index, no ledger,

best of ``repeats``, and returns rows/s of each and the ratios to ``.import``,
by wall-clock time (``ratio``, ``floor_ratio``) and by CPU time (``cpu_ratio``:
user + system, the shell's from its rusage; steadier than wall time on a
shared machine), and the build's speed against the floor's (``of_floor``,
issue 16's goal: 0.8). Run it alone: ``python -m warehouse.bench.csv_files --runs 5000``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from ..access.export import EXPORTS, export
from ..demo import write_demo
from ..formats.csvfile import paused_gc
from ..pipeline.build import build
from ..profiles.ctmixtures.csv.headers import open_export
from ..profiles.ctmixtures.csv.values import (KIND_TABLE, SIMULATION_PARAMETERS, converter, table_column,
                                      to_count, to_int, to_real)
from ..store import BUILD_PRAGMAS, Warehouse

TARGET_RATIO = 0.8


def bench_csv(workdir: Path, runs: int, repeats: int = 3) -> dict[str, Any]:
    """Rows/s of ``.import`` and of our build, per export file and for all four."""
    shell = shutil.which("sqlite3")
    if shell is None:
        print("CSV benchmark skipped: no sqlite3 shell on PATH", file=sys.stderr)
        return {"skipped": "sqlite3 shell not found on PATH"}
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    files = export_files(workdir, runs)
    starts = [_shell_run(shell, workdir / "startup.db", ".quit") for _ in range(repeats)]
    startup, startup_cpu = min(w for w, _ in starts), min(c for _, c in starts)
    results: dict[str, Any] = {"runs": runs, "sqlite3": _shell_version(shell),
                               "sqlite_library": sqlite3.sqlite_version,
                               "shell_startup_s": round(startup, 4),
                               "shell_startup_cpu_s": round(startup_cpu, 4),
                               "target_ratio": TARGET_RATIO, "files": {}}
    totals = dict.fromkeys(("rows", "import_s", "build_s", "import_cpu_s", "build_cpu_s",
                            "floor_s"), 0.0)
    for kind, path in files.items():
        rows = _data_rows(path)
        times: dict[str, float] = {"rows": rows}
        imports = [_import(shell, workdir / "import.db", path) for _ in range(repeats)]
        times["import_s"] = max(min(t for t, _ in imports) - startup, 1e-9)
        times["import_cpu_s"] = max(min(c for _, c in imports) - startup_cpu, 1e-9)
        builds = [_build(workdir / "build.sqlite", path) for _ in range(repeats)]
        times["build_s"] = min(t for t, _ in builds)
        times["build_cpu_s"] = min(c for _, c in builds)
        times["floor_s"] = min(_floor(workdir / "floor.sqlite", path) for _ in range(repeats))
        results["files"][kind] = _figures(**times)
        for name, value in times.items():
            totals[name] += value
    results["all"] = _figures(**totals)
    return results


def export_files(workdir: Path, runs: int) -> dict[str, Path]:
    """The four export files of ``runs`` demo runs, made once per workdir and size."""
    out = workdir / f"export-{runs}"
    files = {kind: out / f"demo-{kind}.csv" for kind in EXPORTS}
    if all(path.exists() for path in files.values()):
        return files
    raw, db = workdir / f"json-{runs}", workdir / f"json-{runs}.sqlite"
    shutil.rmtree(raw, ignore_errors=True)
    _remove_database(db)
    write_demo(raw, n_runs=runs, nodes=8, seed=11, eras="3.x", compression="gzip", workers=2)
    summary = build(db, [raw])
    if not summary.ok:
        raise RuntimeError(f"demo build failed: {summary.failed[0].error}")
    export(db, out, "demo")
    shutil.rmtree(raw)
    _remove_database(db)
    return files


def _figures(rows: float, import_s: float, build_s: float, import_cpu_s: float,
             build_cpu_s: float, floor_s: float) -> dict[str, Any]:
    return {"rows": int(rows), "import_s": round(import_s, 4), "build_s": round(build_s, 4),
            "import_rows_per_s": round(rows / import_s), "build_rows_per_s": round(rows / build_s),
            "ratio": round(import_s / build_s, 3),
            "import_cpu_s": round(import_cpu_s, 4), "build_cpu_s": round(build_cpu_s, 4),
            "cpu_ratio": round(import_cpu_s / build_cpu_s, 3),
            "floor_s": round(floor_s, 4), "floor_ratio": round(import_s / floor_s, 3),
            "of_floor": round(floor_s / build_s, 3)}


def _shell_run(shell: str, db: Path, command: str) -> tuple[float, float]:
    """Wall and CPU seconds of the sqlite3 shell running ``command`` on a fresh file."""
    _remove_database(db)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([shell, str(db), command], check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _import(shell: str, db: Path, path: Path) -> tuple[float, float]:
    return _shell_run(shell, db, f".import --csv {path} t")


def _build(db: Path, path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of building one file into a warehouse that has its schema."""
    _remove_database(db)
    Warehouse(db).close()  # the schema exists, as in any build after the first
    started, cpu = time.perf_counter(), time.process_time()
    summary = build(db, [path])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if not summary.ok:
        raise RuntimeError(f"CSV build failed: {summary.failed[0].error}")
    return seconds, cpu


def _floor(db: Path, path: Path) -> float:
    """Seconds to split every field of the file and bind it into a typed table."""
    _remove_database(db)
    con = sqlite3.connect(db, isolation_level=None)
    try:
        for pragma in BUILD_PRAGMAS:  # as a build writes
            con.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        with open(path, "rb") as stream, paused_gc():
            export, records = open_export(stream, str(path))
            columns = [f"c{i} {_affinity(export.kind, name)}"
                       for i, name in enumerate(export.header)]
            con.execute(f"CREATE TABLE t ({', '.join(columns)})")
            insert = f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})"
            con.execute("BEGIN")
            for record in records:
                con.executemany(insert, record.document.rows)
            con.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        con.close()


def _affinity(kind: str, name: str) -> str:
    """The type the warehouse gives a field of an export file."""
    column = table_column(kind, name)
    if column is None:
        return "TEXT"  # run key, label, innovation rate
    table = KIND_TABLE[kind]
    if table == "parameter":
        column = SIMULATION_PARAMETERS.get(name, name)
    types: dict[Callable[[str], Any], str] = {to_int: "INTEGER", to_count: "INTEGER",
                                             to_real: "REAL"}
    return types.get(converter(table, column), "TEXT")


def _data_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def _shell_version(shell: str) -> str:
    done = subprocess.run([shell, "-version"], capture_output=True, text=True)
    return done.stdout.split(" ")[0] if done.returncode == 0 else "?"


def _remove_database(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def report(results: dict[str, Any]) -> str:
    if "skipped" in results:
        return f"CSV vs sqlite3 .import: skipped ({results['skipped']})"
    lines = [f"CSV vs sqlite3 .import ({results['runs']} runs, sqlite3 {results['sqlite3']}, "
             f"target ratio {results['target_ratio']}; floor: split + bind only):"]
    for kind, fig in [*results["files"].items(), ("all four", results["all"])]:
        lines.append(f"  {kind:<16} {fig['rows']:>8} rows  .import {fig['import_rows_per_s']:>8} "
                     f"rows/s  build {fig['build_rows_per_s']:>8} rows/s  ratio {fig['ratio']:.2f}"
                     f"  (CPU time {fig['cpu_ratio']:.2f})  floor ratio {fig['floor_ratio']:.2f}"
                     f"  build/floor {fig['of_floor']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m warehouse.bench.csv_files", description=__doc__)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("bench-out") / "csv")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = bench_csv(args.workdir, args.runs, args.repeats)
    print(report(results))
    (args.workdir / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
