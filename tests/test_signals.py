"""SIGINT and SIGTERM stop a build cleanly: the file being loaded rolls back, the worker
ends, one line says what was complete, exit 130 or 143. (SIGKILL: test_crash_safety.py.)"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse.demo import write_demo
from warehouse.pipeline.build import Interrupted, build
from warehouse.store import filesystem, localcopy
from warehouse.store.lock import BuildLock, lock_path
from warehouse.store.signals import deferred


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Ctrl-C as in a terminal, even where these tests run in the background of a
    script (which starts them with SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("signals") / "raw"
    write_demo(folder, n_runs=1200, nodes=8, seed=23, eras="3.x", compression="gzip")
    return folder


def start(db: Path, raw: Path, sigint: object = signal.SIG_DFL) -> subprocess.Popen:
    """A build in a child process, started with SIGINT handled as ``sigint``."""
    return subprocess.Popen([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db),
                             "-q", str(raw)], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))


def loaded(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT count(*) FROM source").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # no schema yet


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_build(raw: Path, tmp_path: Path, signum: int, code: int) -> None:
    db = tmp_path / "w.sqlite"
    child = start(db, raw)
    deadline = time.monotonic() + 120
    while loaded(db) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into the next file (a signal just after a commit is tested too, by chance)
    workers = children(child.pid)
    assert child.poll() is None, "the build ended before the signal: make the input larger"
    assert workers, "no worker process to see ending"
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == code, stderr
    name = signal.Signals(signum).name
    assert re.fullmatch(
        rf"warehouse: {db}: interrupted by {name}( while loading {raw}/node\d/"
        r"mixture_model_stats\.json\.gz: nothing of it was stored)?; (\d) files loaded in full "
        r"\((\d+) runs\); build again to load the rest\n", stderr), stderr
    files, runs = map(int, re.search(r"(\d) files loaded in full \((\d+) runs", stderr).groups())
    assert all(gone(pid) for pid in workers)
    assert not lock_path(db).exists()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT count(*), sum(runs) FROM source").fetchone() == (files, runs)
        assert con.execute("SELECT count(*) FROM run").fetchone() == (runs,)
    again = subprocess.run([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db), "-q",
                            str(raw)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*), count(DISTINCT simulation_run_id) FROM run"
                           ).fetchone() == (1200, 1200)


def test_a_build_started_with_ctrl_c_ignored_outlives_it(raw: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    child = start(db, raw, sigint=signal.SIG_IGN)  # as `warehouse build … &` in a script
    deadline = time.monotonic() + 120
    while loaded(db) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, "the build ended before the signal: make the input larger"
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*), count(DISTINCT simulation_run_id) FROM run"
                           ).fetchone() == (1200, 1200)


def test_a_signal_while_waiting_for_another_build(raw: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    holder = BuildLock(db)
    holder.acquire()
    try:
        child = start(db, raw)
        assert child.stderr is not None
        assert "waiting for the build of pid" in child.stderr.readline()
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    finally:
        holder.release()
    assert child.returncode == 143
    assert stderr == (f"warehouse: {db}: interrupted by SIGTERM; no file was loaded; "
                      "build again to load the rest\n")
    assert not db.exists()


def test_a_step_that_must_finish_finishes_before_the_signal_stops_it() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler would have run by now
            done.append("finished")
    assert done == ["finished"]


def test_ctrl_c_while_moving_a_local_copy_into_place(raw: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    share = tmp_path / "share"
    share.mkdir()
    table = tmp_path / "mountinfo"
    table.write_text(f"1 0 0:1 / / rw - ext4 /dev/vda rw\n2 1 0:2 / {share} rw - nfs4 nas:/ rw\n")
    monkeypatch.setattr(filesystem, "MOUNTINFO", table)
    copy = shutil.copyfile

    def interrupted_copy(source, target):
        os.kill(os.getpid(), signal.SIGINT)
        return copy(source, target)

    monkeypatch.setattr(localcopy.shutil, "copyfile", interrupted_copy)
    db = share / "w.sqlite"
    with pytest.raises(Interrupted) as caught:
        build(db, [raw / "node1", raw / "node2"], jobs=1)
    assert caught.value.loading is None and caught.value.summary.count("loaded") == 2
    with sqlite3.connect(db) as con:  # the move finished: what the message counts is there
        assert con.execute("SELECT count(*) FROM source").fetchone() == (2,)
    assert sorted(p.name for p in share.iterdir()) == ["w.sqlite"]


class _Zeros:
    """``size`` zero bytes, read as a file: a preallocated MMAPv1 data file."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_worker_copies_a_data_directory_leaves_no_copy(
        tmp_path: Path, signum: int) -> None:
    import tarfile

    from warehouse.demo import generate
    from warehouse.demo.mmapv1_writer import CollectionSpec, write_mmapv1_dir

    db_name = "equifinality-3_samples_raw"
    write_mmapv1_dir(tmp_path / "node1", {db_name: [CollectionSpec("mixture_model_stats",
                                                                   list(generate(4, seed=1)))]})
    tar = tmp_path / "node1.tar"
    with tarfile.open(tar, "w") as out:
        out.add(tmp_path / "node1", "node1")
        info = tarfile.TarInfo(f"node1/{db_name}.5")  # copied to a temporary folder: slow
        info.size = 512 << 20
        out.addfile(info, _Zeros(info.size))  # type: ignore[arg-type]
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", "build", "--db", str(tmp_path / "w.sqlite"), "-q",
         str(tar)], stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(temporary)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not any(temporary.glob("warehouse-spool-*")) and time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        time.sleep(0.01)
    assert children(child.pid), "the copy is the worker's: there must be one"
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signum, stderr
    time.sleep(0.5)  # the worker's own exit, after the main process's
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_a_table_is_read_ahead_leaves_no_process(tmp_path: Path,
                                                                 signum: int) -> None:
    """The worker's child reading a WiredTiger table's pages ends with the worker."""
    from wiredtiger_helpers import require_wt

    require_wt()
    from warehouse.demo import generate
    from warehouse.demo.wiredtiger_writer import CollectionSpec, write_dbpath

    runs = list(generate(600, seed=3))  # ~25 MB of BSON: the worker reads it
    write_dbpath(tmp_path / "node1", [CollectionSpec("eq.mixture_model_stats", runs)])
    child = subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", "build", "--db", str(tmp_path / "w.sqlite"), "-q",
         str(tmp_path / "node1")], stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    reading: list[int] = []
    while not reading and time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        reading = [pid for worker in children(child.pid) for pid in children(worker)]
        time.sleep(0.01)
    assert reading, "no process reading ahead was seen"
    workers = children(child.pid)
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signum, stderr
    assert all(gone(pid) for pid in workers + reading)
