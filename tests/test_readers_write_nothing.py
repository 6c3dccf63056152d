"""status, verify, export, report and browse never write to the warehouse, and read a read-only one."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import fingerprint, remount
from warehouse.access.browse import database_name, make_datasette
from warehouse.cli import main
from warehouse.demo import write_demo
from warehouse.pipeline.build import build

COMMANDS = ("status", "verify", "export", "report")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readers")
    write_demo(folder / "raw", n_runs=12, nodes=2, seed=9)
    db = folder / "w.sqlite"
    assert build(db, [folder / "raw"]).ok
    return db


def read_with(command: str, db: Path, out: Path):
    options = {"export": ["--out", str(out), "--basename", "b"],
               "report": ["--out", str(out)]}.get(command, [])
    result = CliRunner().invoke(main, [command, "--db", str(db), *options])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("command", COMMANDS)
def test_reading_leaves_bytes_and_mtime_as_they_were(built: Path, tmp_path: Path,
                                                      command: str) -> None:
    db = tmp_path / "w.sqlite"
    shutil.copy2(built, db)
    before = fingerprint(db)
    read_with(command, db, tmp_path / "out")
    assert fingerprint(db) == before


def test_reading_an_immutable_warehouse(built: Path, tmp_path: Path, immutable) -> None:
    db = tmp_path / "w.sqlite"
    shutil.copy2(built, db)
    immutable(db)
    for command in COMMANDS:
        read_with(command, db, tmp_path / command)


def test_reading_a_warehouse_on_a_read_only_mount(built: Path, tmp_path: Path, tmpfs) -> None:
    point = tmpfs("ro", "16m")
    db = point / "w.sqlite"
    shutil.copy2(built, db)  # in WAL mode, without the -shm file SQLite wants beside it
    remount(point, "ro")
    for command in COMMANDS:
        read_with(command, db, tmp_path / command)
    status = read_with("status", db, tmp_path)
    assert "12 runs" in status.output


def test_browse_listens_on_loopback_by_default() -> None:
    host = next(p for p in main.commands["browse"].params if p.name == "host")
    assert host.default == "127.0.0.1"


def test_browse_opens_the_warehouse_read_only(built: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    shutil.copy2(built, db)
    before = fingerprint(db)
    datasette = make_datasette(db)
    database = datasette.get_database(database_name(db))

    async def attempt() -> None:
        await database.execute_write("CREATE TABLE intruder (x)")

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        asyncio.run(attempt())
    assert fingerprint(db) == before
