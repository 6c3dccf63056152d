"""Loading an export CSV file vs the sqlite3 shell's ``.import`` of the same file.

``bench_csv(workdir, runs)`` makes demo runs, builds them from JSON, exports
the four CSV files, then for each file times

* ``sqlite3 x.db ".import --csv FILE t"`` in a child process (a fresh file,
  one table of TEXT columns, minus the shell's own start-up time), and
* ``warehouse.build.build`` of the same file into a fresh warehouse (schema
  already created; the time includes hashing, detection, conversion, the run
  lookups and the checks),

best of ``repeats``, and returns rows/s of both and their ratio. Run it alone:
``python -m warehouse.bench_csv --runs 5000``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .build import build
from .demo import write_demo
from .export import EXPORTS, export
from .store import Warehouse

TARGET_RATIO = 0.8


def bench_csv(workdir: Path, runs: int, repeats: int = 3) -> dict[str, Any]:
    """Rows/s of ``.import`` and of our build, per export file and for all four."""
    shell = shutil.which("sqlite3")
    if shell is None:
        print("CSV benchmark skipped: no sqlite3 shell on PATH", file=sys.stderr)
        return {"skipped": "sqlite3 shell not found on PATH"}
    workdir = Path(workdir)
    files = export_files(workdir, runs)
    startup = _best(lambda: _shell(shell, workdir / "startup.db", ".quit"), repeats)
    results: dict[str, Any] = {"runs": runs, "sqlite3": _shell_version(shell),
                               "sqlite_library": sqlite3.sqlite_version,
                               "shell_startup_s": startup, "target_ratio": TARGET_RATIO,
                               "files": {}}
    totals = {"rows": 0, "import_s": 0.0, "build_s": 0.0}
    for kind, path in files.items():
        rows = _data_rows(path)
        imported = max(_best(lambda: _import(shell, workdir / "import.db", path), repeats)
                       - startup, 1e-9)
        built = _best(lambda: _build(workdir / "build.sqlite", path), repeats)
        results["files"][kind] = _figures(rows, imported, built)
        totals["rows"] += rows
        totals["import_s"] += imported
        totals["build_s"] += built
    results["all"] = _figures(int(totals["rows"]), totals["import_s"], totals["build_s"])
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
    return files


def _figures(rows: int, import_s: float, build_s: float) -> dict[str, Any]:
    return {"rows": rows, "import_s": round(import_s, 4), "build_s": round(build_s, 4),
            "import_rows_per_s": round(rows / import_s), "build_rows_per_s": round(rows / build_s),
            "ratio": round(import_s / build_s, 3)}


def _best(measure: Callable[[], float], repeats: int) -> float:
    return min(measure() for _ in range(max(repeats, 1)))


def _shell(shell: str, db: Path, command: str) -> float:
    _remove_database(db)
    started = time.perf_counter()
    subprocess.run([shell, str(db), command], check=True, capture_output=True)
    return time.perf_counter() - started


def _import(shell: str, db: Path, path: Path) -> float:
    return _shell(shell, db, f".import --csv {path} t")


def _build(db: Path, path: Path) -> float:
    _remove_database(db)
    Warehouse(db).close()  # the schema exists, as in any build after the first
    started = time.perf_counter()
    summary = build(db, [path])
    seconds = time.perf_counter() - started
    if not summary.ok:
        raise RuntimeError(f"CSV build failed: {summary.failed[0].error}")
    return seconds


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
             f"target ratio {results['target_ratio']}):"]
    for kind, fig in [*results["files"].items(), ("all four", results["all"])]:
        lines.append(f"  {kind:<16} {fig['rows']:>8} rows  .import {fig['import_rows_per_s']:>8} "
                     f"rows/s  build {fig['build_rows_per_s']:>8} rows/s  ratio {fig['ratio']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m warehouse.bench_csv", description=__doc__)
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
