"""MongoDB data directories at their edges: where they sit in a tarball, a file missing,
a folder named after its database, the server's own databases, what status says.

Tarballs are made with the real ``tar``; WiredTiger files by the ``wt`` utility,
MMAPv1 ones by the project's writer (as in test_datadirs).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from conftest import rows
from test_datadirs import DB, documents, write_dump, write_mmapv1, write_wiredtiger
from warehouse.cli import main
from warehouse.demo.mmapv1_writer import CollectionSpec as MmapSpec
from warehouse.demo.mmapv1_writer import write_mmapv1_dir
from wiredtiger_helpers import require_wt


def tar(archive: Path, folder: Path, *names: str) -> Path:
    """``tar -C folder -caf archive names…`` (``.`` by default): the real tool."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-C", str(folder), "-caf", str(archive), *(names or ["."])],
                   check=True)
    return archive


def build(db: Path, *paths: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", *map(str, paths)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_data_directory_at_the_root_of_a_tarball(tmp_path):
    runs, timings = documents(0, 4)
    write_wiredtiger(tmp_path / "data", runs, timings)
    node = tar(tmp_path / "node3.tar.gz", tmp_path / "data")  # members ./WiredTiger, …
    db = tmp_path / "w.sqlite"
    code, output = build(db, node)
    assert (code, output) == (0, "")
    assert rows(db, "SELECT count(*), min(node) FROM run") == [(4, "node3")]
    assert rows(db, "SELECT count(*) FROM document WHERE collection = 'storage'") == [(0,)]
    assert rows(db, "SELECT path FROM source ORDER BY path") == [
        (f"{node}!.!{DB}.{name}",) for name in ("mixture_model_stats", "notes",
                                                 "simulation_timing")]
    statuses = dict(rows(db, "SELECT member, status FROM container_member"))
    assert statuses["."] == "container"
    assert statuses["./storage.bson"] == "data-file"


def test_nested_containers_keep_their_data_files_apart(tmp_path):
    """Both at their container's root, names without ./: the inner tar's files are
    neither the outer directory's nor mixed with its files."""
    runs, timings = documents(0, 3)
    write_wiredtiger(tmp_path / "wt", runs, timings)
    inner = tar(tmp_path / "stage" / "inner.tar", tmp_path / "wt",
                *sorted(p.name for p in (tmp_path / "wt").iterdir()))
    other_runs, other_timings = documents(3, 3)
    write_mmapv1(tmp_path / "stage", other_runs, other_timings)
    outer = tar(tmp_path / "outer.tar", tmp_path / "stage",
                *sorted(p.name for p in (tmp_path / "stage").iterdir()))
    assert inner.exists()
    db = tmp_path / "w.sqlite"
    assert build(db, outer) == (0, "")
    assert rows(db, "SELECT count(*) FROM run") == [(6,)]
    assert rows(db, "SELECT format, count(*) FROM source GROUP BY format") == [
        ("mongodb-mmapv1", 2), ("mongodb-wiredtiger", 3)]
    paths = [p for (p,) in rows(db, "SELECT path FROM source ORDER BY path")]
    assert f"{outer}!.!{DB}.mixture_model_stats" in paths
    assert f"{outer}!inner.tar!.!{DB}.mixture_model_stats" in paths
    members = dict(rows(db, "SELECT member, status FROM container_member"))
    assert members["inner.tar!WiredTiger"] == "data-file"
    assert members[f"{DB}.ns"] == "data-file"
    assert members["inner.tar"] == members["."] == members["inner.tar!."] == "container"


def test_a_missing_table_file_fails_that_collection_alone(tmp_path):
    runs, timings = documents(0, 4)
    folder = tmp_path / "raw" / "node1"
    write_wiredtiger(folder, runs, timings)
    from warehouse.formats.wiredtiger import read_wiredtiger_dir

    table = next(c.path for c in read_wiredtiger_dir(folder).collections
                 if c.name == "simulation_timing")
    table.unlink()
    tarball = tar(tmp_path / "node1.tar.gz", tmp_path / "raw", "node1")
    for given, display in ((tmp_path / "raw", f"{folder}"), (tarball, f"{tarball}!node1")):
        db = tmp_path / f"{given.name}.sqlite"
        code, output = build(db, given)
        assert code == 1
        assert f"{display}!{DB}.simulation_timing: its table file {table.name} is missing" \
            in output.splitlines()
        assert "Traceback" not in output
        assert rows(db, "SELECT count(*) FROM run") == [(4,)]
        assert rows(db, "SELECT collection FROM source ORDER BY 1") == [
            ("mixture_model_stats",), ("notes",)]


def named_after_its_database(raw: Path) -> None:
    """raw/<DB>: an MMAPv1 dbpath named after its database, copied without its lock file
    (4 runs), beside raw/node1, a WiredTiger dbpath (3), and raw/node9, a mongodump (2)."""
    write_mmapv1(raw / DB, *documents(0, 4))
    (raw / DB / "mongod.lock").unlink()
    write_wiredtiger(raw / "node1", *documents(4, 3))
    write_dump(raw / "node9", *documents(7, 2), notes=False)


def test_a_dbpath_named_after_its_database_is_not_its_parents(tmp_path):
    raw = tmp_path / "raw"
    named_after_its_database(raw)
    tarball = tar(tmp_path / "raw.tar.gz", tmp_path, "raw")
    for given in (raw, tarball):
        db = tmp_path / f"{given.name}.sqlite"
        assert build(db, given) == (0, "")
        assert rows(db, "SELECT count(*) FROM run") == [(9,)]
        assert dict(rows(db, "SELECT format, count(*) FROM source GROUP BY 1")) == {
            "mongodb-mmapv1": 2, "mongodb-wiredtiger": 3, "mongodump-bson": 2}
    assert rows(tmp_path / "raw.sqlite", "SELECT path, node FROM container ORDER BY 1") == [
        (str(raw / DB), DB), (str(raw / "node1"), "node1")]


def test_directory_per_db_without_a_lock_file_is_still_one_dbpath(tmp_path):
    write_mmapv1(tmp_path / "raw" / "node5", *documents(0, 4), directory_per_db=True)
    (tmp_path / "raw" / "node5" / "mongod.lock").unlink()  # nothing but a database folder
    db = tmp_path / "w.sqlite"
    assert build(db, tmp_path / "raw") == (0, "")
    assert rows(db, "SELECT path, kind FROM container") == [
        (str(tmp_path / "raw" / "node5"), "mongodb-mmapv1")]
    assert rows(db, "SELECT node, count(*) FROM run GROUP BY node") == [("node5", 4)]


def test_files_in_a_data_directory_that_no_reader_reads_are_said(tmp_path):
    folder = tmp_path / "raw" / "node5"
    write_mmapv1(folder, *documents(0, 2), directory_per_db=True)  # lock file: a dbpath
    write_dump(folder / "node9", *documents(2, 2), notes=False)
    (folder / ".hidden").write_text("not said")
    db = tmp_path / "w.sqlite"
    code, output = build(db, tmp_path / "raw")
    assert code == 0
    (line,) = output.splitlines()
    assert line.startswith(f"{folder}: not a data directory's files, not read: "
                           f"node9/dump/{DB}/mixture_model_stats.bson, ")
    assert ".hidden" not in line


SCRAM = "c2FsdGVkLXNlY3JldC1oYXNoLW9mLWEtcGFzc3dvcmQ="


def test_the_servers_own_databases_are_metadata_and_credentials_are_left_out(tmp_path):
    require_wt()
    from bson import Timestamp

    from warehouse.demo.wiredtiger_writer import CollectionSpec, write_dbpath

    runs, _ = documents(0, 3)
    oplog = [{"ts": Timestamp(1, i), "op": "i", "ns": f"{DB}.mixture_model_stats", "o": run}
             for i, run in enumerate(runs)]
    user = {"_id": "admin.sim", "user": "sim", "db": "admin", "roles": [],
            "credentials": {"SCRAM-SHA-1": {"iterationCount": 10000, "salt": "c2FsdA==",
                                            "storedKey": SCRAM, "serverKey": SCRAM}}}
    write_dbpath(tmp_path / "raw" / "node1", [
        CollectionSpec(f"{DB}.mixture_model_stats", runs),
        CollectionSpec("local.oplog.rs", oplog),
        CollectionSpec("local.startup_log", [{"_id": "host-1", "hostname": "host"}]),
        CollectionSpec("config.transactions", [{"_id": {"id": 1}, "txnNum": 3}]),
        CollectionSpec("admin.system.users", [user]),
        CollectionSpec("admin.system.version", [{"_id": "featureCompatibilityVersion"}])])
    write_mmapv1_dir(tmp_path / "raw" / "node2", {  # 2.4: users in each database
        DB: [MmapSpec("system.users", [{"user": "sim", "pwd": SCRAM}])]})
    db = tmp_path / "w.sqlite"
    assert build(db, tmp_path / "raw") == (0, "")
    assert rows(db, "SELECT count(*) FROM run") == [(3,)]
    assert rows(db, "SELECT count(*) FROM document") == [(0,)]
    assert rows(db, "SELECT collection FROM source") == [("mixture_model_stats",)]
    members = {member: (status, note) for member, status, note in rows(
        db, "SELECT member, status, note FROM container_member")}
    for name in ("local.oplog.rs", "local.startup_log", "config.transactions",
                 "admin.system.version"):
        assert members[name][0] == "metadata"
    assert '"op": "i"' in members["local.oplog.rs"][1]
    for name in ("admin.system.users", f"{DB}.system.users"):
        assert members[name] == ("metadata", "1 document(s) left out: they hold credentials")
    everything = "".join(str(value) for table in ("container_member", "source", "container")
                         for row in rows(db, f"SELECT * FROM {table}") for value in row)
    assert SCRAM not in everything
    from warehouse.pipeline.build import build as build_here

    said = {f.path.rsplit("!", 1)[-1]: f.note
            for f in build_here(tmp_path / "again.sqlite", [tmp_path / "raw"]).files}
    assert said["local.oplog.rs"].startswith("the server's own, not data")
    assert said["admin.system.version"].startswith("a system collection")


def test_status_counts_an_mmapv1_collection_by_its_records_not_its_databases_files(tmp_path):
    folder = tmp_path / "raw" / "node2"
    write_mmapv1(folder, *documents(0, 4))
    db = tmp_path / "w.sqlite"
    assert build(db, tmp_path / "raw") == (0, "")
    from warehouse.formats.mmapv1 import read_mmapv1_dir

    datasize = {c.name: c.metadata["datasize"] for c in read_mmapv1_dir(folder).collections}
    sizes = dict(rows(db, "SELECT collection, size FROM source"))
    assert sizes == {name: datasize[name] for name in ("mixture_model_stats",
                                                       "simulation_timing")}
    result = CliRunner().invoke(main, ["status", "--db", str(db), "--json"])
    (source,) = json.loads(result.output)["sources"]
    whole = sum(p.stat().st_size for p in folder.rglob("*"))
    assert source["bytes"] == sum(sizes.values()) < whole  # was twice the database's files
