"""How the benchmarks measure: demo inputs, and a build timed in a child process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..demo import write_demo
from ..sources import find_sources, open_source


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


def timed_child(command: list[str], stdout: Any = subprocess.DEVNULL) -> dict[str, Any]:
    """Run a child process: its wall and CPU seconds (with the worker it waited for),
    its peak RSS and that of all its processes together (``peak_rss_mb`` may count
    this process's pages, shared with the child until it execs: the sampled
    ``peak_rss_all_mb`` does not)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=stdout)
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
