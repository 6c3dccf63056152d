"""A build killed with SIGKILL leaves a valid warehouse of whole files; a re-run completes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from warehouse.pipeline.build import build
from warehouse.demo import write_demo

TABLES_TO_COMPARE = ("run", "parameter", "census", "census_locus", "sample", "sample_locus",
                     "sample_trait", "sample_configuration")


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES_TO_COMPARE}


def no_process_mentions(text: str, within: float) -> bool:
    """Whether, within some seconds, no process has ``text`` on its command line."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    alive.append(entry.name)
            except OSError:
                continue
        if not alive:
            return True
        time.sleep(0.2)
    return False


def test_sigkill_mid_build_then_rerun(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_demo(raw, n_runs=1600, nodes=8, seed=21, eras="3.x", compression="gzip")
    db = tmp_path / "w.sqlite"
    child = subprocess.Popen([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db), "-q", str(raw)])
    deadline = time.monotonic() + 120
    loaded = 0
    while time.monotonic() < deadline and child.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    loaded = con.execute("SELECT count(*) FROM source").fetchone()[0]
            except sqlite3.OperationalError:
                loaded = 0  # schema not created yet
            if loaded >= 2:
                break
        time.sleep(0.05)
    assert child.poll() is None, "the build finished before it could be killed: make the input larger"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert no_process_mentions(str(db), within=10), "a worker process outlived the killed build"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        files = con.execute("SELECT count(*), coalesce(sum(runs), 0) FROM source").fetchone()
        runs = con.execute("SELECT count(*) FROM run").fetchone()[0]
    assert 2 <= files[0] < 8
    assert runs == files[1] == files[0] * 200  # only whole files
    rerun = subprocess.run([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db), "-q", str(raw)])
    assert rerun.returncode == 0
    fresh = tmp_path / "fresh.sqlite"
    assert build(fresh, [raw]).ok
    assert counts(db) == counts(fresh)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM source").fetchone() == (8,)
        assert con.execute("SELECT count(DISTINCT simulation_run_id) FROM run").fetchone() == (1600,)


def test_readers_can_query_while_a_build_writes(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_demo(raw, n_runs=800, nodes=4, seed=22, eras="3.x", compression="gzip")
    db = tmp_path / "w.sqlite"
    child = subprocess.Popen([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db), "-q", str(raw)])
    seen = set()
    try:
        while child.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=0.5) as con:
                        seen.add(con.execute("SELECT count(*) FROM run").fetchone()[0])
                except sqlite3.OperationalError as error:
                    assert "no such table" in str(error)  # only before the schema exists
            time.sleep(0.02)
    finally:
        child.wait(timeout=120)
    assert child.returncode == 0
    assert len(seen) >= 2 and max(seen) <= 800  # a reader saw the build progress, file by file
    assert all(count % 200 == 0 for count in seen)
