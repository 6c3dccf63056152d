"""A run both in a dump and in CSV exports: one run, documents win, disagreements recorded."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from test_csv_roundtrip import VIEWS, assert_same_views

from warehouse.pipeline.build import build
from warehouse.demo import generate
from warehouse.demo.dialects import write_json_lines
from warehouse.access.export import export
from warehouse.access.verify import problems

RUNS = 6


def write_node(folder: Path, docs: list[dict], era: str = "3.x") -> None:
    """A node's mongoexport JSON lines of the given era."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "mixture_model_stats.json", "wb") as fh:
        write_json_lines(fh, docs, era)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Demo runs as JSON, their CSV exports, and a JSON-only warehouse to compare with."""
    root = tmp_path_factory.mktemp("mixed")
    docs = list(generate(RUNS, seed=23))
    write_node(root / "json" / "node1", docs[:3])
    write_node(root / "json" / "node2", docs[3:], era="2.4")
    reference = root / "reference.sqlite"
    assert build(reference, [root / "json"]).ok
    export(reference, root / "csv", "eq")
    return {"json": root / "json", "csv": root / "csv", "reference": reference}


def edit_csv(path: Path, out: Path, run: str, column: str, value: str) -> int:
    """Copy an export file with one field changed; returns the changed row's line."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    index = rows[0].index(column)
    line = next(i for i, row in enumerate(rows) if row[0] == run) + 1
    rows[line - 1][index] = value
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return line


def run_ids(db: Path) -> dict[str, int]:
    return dict(sqlite3.connect(db).execute("SELECT simulation_run_id, run_id FROM run"))


@pytest.mark.parametrize("order", ["json first", "csv first"])
def test_one_run_per_key_whatever_came_first(sources, tmp_path, order):
    paths = [sources["json"], sources["csv"]]
    if order == "csv first":
        paths.reverse()
    db = tmp_path / "w.sqlite"
    summary = build(db, paths)
    assert summary.ok and summary.total("disagreements") == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*), count(DISTINCT simulation_run_id) FROM run"
                       ).fetchone() == (RUNS, RUNS)
    assert_same_views(sources["reference"], db)
    # the documents' detail is all there, whichever came first
    for table in ("census_locus", "sample_locus", "census_trait", "sample_configuration"):
        counted = [sqlite3.connect(d).execute(f"SELECT count(*) FROM {table}").fetchone()
                   for d in (sources["reference"], db)]
        assert counted[0] == counted[1], table
    # the run row names the document; the parameter the CSV file alone gives is kept
    assert con.execute("SELECT count(*) FROM run WHERE document_id IS NULL").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM parameter WHERE name = "
                       "'kandler_interval_generations' AND value = 50").fetchone() == (RUNS,)


def test_csv_first_keeps_the_run_ids_the_csv_gave(sources, tmp_path):
    db = tmp_path / "w.sqlite"
    assert build(db, [sources["csv"]]).ok
    before = run_ids(db)
    summary = build(db, [sources["json"]])
    assert summary.ok and summary.total("runs") == RUNS
    assert run_ids(db) == before
    assert summary.total("duplicates") == 0
    again = build(tmp_path / "w.sqlite", [sources["json"]])  # already in the ledger
    assert [f.status for f in again.files] == ["skipped", "skipped"]


def altered_csv(sources, tmp_path: Path) -> tuple[Path, str, dict[str, int]]:
    """The exports with three values changed; returns folder, run, line per file kind."""
    run = sqlite3.connect(sources["reference"]).execute(
        "SELECT simulation_run_id FROM run ORDER BY run_id LIMIT 1 OFFSET 2").fetchone()[0]
    out = tmp_path / "edited"
    lines = {}
    for path in sources["csv"].iterdir():
        target = out / path.name
        if path.name.endswith("population-data.csv"):
            lines["population"] = edit_csv(path, target, run, "configuration_slatkin", "0.123")
        elif path.name.endswith("-sampled-data.csv"):
            lines["sampled"] = edit_csv(path, target, run, "innovation_rate", "9.5")
        elif path.name.endswith("simulation-data.csv"):
            lines["simulation"] = edit_csv(path, target, run, "random_seed", "12345")
        else:
            target.write_bytes(path.read_bytes())
    return out, run, lines


@pytest.mark.parametrize("order", ["json first", "csv first"])
def test_differing_values_are_recorded_and_the_documents_shown(sources, tmp_path, order):
    edited, run, lines = altered_csv(sources, tmp_path)
    db = tmp_path / "w.sqlite"
    paths = [sources["json"], edited] if order == "json first" else [edited, sources["json"]]
    summary = build(db, paths)
    assert summary.ok
    assert summary.total("disagreements") == 3
    con = sqlite3.connect(db)
    reference = sqlite3.connect(sources["reference"])
    expected_seed = reference.execute(
        "SELECT value FROM parameter JOIN run USING (run_id) WHERE simulation_run_id = ? "
        "AND name = 'random_seed'", (run,)).fetchone()[0]
    expected_slatkin = reference.execute(
        "SELECT configuration_slatkin FROM population_data WHERE simulation_run_id = ?",
        (run,)).fetchone()[0]
    found = con.execute(
        "SELECT r.simulation_run_id, d.table_name, d.column_name, d.stored_value, d.file_value, "
        "s.path, d.source_line FROM disagreement AS d JOIN run AS r USING (run_id) "
        "JOIN source AS s USING (source_id) ORDER BY d.table_name, d.column_name").fetchall()
    by_name = {p.name.split("-", 1)[1]: str(p) for p in edited.iterdir()}
    assert found == [
        (run, "census", "configuration_slatkin", expected_slatkin, 0.123,
         by_name["population-data.csv"], lines["population"]),
        (run, "parameter", "innovation_rate",
         con.execute("SELECT value FROM parameter JOIN run USING (run_id) WHERE "
                     "simulation_run_id = ? AND name = 'innovation_rate'", (run,)).fetchone()[0],
         9.5, by_name["sampled-data.csv"], lines["sampled"]),
        (run, "parameter", "random_seed", expected_seed, 12345,
         by_name["simulation-data.csv"], lines["simulation"]),
    ]
    assert_same_views(sources["reference"], db)  # the views show the documents' values


def test_values_within_tolerance_agree(sources, tmp_path):
    run = sqlite3.connect(sources["reference"]).execute(
        "SELECT simulation_run_id, configuration_slatkin FROM population_data LIMIT 1").fetchone()
    path = next(p for p in sources["csv"].iterdir() if p.name.endswith("population-data.csv"))
    nudged = run[1] * (1 + 3e-13)
    edit_csv(path, tmp_path / "csv" / path.name, run[0], "configuration_slatkin", repr(nudged))
    summary = build(tmp_path / "w.sqlite", [sources["json"], tmp_path / "csv"])
    assert summary.ok and summary.total("disagreements") == 0
    stored = sqlite3.connect(tmp_path / "w.sqlite").execute(
        "SELECT configuration_slatkin FROM population_data WHERE simulation_run_id = ?",
        (run[0],)).fetchone()[0]
    assert stored == run[1]  # the document's value, not overwritten


def test_csv_values_fill_what_is_missing(sources, tmp_path):
    """A CSV file loaded after its runs' documents adds what they lack, nothing else."""
    db = tmp_path / "w.sqlite"
    assert build(db, [sources["json"]]).ok
    con = sqlite3.connect(db)
    con.execute("UPDATE census SET config_iqv = NULL")  # as if the documents lacked it
    con.commit()
    summary = build(db, [sources["csv"]])
    assert summary.ok and summary.total("runs") == 0
    assert con.execute("SELECT count(*) FROM census WHERE config_iqv IS NULL").fetchone() == (0,)
    assert_same_views(sources["reference"], db)
    for view in VIEWS:
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == sqlite3.connect(
            sources["reference"]).execute(f"SELECT count(*) FROM {view}").fetchone()


def test_replacing_a_csv_file_whose_runs_documents_took_over(sources, tmp_path):
    """CSV first, then documents adopt three of its runs, then the CSV file changes
    and is loaded again with --replace: the documents stay the record of their
    runs, the CSV-only runs take the new values, nothing of the old file is left."""
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for path in sources["csv"].iterdir():
        (csv_dir / path.name).write_bytes(path.read_bytes())
    db = tmp_path / "w.sqlite"
    assert build(db, [csv_dir]).ok
    adopted_node = sources["json"] / "node1"
    assert build(db, [adopted_node]).ok
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM run WHERE document_id IS NOT NULL"
                       ).fetchone() == (3,)
    population = next(csv_dir.glob("*population-data.csv"))
    old_id = con.execute("SELECT source_id FROM source WHERE path = ?",
                         (str(population),)).fetchone()[0]
    adopted, csv_only = (con.execute(
        "SELECT simulation_run_id FROM run WHERE document_id IS " + what +
        " ORDER BY run_id LIMIT 1").fetchone()[0] for what in ("NOT NULL", "NULL"))
    edit_csv(population, tmp_path / "edited.csv", adopted, "configuration_slatkin", "0.123")
    edit_csv(tmp_path / "edited.csv", population, csv_only, "configuration_slatkin", "0.456")

    assert not build(db, [csv_dir]).ok  # changed, and not asked to replace
    summary = build(db, [csv_dir], replace=True)
    assert summary.ok, [str(f.error) for f in summary.failed]
    (replaced,) = [f for f in summary.files if f.status == "loaded"]
    assert replaced.path == str(population) and replaced.disagreements == 1
    assert con.execute("SELECT count(*), count(DISTINCT simulation_run_id) FROM run"
                       ).fetchone() == (RUNS, RUNS)
    slatkin = dict(con.execute("SELECT simulation_run_id, configuration_slatkin "
                               "FROM population_data"))
    reference = dict(sqlite3.connect(sources["reference"]).execute(
        "SELECT simulation_run_id, configuration_slatkin FROM population_data"))
    assert slatkin[adopted] == reference[adopted]  # the document's value
    assert slatkin[csv_only] == 0.456  # the new file's
    assert con.execute("SELECT d.column_name, d.file_value FROM disagreement AS d "
                       "JOIN run USING (run_id) WHERE simulation_run_id = ?",
                       (adopted,)).fetchall() == [("configuration_slatkin", 0.123)]
    for table in ("run", "csv_origin", "csv_correction", "disagreement", "source"):
        assert con.execute(f"SELECT count(*) FROM {table} WHERE source_id = ?",
                           (old_id,)).fetchone() == (0,), table
    assert list(problems(db)) == []
