"""Many nodes, one warehouse: duplicates, conflicts, replaced files, parallel builds."""

from __future__ import annotations

import copy
import gzip
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.pipeline.build import build
from warehouse.cli import main
from warehouse.demo import generate, write_demo
from warehouse.demo.dialects import write_json_lines
from warehouse.profiles.ctmixtures import TABLES


def write(path: Path, docs: list[dict], era: str = "3.x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        write_json_lines(fh, docs, era)
    return path


def table_rows(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, keys and ledger columns left out."""
    con = sqlite3.connect(db)
    skip = {"run_id", "sample_id", "source_id", "timing_id", "document_id", "conflict_id",
            "label_id"}
    found = {}
    for table, columns in TABLES.items():
        kept = [c for c in columns if c not in skip]
        found[table] = sorted(map(repr, con.execute(f"SELECT {', '.join(kept)} FROM {table}")))
    return found


def test_same_run_same_content_from_two_nodes_is_a_duplicate(tmp_path: Path) -> None:
    docs = list(generate(4, seed=31))
    write(tmp_path / "raw" / "node1" / "a.json.gz", docs)
    write(tmp_path / "raw" / "node2" / "b.json.gz", docs[2:], era="2.4")  # 16 digits, ints for doubles
    db = tmp_path / "w.sqlite"
    summary = build(db, [tmp_path / "raw"])
    assert summary.ok
    assert [(f.runs, f.duplicates, f.conflicts) for f in summary.files] == [(4, 0, 0), (0, 2, 0)]
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM run").fetchone() == (4,)
    assert con.execute("SELECT count(*) FROM conflict").fetchone() == (0,)
    assert con.execute("SELECT sum(duplicates) FROM source").fetchone() == (2,)


def test_same_run_other_content_is_a_conflict_kept_whole(tmp_path: Path) -> None:
    docs = list(generate(3, seed=32))
    changed = copy.deepcopy(docs[1])
    changed["slatkin_exact"][0] += 0.25
    write(tmp_path / "raw" / "node1" / "a.json.gz", docs)
    other = write(tmp_path / "raw" / "node2" / "b.json.gz", [changed])
    db = tmp_path / "w.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), str(tmp_path / "raw")])
    assert result.exit_code == 0
    assert "1 runs read again with other content" in result.output
    con = sqlite3.connect(db)
    stored = con.execute("SELECT slatkin_exact FROM census_locus JOIN run USING (run_id) "
                         "WHERE simulation_run_id = ? AND locus = 0", (docs[1]["simulation_run_id"],))
    assert stored.fetchone() == (docs[1]["slatkin_exact"][0],)  # the first version stays
    run_key, node, path, document = con.execute(
        "SELECT c.simulation_run_id, c.node, s.path, c.document "
        "FROM conflict AS c JOIN source AS s USING (source_id)").fetchone()
    assert (run_key, node, path) == (docs[1]["simulation_run_id"], "node2", str(other))
    assert json.loads(document)["slatkin_exact"][0] == changed["slatkin_exact"][0]
    status = json.loads(CliRunner().invoke(main, ["status", "--db", str(db), "--json"]).output)
    assert status["conflicts"] == 1


def test_changed_file_is_reported_and_replaced_only_when_asked(tmp_path: Path) -> None:
    docs = list(generate(5, seed=33))
    path = write(tmp_path / "raw" / "node1" / "runs.json.gz", docs[:3])
    write(tmp_path / "raw" / "node2" / "other.json.gz", docs[4:])
    db = tmp_path / "w.sqlite"
    assert build(db, [tmp_path / "raw"]).ok
    write(path, docs[1:4])  # the node's export was redone: one run gone, one new
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", str(tmp_path / "raw")])
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}: content changed since it was loaded on ")
    con = sqlite3.connect(db)
    keys = lambda: {k for (k,) in con.execute("SELECT simulation_run_id FROM run")}
    assert keys() == {d["simulation_run_id"] for d in docs[:3] + docs[4:]}
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", "--replace", str(tmp_path / "raw")])
    assert result.exit_code == 0
    assert keys() == {d["simulation_run_id"] for d in docs[1:]}
    assert con.execute("SELECT count(*) FROM source").fetchone() == (2,)
    fresh = tmp_path / "fresh.sqlite"
    assert build(fresh, [tmp_path / "raw"]).ok
    assert table_rows(db) == table_rows(fresh)  # no orphan rows of the old content


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("nodes") / "raw"
    write_demo(raw, n_runs=240, nodes=8, seed=34)  # every era, compression and form mixed
    return raw


def test_parallel_build_gives_the_same_rows(nodes: Path, tmp_path: Path, monkeypatch) -> None:
    import warehouse.pipeline.build as build_module

    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    single = build(tmp_path / "one.sqlite", [nodes], jobs=1)
    double = build(tmp_path / "two.sqlite", [nodes], jobs=2)
    assert single.ok and double.ok and double.parallel and not single.parallel
    assert [(f.runs, f.rows, f.values) for f in single.files] == [
        (f.runs, f.rows, f.values) for f in double.files]
    assert table_rows(tmp_path / "one.sqlite") == table_rows(tmp_path / "two.sqlite")


def test_parallel_build_reports_a_damaged_file_and_loads_the_rest(tmp_path: Path, monkeypatch) -> None:
    import warehouse.pipeline.build as build_module

    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    docs = list(generate(6, seed=35))
    write(tmp_path / "raw" / "node1" / "a.json.gz", docs[:3])
    bad = tmp_path / "raw" / "node2" / "b.json"
    bad.parent.mkdir()
    with open(bad, "wb") as fh:
        write_json_lines(fh, docs[3:5], "3.x")
        fh.write(b"{oops\n")
    write(tmp_path / "raw" / "node3" / "c.json.gz", docs[5:])
    summary = build(tmp_path / "w.sqlite", [tmp_path / "raw"], jobs=2)
    assert summary.parallel
    assert [f.status for f in summary.files] == ["loaded", "failed", "loaded"]
    assert str(summary.files[1].error).startswith(f"{bad}:3: malformed JSON")
    con = sqlite3.connect(tmp_path / "w.sqlite")
    assert con.execute("SELECT count(*) FROM run").fetchone() == (4,)
