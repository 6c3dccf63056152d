"""Two builds on one warehouse: the second waits for the first, then loads what is missing."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.cli import main
from warehouse.cli.common import EXIT_CODES
from warehouse.demo import write_demo
from warehouse.pipeline.build import build
from warehouse.store import Problem, Warehouse, WarehouseFileError
from warehouse.store.lock import BuildLock, lock_path

NODES = 6
RUNS_PER_NODE = 100


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("race") / "raw"
    write_demo(folder, n_runs=NODES * RUNS_PER_NODE, nodes=NODES, seed=31, eras="3.x",
               compression="gzip")
    return folder


def start_build(db: Path, *paths: Path, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db),
                             *extra, *map(str, paths)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def test_two_racing_builds_load_the_union_exactly_once(raw: Path, tmp_path: Path) -> None:
    nodes = sorted(raw.iterdir())
    first, second = nodes[:4], nodes[2:]  # node3 and node4 in both
    waited = 0
    for round_ in range(3):
        db = tmp_path / f"w{round_}.sqlite"
        builds = [start_build(db, *first), start_build(db, *second)]
        seen_while_racing = set()
        while any(b.poll() is None for b in builds):  # readers read throughout
            if db.exists():
                try:
                    seen_while_racing.add(query(db, "SELECT count(*) FROM run")[0][0])
                except sqlite3.OperationalError as error:
                    assert "no such table" in str(error)  # before the schema exists
            time.sleep(0.05)
        outputs = [b.communicate()[1] for b in builds]
        assert [b.returncode for b in builds] == [0, 0], outputs
        waited += sum("waiting for the build of pid" in out for out in outputs)
        assert query(db, "SELECT count(*), count(DISTINCT simulation_run_id) FROM run") == [
            (NODES * RUNS_PER_NODE, NODES * RUNS_PER_NODE)]
        assert query(db, "SELECT count(*), count(DISTINCT sha256), sum(runs) FROM source") == [
            (NODES, NODES, NODES * RUNS_PER_NODE)]
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        assert all(count % RUNS_PER_NODE == 0 for count in seen_while_racing)  # whole files
        assert not lock_path(db).exists()
    assert waited, "no round had one build wait for the other: make the input larger"


def test_the_waiting_line_names_the_holder_and_wait_bounds_it(raw: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    holder = BuildLock(db)
    holder.acquire()
    try:
        result = CliRunner().invoke(main, ["build", "--db", str(db), "--wait", "0.5", str(raw)])
    finally:
        holder.release()
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == EXIT_CODES[Problem.BUSY] == 3
    assert lines[0].startswith(f"{db}: waiting for the build of pid {os.getpid()} on "
                               f"{socket.gethostname()}, running since ")
    assert lines[1].startswith(f"warehouse: {db}: still held by the build of pid {os.getpid()}")
    assert lines[1].endswith("after 0.5 s of waiting: nothing was loaded")
    assert len(lines) == 2
    assert not db.exists()  # nothing was created either


def test_a_build_killed_while_holding_the_lock_blocks_nobody(raw: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from pathlib import Path; "
                               "from warehouse.store.lock import BuildLock; "
                               f"BuildLock(Path({str(db)!r})).acquire(); print('held', flush=True); "
                               "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert json.loads(lock_path(db).read_text())["pid"] == holder.pid  # left behind
    summary = build(db, [raw], wait=5)
    assert summary.ok and summary.count("loaded") == NODES
    assert not lock_path(db).exists()


def test_the_worker_process_does_not_keep_the_lock(tmp_path: Path) -> None:
    lock = BuildLock(tmp_path / "w.sqlite")
    lock.acquire()
    try:
        child = os.fork()
        if child == 0:  # the worker: its copy of the descriptor is closed at once
            os._exit(0 if lock.fd is None else 1)
        assert os.waitpid(child, 0)[1] == 0
        assert lock.fd is not None
    finally:
        lock.release()


def test_a_link_and_its_warehouse_share_one_lock(tmp_path: Path) -> None:
    link = tmp_path / "link.sqlite"
    link.symlink_to(tmp_path / "w.sqlite")
    with Warehouse(tmp_path / "w.sqlite"):
        with pytest.raises(WarehouseFileError) as caught:
            Warehouse(link, wait=0)
        assert caught.value.problem is Problem.BUSY


def test_one_process_two_warehouses_one_lock_each(tmp_path: Path) -> None:
    with Warehouse(tmp_path / "a.sqlite"), Warehouse(tmp_path / "b.sqlite"):
        assert lock_path(tmp_path / "a.sqlite").exists()
        with pytest.raises(WarehouseFileError) as caught:
            Warehouse(tmp_path / "a.sqlite", wait=0)
        assert caught.value.problem is Problem.BUSY
    assert not lock_path(tmp_path / "a.sqlite").exists()


def test_without_flock_the_lock_file_is_the_lock(tmp_path: Path, monkeypatch) -> None:
    def no_flock(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    db = tmp_path / "w.sqlite"
    lock_path(db).write_text(json.dumps(  # a build on this host that is gone
        {"pid": 2 ** 22 + 12345, "host": socket.gethostname(), "since": "yesterday"}))
    first = BuildLock(db)
    first.acquire(wait=0)  # the stale file is replaced
    assert json.loads(lock_path(db).read_text())["pid"] == os.getpid()
    with pytest.raises(WarehouseFileError, match="still held by the build of pid"):
        BuildLock(db).acquire(wait=0)
    first.release()
    lock_path(db).write_text(json.dumps({"pid": 1, "host": "node17", "since": "noon"}))
    with pytest.raises(WarehouseFileError, match=f"if that build is gone, remove {lock_path(db)}"):
        BuildLock(db).acquire(wait=0)  # another host: it cannot be told dead



def test_a_lock_file_this_process_may_not_open(tmp_path: Path, monkeypatch) -> None:
    def denied(path, flags, mode=0o777):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", denied)  # as a lock file of another user would be
    with pytest.raises(WarehouseFileError, match="cannot use its lock file .*Permission denied"
                       ) as caught:
        BuildLock(tmp_path / "w.sqlite").acquire(wait=0)
    assert caught.value.problem is Problem.READ_ONLY
