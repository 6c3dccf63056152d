"""`warehouse report`: a self-contained HTML page whose numbers are the warehouse's."""

from __future__ import annotations

import base64
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import built_demo
from warehouse.cli import main
from warehouse.access.report import report
from warehouse.store import Warehouse

PNG = b"\x89PNG\r\n\x1a\n"


class Tables(HTMLParser):
    """Cell texts of every <table id=...>, and the src of every <img>."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag) -> None:
        if tag in ("td", "th") and self._table is not None:
            self._table[-1].append("".join(self._cell or []))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return built_demo(tmp_path_factory.mktemp("report"), n_runs=30, nodes=3, seed=5)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def sql(db: Path, statement: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(statement).fetchall()


def test_report_counts_equal_the_warehouse(db: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--db", str(db), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    index = tmp_path / "r" / "index.html"
    assert result.output.strip() == str(index)
    page = Tables(index.read_text())
    grid = page.tables["runs-per-class-node"]
    header, *body, total = grid
    nodes = header[1:-1]
    shown = {(row[0], node): number(n) for row in body for node, n in zip(nodes, row[1:-1])}
    expected = sql(db, "SELECT model_class_label, node, count(*) FROM run GROUP BY 1, 2")
    assert {(c, n): k for c, n, k in expected} == {key: k for key, k in shown.items() if k}
    assert len(body) == 4 and nodes == ["node1", "node2", "node3"]
    assert total[0] == "total" and number(total[-1]) == 30 == sql(db, "SELECT count(*) FROM run")[0][0]
    for row in body:
        assert number(row[-1]) == sum(number(n) for n in row[1:-1])
    overview = {row[0]: row[1] for row in page.tables["overview"][1:]}
    assert number(overview["runs"]) == 30 and number(overview["nodes"]) == 3
    assert number(overview["samples"]) == sql(db, "SELECT count(*) FROM sample")[0][0]


def test_figures_are_png_files_and_inlined(db: Path, tmp_path: Path) -> None:
    index = report(db, tmp_path)
    files = sorted(tmp_path.glob("*.png"))
    assert [f.stem for f in files] == ["census_distributions", "parameter_coverage",
                                       "runs_per_class_and_node"]
    inlined = Tables(index.read_text()).images
    assert len(inlined) == len(files)
    for src in inlined:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1])
        assert data.startswith(PNG) and data in {f.read_bytes() for f in files}
    assert "<link" not in index.read_text() and "<script" not in index.read_text()


def test_parameter_ranges_and_left_out_values(db: Path, tmp_path: Path) -> None:
    page = Tables(report(db, tmp_path).read_text())
    ranges = {(r[0], r[1]): r for r in page.tables["parameter-ranges"][1:]}
    for label, runs, low, high in sql(db, "SELECT model_class_label, count(*), min(value), max(value) "
                                          "FROM run JOIN parameter USING (run_id) "
                                          "WHERE name = 'innovation_rate' GROUP BY 1"):
        row = ranges[(label, "innovation_rate")]
        assert number(row[2]) == runs
        assert float(row[3]) == pytest.approx(low, rel=1e-5)
        assert float(row[4]) == pytest.approx(high, rel=1e-5)
    left_out = {r[0]: number(r[1]) for r in page.tables["left-out"][1:]}
    nan_slatkin = sql(db, "SELECT count(*) FROM population_data "
                          "WHERE slatkin_locus_mean = 'NaN' OR slatkin_locus_mean IS NULL")[0][0]
    assert left_out["slatkin_locus_mean"] == nan_slatkin


def test_problem_tables_shown_only_when_present(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite"
    shutil.copy(db, copy)
    with sqlite3.connect(copy) as con:
        problem = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                   if any(word in n for word in ("fail", "conflict", "disagree", "correction", "skipped"))]
        for name in problem:
            con.execute(f"DROP TABLE {name}")
    text = report(copy, tmp_path / "none").read_text()
    assert "Recorded problems" not in text
    with sqlite3.connect(copy) as con:
        con.execute("CREATE TABLE conflict (simulation_run_id TEXT, field TEXT, detail TEXT)")
        con.executemany("INSERT INTO conflict VALUES (?, ?, ?)",
                        [(f"urn:uuid:{i}", "innovation_rate", "two values") for i in range(25)])
        con.execute("CREATE TABLE load_failure (path TEXT, message TEXT)")  # present, empty
    page = Tables(report(copy, tmp_path / "some").read_text())
    assert page.tables["problem-counts"][1:] == [["conflict", "25"], ["load_failure", "0"]]
    rows = page.tables["rows-conflict"]
    assert rows[0] == ["simulation_run_id", "field", "detail"] and len(rows) == 1 + 20
    assert "rows-load_failure" not in page.tables


def test_an_empty_warehouse_reports_zero_runs(tmp_path: Path) -> None:
    Warehouse(tmp_path / "empty.sqlite").close()
    page = Tables(report(tmp_path / "empty.sqlite", tmp_path / "out").read_text())
    assert {row[0]: row[1] for row in page.tables["overview"][1:]}["runs"] == "0"
    assert page.images == []
