"""The worker begins the next file while the writer commits the one before.

Its job is made before that commit (``build._Workers.prepare``), and it is
read as if that file were committed (``FileJob.carry_runs``): a run it shares
with the file before is a duplicate, or a conflict, as in a build that waits.
Should the file before fail after all, the next one is read again.
"""

from __future__ import annotations

import copy
import sqlite3
import time
from pathlib import Path

import pytest

import warehouse.pipeline.build as build_module
from test_many_nodes import table_rows, write
from warehouse.demo import generate
from warehouse.errors import WarehouseError
from warehouse.pipeline.build import build
from warehouse.store import Warehouse


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Small files go through the worker too; the files begun early are listed."""
    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    prepared: list[str] = []
    take = build_module._Workers.take

    def noted(self, source):
        found = take(self, source)
        if found is not None:
            prepared.append(source.path.parent.name)
        return found

    monkeypatch.setattr(build_module._Workers, "take", noted)
    return prepared


def three_files(folder: Path) -> Path:
    docs = list(generate(6, seed=41))
    changed = copy.deepcopy(docs[1])
    changed["slatkin_exact"][0] += 0.25
    write(folder / "raw" / "node1" / "a.json.gz", docs[:4])
    write(folder / "raw" / "node2" / "b.json.gz", docs[2:], era="2.4")  # 2 runs of a again
    write(folder / "raw" / "node3" / "c.json.gz", [changed])           # another run 1
    return folder / "raw"


def slow_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits that take their time: the worker reads the next file meanwhile."""
    commit = Warehouse.commit

    def slow(self: Warehouse) -> None:
        time.sleep(0.5)
        commit(self)

    monkeypatch.setattr(Warehouse, "commit", slow)


def test_runs_of_the_file_before_count_as_stored(tmp_path: Path, parallel: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    raw = three_files(tmp_path)
    slow_commits(monkeypatch)
    summary = build(tmp_path / "w.sqlite", [raw], jobs=2)
    assert summary.ok and summary.parallel
    assert parallel == ["node2", "node3"]  # both begun before the file ahead committed
    assert [(f.runs, f.duplicates, f.conflicts) for f in summary.files] == [
        (4, 0, 0), (2, 2, 0), (0, 0, 1)]
    assert build(tmp_path / "one.sqlite", [raw], jobs=1).ok
    assert table_rows(tmp_path / "w.sqlite") == table_rows(tmp_path / "one.sqlite")


def test_the_next_file_is_read_again_when_the_one_before_fails(
        tmp_path: Path, parallel: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    raw = three_files(tmp_path)
    commit = Warehouse.commit

    def failing(self: Warehouse) -> None:
        last = self.query("SELECT path FROM source ORDER BY source_id DESC").fetchone()[0]
        if last.endswith("a.json.gz"):
            raise WarehouseError("the disk said no")
        commit(self)

    monkeypatch.setattr(Warehouse, "commit", failing)
    summary = build(tmp_path / "w.sqlite", [raw], jobs=2)
    assert [f.status for f in summary.files] == ["failed", "loaded", "loaded"]
    assert parallel == ["node3"]  # node2's early job was thrown away, and it was read again
    # a failed: b's runs are all stored, none taken for a duplicate of a's
    assert [(f.runs, f.duplicates, f.conflicts) for f in summary.files[1:]] == [(4, 0, 0), (1, 0, 0)]
    with sqlite3.connect(tmp_path / "w.sqlite") as con:
        assert con.execute("SELECT count(*) FROM run").fetchone() == (5,)
