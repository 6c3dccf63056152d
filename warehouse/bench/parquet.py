"""Parquet export speed: rows/s writing every table and view of a demo warehouse.

``bench_parquet(workdir, runs)`` builds a warehouse of ``runs`` demo runs
(once; the data and the build are reused), then times ``warehouse export
--format parquet`` of it in a child process, best of ``repeat``: rows
written (all tables and views), seconds, rows/s, MB written and the
child's peak RSS. ``make bench`` runs it on 2,000 runs and on its full
size, so the two peaks show whether memory stays flat. Run alone:
``python -m warehouse.bench.parquet --runs 2000``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from ..access.parquet import MISSING, available
from .measure import generate, timed_build, timed_child


def bench_parquet(workdir: Path, runs: int, repeat: int = 2) -> dict[str, Any]:
    """Figures of the export of a ``runs``-run demo warehouse, or why it was skipped."""
    if not available():
        print(f"Parquet benchmark skipped: {MISSING}", file=sys.stderr)
        return {"skipped": MISSING}
    workdir = Path(workdir)
    db = _warehouse(workdir / f"runs-{runs}", runs)
    best: dict[str, Any] = {}
    for _ in range(repeat):
        result = timed_export(db, workdir / "out")
        if not best or result["seconds"] < best["seconds"]:
            best = result
    best.update({"runs": runs, "warehouse_mb": round(db.stat().st_size / 1e6, 1),
                 "rows_per_s": round(best["rows"] / best["seconds"])})
    return best


def _warehouse(folder: Path, runs: int) -> Path:
    """The demo warehouse of ``runs`` runs, built once."""
    db = folder / "warehouse.sqlite"
    marker = folder / "built.json"
    raw = generate(folder, runs)
    if not (db.exists() and marker.exists()):
        timed_build(db, raw)
        marker.write_text(json.dumps({"runs": runs}))
    return db


def timed_export(db: Path, out: Path) -> dict[str, Any]:
    """``warehouse export --format parquet`` in a child process: wall time, rows, peak RSS."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    log = out.with_suffix(".log")
    command = [sys.executable, "-m", "warehouse.cli", "export", "--db", str(db), "--out", str(out),
               "--format", "parquet"]
    with open(log, "w") as stdout:
        # the sampled peak: rusage's maximum counts this process's pages, as the child
        # is forked from it
        measured = timed_child(command, stdout)
    rows = sum(int(line.rsplit(": ", 1)[1].split()[0]) for line in log.read_text().splitlines())
    written = sum(path.stat().st_size for path in out.rglob("*.parquet"))
    return {"rows": rows, "seconds": round(measured["seconds"], 2),
            "written_mb": round(written / 1e6, 1), "peak_rss_mb": round(measured["peak_rss_all_mb"])}


def report(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"Parquet export: skipped ({result['skipped']})"
    return (f"Parquet export of {result['runs']} runs ({result['warehouse_mb']} MB): "
            f"{result['rows']} rows in {result['seconds']} s, {result['rows_per_s']} rows/s, "
            f"{result['written_mb']} MB written, peak RSS {result['peak_rss_mb']} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m warehouse.bench.parquet", description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--workdir", type=Path, default=Path("bench-out") / "parquet")
    args = parser.parse_args(argv)
    print(report(bench_parquet(args.workdir, args.runs)))


if __name__ == "__main__":
    main()
