"""A warehouse on a network filesystem is built in a local copy and moved into place at the end."""

from __future__ import annotations

import errno
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import fingerprint
from warehouse.cli import main
from warehouse.demo import write_demo
from warehouse.pipeline.build import build
from warehouse.store import Problem, WarehouseFileError, filesystem
from warehouse.store import localcopy
from warehouse.store.filesystem import filesystem_type, is_network
from warehouse.store.lock import lock_path

MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
60 27 0:50 / /scratch rw,relatime shared:7 master:2 - lustre 10.0.0.1@tcp:/scratch rw,flock
61 27 0:51 / /home/my\040data rw,relatime - nfs4 nas:/home rw,vers=4.2
62 61 0:52 / /home/my\040data/local rw - ext4 /dev/vdb rw
63 27 0:53 / /mnt/box rw - fuse.sshfs me@box:/ rw
64 63 0:54 / /mnt/box rw - tmpfs tmpfs rw
65 27 0:55 / /mnt/vault rw - fuse.gocryptfs /secret rw
"""


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nfs") / "raw"
    write_demo(folder, n_runs=40, nodes=4, seed=13)
    return folder


@pytest.fixture
def share(tmp_path: Path, monkeypatch) -> Path:
    """A folder the kernel's mount table (faked) says is on NFS."""
    folder = tmp_path / "share"
    folder.mkdir()
    table = tmp_path / "mountinfo"
    table.write_text(Path("/proc/self/mountinfo").read_text() +
                     f"900 27 0:99 / {folder} rw,relatime - nfs4 nas:/export rw,vers=4.2\n")
    monkeypatch.setattr(filesystem, "MOUNTINFO", table)
    return folder


def contents(db: Path) -> list:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT simulation_run_id, node FROM run ORDER BY 1").fetchall()


def journal_mode(db: Path) -> str:
    header = db.read_bytes()[18:20]
    return {b"\x01\x01": "rollback", b"\x02\x02": "wal"}[header]


def test_the_mount_table_names_the_filesystem(tmp_path: Path) -> None:
    table = tmp_path / "mountinfo"
    table.write_text(MOUNTINFO)
    expect = {"/scratch/run7/w.sqlite": "lustre", "/scratch": "lustre", "/scratchy": "ext4",
              "/home/my data/w.sqlite": "nfs4", "/home/my data/local/w.sqlite": "ext4",
              "/mnt/box": "tmpfs",  # mounted over the sshfs mount: the later one is seen
              "/mnt/vault/x": "fuse.gocryptfs", "/": "ext4"}
    for path, fstype in expect.items():
        assert filesystem_type(path, table) == fstype, path
    assert filesystem_type("/x", tmp_path / "absent") is None  # no table: local


def test_which_filesystems_are_network_ones() -> None:
    for name in ("nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "smb3", "ceph", "fuse.sshfs"):
        assert is_network(name), name
    for name in ("ext4", "xfs", "btrfs", "zfs", "tmpfs", "overlay", "fuse.gocryptfs", None):
        assert not is_network(name), name


def test_this_machines_temporary_folder_is_told(tmp_path: Path) -> None:
    assert filesystem_type(tmp_path) is not None


def test_local_disk_builds_in_place_as_before(raw: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    db = tmp_path / "w.sqlite"
    assert build(db, [raw], notify=lines.append).ok
    assert lines == [] and journal_mode(db) == "wal"


def test_a_build_on_nfs_works_locally_and_moves_the_result_into_place(
        raw: Path, tmp_path: Path, share: Path, monkeypatch) -> None:
    local = tmp_path / "local.sqlite"
    assert build(local, [raw]).ok
    db = share / "w.sqlite"
    lines: list[str] = []
    monkeypatch.setattr("warehouse.pipeline.build.PARALLEL_MIN_BYTES", 0)
    summary = build(db, [raw], notify=lines.append, jobs=2)
    assert summary.ok and summary.count("loaded") == 4
    assert summary.parallel  # the worker read the local copy
    assert len(lines) == 1
    match = re.fullmatch(rf"{db} is on nfs4, a network filesystem: building in a local copy "
                         r"\((.+)\), moved into place when the build ends", lines[0])
    assert match, lines
    assert not Path(match[1]).parent.exists()  # the local copy is gone
    assert contents(db) == contents(local)
    assert journal_mode(db) == "rollback"  # readers there need no shared memory
    assert sorted(p.name for p in share.iterdir()) == ["w.sqlite"]  # no -wal, -shm, lock


def test_the_next_build_on_nfs_copies_what_is_there(raw: Path, share: Path) -> None:
    db = share / "w.sqlite"
    assert build(db, [raw / "node1", raw / "node2"]).ok
    summary = build(db, [raw])
    assert summary.count("skipped") == 2 and summary.count("loaded") == 2
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM source").fetchone() == (4,)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_wal_warehouse_moved_to_nfs_is_turned_to_a_rollback_journal(
        raw: Path, tmp_path: Path, share: Path) -> None:
    db = share / "w.sqlite"
    with pytest.MonkeyPatch.context() as local:
        local.setattr(filesystem, "MOUNTINFO", tmp_path / "absent")
        assert build(db, [raw / "node1"]).ok
    assert journal_mode(db) == "wal"
    assert build(db, [raw]).count("loaded") == 3
    assert journal_mode(db) == "rollback" and len(contents(db)) == 40
    assert not Path(f"{db}-wal").exists()


def test_the_cli_says_what_it_does_in_one_line(raw: Path, share: Path) -> None:
    db = share / "w.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", str(raw)])
    assert result.exit_code == 0
    assert result.stderr.count("\n") == 1 and "a network filesystem" in result.stderr


def test_no_room_on_the_share_keeps_the_warehouse_and_the_copy(
        raw: Path, share: Path, monkeypatch) -> None:
    db = share / "w.sqlite"
    assert build(db, [raw / "node1"]).ok
    before = fingerprint(db)

    def full(source: Path, target: Path) -> None:
        Path(target).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(localcopy.shutil, "copyfile", full)
    with pytest.raises(WarehouseFileError) as caught:
        build(db, [raw])
    assert caught.value.problem is Problem.DISK_FULL
    kept = re.search(r"kept in (\S+)$", str(caught.value))
    assert kept and "as it was before this build" in str(caught.value)
    assert fingerprint(db) == before
    assert sorted(p.name for p in share.iterdir()) == ["w.sqlite"]  # no half copy, no lock
    assert len(contents(Path(kept[1]))) == 40
    shutil.rmtree(Path(kept[1]).parent)
    assert not lock_path(db).exists()


def test_a_link_to_a_warehouse_on_nfs_stays_a_link(raw: Path, tmp_path: Path, share: Path) -> None:
    db = share / "w.sqlite"
    link = tmp_path / "link.sqlite"
    link.symlink_to(db)
    assert build(link, [raw]).ok
    assert link.is_symlink() and len(contents(db)) == 40
