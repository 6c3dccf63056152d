"""The wrong file as --db: one line each, a distinct exit code, the file untouched."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import fingerprint, remount
from warehouse.cli import main
from warehouse.cli.common import EXIT_CODES
from warehouse.demo import write_demo
from warehouse.pipeline.build import build
from warehouse.store import APPLICATION_ID, Problem, Warehouse, WarehouseFileError, schema_version


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wrong") / "raw"
    write_demo(folder, n_runs=8, nodes=2, seed=3)
    return folder


@pytest.fixture(scope="module")
def good(tmp_path_factory, raw: Path) -> Path:
    db = tmp_path_factory.mktemp("good") / "w.sqlite"
    assert build(db, [raw]).ok
    return db


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


def refused(db: Path, raw: Path, problem: Problem, *words: str) -> str:
    """Build into ``db``: refused with the problem's exit code and one line; nothing changed."""
    before = fingerprint(db) if db.is_file() else None
    result = cli("build", "--db", str(db), str(raw))
    line = one_line(result)
    assert result.exit_code == EXIT_CODES[problem], line
    assert line.startswith(f"warehouse: {db}: ")
    for word in words:
        assert word in line
    if before is not None:
        assert fingerprint(db) == before
    assert not Path(f"{db}.lock").exists()
    return line


def test_every_cause_has_its_own_exit_code() -> None:
    codes = [code for problem, code in EXIT_CODES.items()
             if problem not in (Problem.DISK_FULL, Problem.IO_ERROR)]
    assert len(set(codes)) == len(codes) and not {0, 1, 2} & set(codes)


def test_a_csv_file(tmp_path: Path, raw: Path) -> None:
    db = tmp_path / "runs.csv"
    db.write_text("simulation_run_id,model_class_label\nurn:uuid:1,allneutral\n")
    line = refused(db, raw, Problem.NOT_SQLITE, "not an SQLite file", "simulation_run_id")
    assert "nothing was changed" in line


def test_a_binary_file(tmp_path: Path, raw: Path) -> None:
    db = tmp_path / "w.sqlite"
    db.write_bytes(b"\x1f\x8b\x08\x00" + bytes(200))
    refused(db, raw, Problem.NOT_SQLITE, "1f 8b 08 00")


def test_a_damaged_sqlite_file(tmp_path: Path, raw: Path, good: Path) -> None:
    db = tmp_path / "w.sqlite"
    db.write_bytes(good.read_bytes()[:100] + b"\xff" * 8000)  # the header, then garbage
    refused(db, raw, Problem.NOT_SQLITE, "damaged")


def test_another_applications_database(tmp_path: Path, raw: Path) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE sale (id INTEGER, amount REAL)")
    refused(db, raw, Problem.NOT_WAREHOUSE, "without the warehouse's tables", "sale")
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA application_id = 1196444487")  # GeoPackage
    refused(db, raw, Problem.NOT_WAREHOUSE, "another application", "0x47504b47 'GPKG'")


def test_a_warehouse_of_a_newer_version(tmp_path: Path, raw: Path, good: Path) -> None:
    db = tmp_path / "w.sqlite"
    db.write_bytes(good.read_bytes())
    with sqlite3.connect(db) as con:
        con.execute(f"PRAGMA user_version = {schema_version() + 3}")
    refused(db, raw, Problem.NEWER_SCHEMA, f"schema {schema_version() + 3}",
            f"knows up to {schema_version()}")


def test_not_a_regular_file(tmp_path: Path, raw: Path) -> None:
    fifo = tmp_path / "w.sqlite"
    os.mkfifo(fifo)  # opening it to look would block for good
    refused(fifo, raw, Problem.NOT_SQLITE, "not a regular file")


def test_a_folder(tmp_path: Path, raw: Path) -> None:
    refused(tmp_path, raw, Problem.FOLDER, "is a folder")


def test_a_missing_parent_folder_is_not_created(tmp_path: Path, raw: Path) -> None:
    db = tmp_path / "not" / "there" / "w.sqlite"
    refused(db, raw, Problem.NO_PARENT, "does not exist", "create it first")
    assert not (tmp_path / "not").exists()
    (tmp_path / "file").write_text("")
    refused(tmp_path / "file" / "w.sqlite", raw, Problem.NO_PARENT, "is not a folder")


def test_an_immutable_warehouse(tmp_path: Path, raw: Path, good: Path, immutable) -> None:
    db = tmp_path / "w.sqlite"
    db.write_bytes(good.read_bytes())
    immutable(db)
    refused(db, raw, Problem.READ_ONLY, "read-only", "immutable")


def test_a_warehouse_without_write_permission(tmp_path: Path, raw: Path, good: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write a file without write permission")
    db = tmp_path / "w.sqlite"
    db.write_bytes(good.read_bytes())
    db.chmod(0o444)
    refused(db, raw, Problem.READ_ONLY, "no permission")


def test_an_unreadable_file(tmp_path: Path, raw: Path, monkeypatch) -> None:
    db = tmp_path / "w.sqlite"
    db.write_bytes(b"")
    real_open = open

    def denied(path, *args, **kwargs):
        if Path(path) == db:  # as a file of another user, mode 600, would be
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", denied)
    with pytest.raises(WarehouseFileError, match="cannot read it .Permission denied.") as caught:
        build(db, [raw])
    assert caught.value.problem is Problem.READ_ONLY


def test_a_read_only_mount(raw: Path, good: Path, tmpfs) -> None:
    point = tmpfs("ro", "16m")
    db = point / "w.sqlite"
    db.write_bytes(good.read_bytes())
    remount(point, "ro")
    refused(db, raw, Problem.READ_ONLY, "read-only filesystem")
    refused(point / "new.sqlite", raw, Problem.READ_ONLY, "cannot write in the folder")


def test_an_unmarked_warehouse_is_accepted_and_marked(tmp_path: Path, raw: Path, good: Path) -> None:
    db = tmp_path / "w.sqlite"
    db.write_bytes(good.read_bytes())
    with sqlite3.connect(db) as con:  # as warehouses were built before they were marked
        con.execute("PRAGMA application_id = 0")
    result = cli("build", "--db", str(db), "-q", str(raw))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)


def test_a_new_or_empty_file_becomes_a_marked_warehouse(tmp_path: Path) -> None:
    (tmp_path / "empty.sqlite").touch()
    for name in ("new.sqlite", "empty.sqlite"):
        with Warehouse(tmp_path / name) as warehouse:
            assert warehouse.query("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
            assert warehouse.version() == schema_version()


def test_the_library_raises_the_one_error_type(tmp_path: Path, raw: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(WarehouseFileError) as caught:
        build(tmp_path / "x.csv", [raw])
    assert caught.value.problem is Problem.NOT_SQLITE
    assert str(caught.value).startswith(f"{tmp_path / 'x.csv'}: not a warehouse")


@pytest.mark.parametrize("command", ["status", "verify", "export", "report"])
def test_reading_commands_refuse_the_wrong_file_alike(tmp_path: Path, command: str) -> None:
    csv_file, other = tmp_path / "runs.csv", tmp_path / "app.db"
    csv_file.write_text("a,b\n1,2\n")
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE sale (id INTEGER)")
    extra = {"export": ["--out", str(tmp_path / "out"), "--basename", "b"],
             "report": ["--out", str(tmp_path / "out")]}.get(command, [])
    for db, problem in ((csv_file, Problem.NOT_SQLITE), (other, Problem.NOT_WAREHOUSE),
                        (tmp_path, Problem.FOLDER)):
        before = fingerprint(db) if db.is_file() else None
        result = cli(command, "--db", str(db), *extra)
        assert result.exit_code == EXIT_CODES[problem], result.output
        assert one_line(result).startswith(f"warehouse: {db}: ")
        assert before is None or fingerprint(db) == before
    assert not (tmp_path / "out").exists()  # refused before writing anything


def test_the_readme_lists_every_exit_code() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### When things go wrong", 1)[1].split("\n## ", 1)[0]
    for code in {0, 2, *EXIT_CODES.values()}:
        assert f"\n| {code} |" in section, code
    assert "\n| 130, 143 |" in section
