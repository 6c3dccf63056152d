"""Out of space and I/O errors: the file being loaded rolls back, one line, exit 1, the next build completes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import remount
from warehouse.cli import main
from warehouse.demo import write_demo
from warehouse.pipeline.build import build
from warehouse.store import BUILD_PRAGMAS, Problem, Warehouse, WarehouseFileError
from warehouse.store import warehouse as store

TABLES = ("run", "parameter", "census", "census_locus", "sample", "sample_locus", "sample_trait")


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("full") / "raw"
    write_demo(folder, n_runs=400, nodes=4, seed=17, eras="3.x", compression="gzip")
    return folder


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, raw: Path) -> dict[str, int]:
    db = tmp_path_factory.mktemp("fresh") / "w.sqlite"
    assert build(db, [raw]).ok
    return counts(db)


@pytest.fixture(scope="module")
def file_pages(tmp_path_factory, raw: Path) -> int:
    """Pages one input file takes in the warehouse."""
    db = tmp_path_factory.mktemp("one") / "w.sqlite"
    Warehouse(db).close()
    empty = pages(db)
    assert build(db, [raw / "node1"]).ok
    return pages(db) - empty


def pages(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("PRAGMA page_count").fetchone()[0]


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def whole_files_only(db: Path) -> int:
    """The warehouse is valid and holds whole files only; their number."""
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        files, runs = con.execute("SELECT count(*), coalesce(sum(runs), 0) FROM source").fetchone()
        assert con.execute("SELECT count(*) FROM run").fetchone() == (runs,)
        assert runs == files * 100
        assert con.execute("SELECT count(*) FROM failure").fetchone() == (0,)  # not the file's fault
    return files


def limit_pages(monkeypatch, db: Path, extra_pages: int) -> None:
    """SQLite's own ceiling on the file: SQLITE_FULL, as a full disk gives, on any machine."""
    Warehouse(db).close()
    monkeypatch.setattr(store, "BUILD_PRAGMAS",
                        (*BUILD_PRAGMAS, f"max_page_count = {pages(db) + extra_pages}"))


def test_a_full_warehouse_rolls_the_file_back_and_the_next_build_completes(
        raw: Path, tmp_path: Path, monkeypatch, fresh: dict[str, int], file_pages: int) -> None:
    db = tmp_path / "w.sqlite"
    limit_pages(monkeypatch, db, extra_pages=file_pages * 3 // 2)  # room for one file, not two
    with pytest.raises(WarehouseFileError) as caught:
        build(db, [raw], jobs=1)
    error = caught.value
    assert error.problem is Problem.DISK_FULL
    assert str(error).startswith(f"{db}: disk full while loading {raw}/node")
    assert str(error).endswith(": nothing of it was stored; free space and build again")
    assert whole_files_only(db) == 1
    monkeypatch.undo()
    assert build(db, [raw]).ok
    assert whole_files_only(db) == 4 and counts(db) == fresh


def test_the_cli_says_it_in_one_line_and_exits_1(raw: Path, tmp_path: Path, monkeypatch,
                                                 file_pages: int) -> None:
    db = tmp_path / "w.sqlite"
    limit_pages(monkeypatch, db, extra_pages=file_pages * 3 // 2)
    result = CliRunner().invoke(main, ["build", "--db", str(db), str(raw)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"warehouse: {db}: disk full while loading {raw}/node2/mixture_model_stats.json.gz: "
        "nothing of it was stored; free space and build again"]


def test_an_io_error_in_a_worker_build(raw: Path, tmp_path: Path, monkeypatch) -> None:
    def failing_write(self, rows):
        if self.query("SELECT count(*) FROM source").fetchone()[0] == 2:  # in the second file's transaction
            error = sqlite3.OperationalError("disk I/O error")
            error.sqlite_errorcode = 10 | (4 << 8)  # type: ignore[attr-defined]
            error.sqlite_errorname = "SQLITE_IOERR_WRITE"  # type: ignore[attr-defined]
            raise error
        return real_write(self, rows)

    real_write = Warehouse.write
    monkeypatch.setattr(Warehouse, "write", failing_write)
    monkeypatch.setattr("warehouse.pipeline.build.PARALLEL_MIN_BYTES", 0)  # with the worker
    db = tmp_path / "w.sqlite"
    with pytest.raises(WarehouseFileError) as caught:
        build(db, [raw], jobs=2)
    assert caught.value.problem is Problem.IO_ERROR
    assert "I/O error (SQLITE_IOERR_WRITE) while loading" in str(caught.value)
    assert "check the disk" in str(caught.value)
    assert not multiprocessing.active_children()  # the worker was ended, not left reading
    assert whole_files_only(db) == 1
    monkeypatch.undo()
    assert build(db, [raw]).ok and whole_files_only(db) == 4


def test_a_real_full_disk(raw: Path, tmpfs, fresh: dict[str, int]) -> None:
    point = tmpfs("small", "3m")  # the schema and a file or two fit, not all four
    db = point / "w.sqlite"
    result = subprocess.run([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db),
                             str(raw)], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"warehouse: {db}: disk full while loading {raw}/node")
    assert result.stderr.endswith("nothing of it was stored; free space and build again\n")
    assert "Traceback" not in result.stderr
    assert whole_files_only(db) < 4
    remount(point, "size=256m")  # space freed
    again = subprocess.run([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db), "-q",
                            str(raw)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert whole_files_only(db) == 4 and counts(db) == fresh
