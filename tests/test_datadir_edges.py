"""MongoDB data directories at their edges: where they sit in a tarball, a file missing,
a folder named after its database, the server's own databases, what status says.

Tarballs are made with the real ``tar``; WiredTiger files by the ``wt`` utility,
MMAPv1 ones by the project's writer (as in test_datadirs).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from conftest import rows
from test_datadirs import DB, documents, write_dump, write_mmapv1, write_wiredtiger
from warehouse.cli import main


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
