"""The build as a user runs it: the CLI, the ledger, failures and re-runs."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from warehouse.cli import main
from warehouse.demo import generate
from warehouse.demo.dialects import write_json_lines
from warehouse.profiles.ctmixtures import TABLES
from warehouse.store import Warehouse, schema_version


def write_node(folder: Path, docs: list[dict], era: str = "3.x", name: str = "mixture_model_stats.json.gz") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with gzip.open(path, "wb") as fh:
        write_json_lines(fh, docs, era)
    return path


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_profile_columns_match_the_schema(tmp_path: Path) -> None:
    with Warehouse(tmp_path / "w.sqlite") as warehouse:
        assert warehouse.version() == schema_version()
        for table, columns in TABLES.items():
            info = warehouse.query(f"PRAGMA table_info({table})").fetchall()
            assert tuple(row[1] for row in info) == columns, table


def test_build_ledger_nodes_and_rebuild_loads_nothing(tmp_path: Path) -> None:
    docs = list(generate(6, seed=3))
    write_node(tmp_path / "raw" / "node1", docs[:3])
    write_node(tmp_path / "raw" / "node2", docs[3:], era="4.2-canonical")
    db = tmp_path / "w.sqlite"
    first = run_cli("build", "--db", str(db), str(tmp_path / "raw"))
    assert first.exit_code == 0, first.output
    con = sqlite3.connect(db)
    ledger = con.execute("SELECT node, format, compression, documents, runs, length(sha256) "
                         "FROM source ORDER BY node").fetchall()
    assert ledger == [("node1", "mongoexport-jsonl", "gzip", 3, 3, 64),
                      ("node2", "mongoexport-jsonl", "gzip", 3, 3, 64)]
    assert con.execute("SELECT count(*), count(DISTINCT node) FROM run").fetchone() == (6, 2)
    rows_before = con.execute("SELECT sum(rows_written) FROM source").fetchone()[0]
    counted = sum(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES)
    assert counted == rows_before  # the ledger counts every row written
    second = run_cli("build", "--db", str(db), str(tmp_path / "raw"))
    assert second.exit_code == 0
    assert "loaded 0 files (2 already loaded" in second.output
    assert con.execute("SELECT count(*) FROM run").fetchone() == (6,)


def test_a_malformed_line_fails_its_file_alone(tmp_path: Path) -> None:
    docs = list(generate(4, seed=5))
    good = write_node(tmp_path / "raw" / "node1", docs[:2])
    bad = tmp_path / "raw" / "node2" / "broken.json"
    bad.parent.mkdir(parents=True)
    with open(bad, "wb") as fh:
        write_json_lines(fh, docs[2:3], "2.4")
        fh.write(b'{"simulation_run_id": "urn:uuid:x", "slatkin_exact": [0.1,\n')
        write_json_lines(fh, docs[3:], "2.4")
    db = tmp_path / "w.sqlite"
    result = run_cli("build", "--db", str(db), "--quiet", str(tmp_path / "raw"))
    assert result.exit_code == 1
    assert result.output.strip() == f"{bad}:2: malformed JSON: Expecting value at column 60"
    con = sqlite3.connect(db)
    assert con.execute("SELECT path FROM source").fetchall() == [(str(good),)]
    assert con.execute("SELECT count(*) FROM run").fetchone() == (2,)  # nothing of node2
    for table in ("census", "sample", "parameter"):
        orphans = con.execute(f"SELECT count(*) FROM {table} WHERE run_id NOT IN (SELECT run_id FROM run)")
        assert orphans.fetchone() == (0,)


def test_wrong_type_and_missing_key_are_located_errors(tmp_path: Path) -> None:
    (doc,) = generate(1, seed=1)
    doc["pop_richness"] = ["many", "few"]
    path = tmp_path / "raw" / "x.json"
    path.parent.mkdir()
    with open(path, "wb") as fh:
        write_json_lines(fh, [{"model_class_label": "allneutral"}, doc], "3.x")
    result = run_cli("build", "--db", str(tmp_path / "w.sqlite"), "-q", str(path))
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"{path}:1: document has no simulation_run_id (a non-empty string)")
    path.write_bytes(path.read_bytes().split(b"\n", 1)[1])
    result = run_cli("build", "--db", str(tmp_path / "w.sqlite"), "-q", str(path))
    assert result.output.strip() == f"{path}:1: field pop_richness: expected numbers, found 'many'"


def test_damaged_gzip_and_empty_and_unknown_files_fail_cleanly(tmp_path: Path) -> None:
    docs = list(generate(3, seed=9))
    whole = write_node(tmp_path / "raw" / "node1", docs)
    cut = tmp_path / "raw" / "node2" / "cut.json.gz"
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    (tmp_path / "raw" / "node3").mkdir()
    (tmp_path / "raw" / "node3" / "empty.json").write_bytes(b"")
    (tmp_path / "raw" / "node3" / "notes.txt").write_bytes(b"hello world\n")
    db = tmp_path / "w.sqlite"
    result = run_cli("build", "--db", str(db), "-q", str(tmp_path / "raw"))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{cut}@") and "damaged gzip stream" in lines[0]
    assert lines[1] == f"{tmp_path / 'raw' / 'node3' / 'empty.json'}@0: empty file"
    assert lines[2].startswith(f"{tmp_path / 'raw' / 'node3' / 'notes.txt'}@0: unknown format")
    assert sqlite3.connect(db).execute("SELECT count(*) FROM run").fetchone() == (3,)


def test_duplicate_runs_are_stored_once_and_counted(tmp_path: Path) -> None:
    docs = list(generate(3, seed=2))
    write_node(tmp_path / "raw" / "node1", docs)
    write_node(tmp_path / "raw" / "node2", docs[1:], era="4.2-relaxed")  # same runs, other bytes
    db = tmp_path / "w.sqlite"
    assert run_cli("build", "--db", str(db), str(tmp_path / "raw")).exit_code == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT node, runs, duplicates FROM source ORDER BY node").fetchall() == [
        ("node1", 3, 0), ("node2", 0, 2)]
    assert con.execute("SELECT count(*) FROM simulation_data").fetchone() == (3,)


def test_export_command_writes_four_files(tmp_path: Path) -> None:
    write_node(tmp_path / "raw" / "node1", list(generate(5, seed=4)))
    db = tmp_path / "w.sqlite"
    assert run_cli("build", "--db", str(db), "-q", str(tmp_path / "raw")).exit_code == 0
    result = run_cli("export", "--db", str(db), "--out", str(tmp_path / "out"), "--basename", "eq3")
    assert result.exit_code == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["eq3-population-data.csv", "eq3-sampled-data.csv",
                     "eq3-simulation-data.csv", "eq3-tasampled-data.csv"]
    lines = (tmp_path / "out" / "eq3-tasampled-data.csv").read_text().splitlines()
    assert len(lines) == 1 + 5 * 4 * 2  # 4 durations x 2 sample sizes per run
    missing = run_cli("export", "--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path), "--basename", "x")
    assert missing.exit_code == 1 and "no warehouse at" in missing.output
