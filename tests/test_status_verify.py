"""`warehouse status` and `warehouse verify` on a small built warehouse."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.pipeline.build import build
from warehouse.cli import main
from warehouse.demo import write_demo


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sv")
    write_demo(folder / "raw", n_runs=24, nodes=3, seed=5, eras="3.x", compression="gzip")
    db = folder / "w.sqlite"
    assert build(db, [folder / "raw"]).ok
    return db


@pytest.fixture
def copy(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.sqlite"
    shutil.copy(built, target)
    return target


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_status_counts_per_node_and_format(built: Path) -> None:
    result = invoke("status", "--db", str(built), "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["files"] == 3 and report["runs"] == 24 and report["conflicts"] == 0
    assert [(s["node"], s["format"], s["runs"]) for s in report["sources"]] == [
        ("node1", "mongoexport-jsonl", 8), ("node2", "mongoexport-jsonl", 8),
        ("node3", "mongoexport-jsonl", 8)]
    assert report["rows_per_table"]["census"] == 24
    text = invoke("status", "--db", str(built)).output
    assert text.splitlines()[0].endswith(report["last_build"])
    assert "node2" in text and "24 runs" in text


def test_verify_passes_on_a_sound_warehouse(built: Path) -> None:
    result = invoke("verify", "--db", str(built))
    assert result.exit_code == 0 and result.output.strip().endswith(": ok")


def test_verify_finds_a_wrong_aggregate(copy: Path) -> None:
    with sqlite3.connect(copy) as con:
        con.execute("UPDATE census SET richness_locus_max = richness_locus_max + 1 WHERE run_id = 3")
        con.execute("UPDATE sample SET slatkin_locus_mean = 0.123 WHERE sample_id = 7")
    result = invoke("verify", "--db", str(copy))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("aggregates: census run_id=3: richness_locus_max is ")
    assert lines[1].startswith("aggregates: sample sample_id=7: slatkin_locus_mean is 0.123")
    assert lines[-1] == f"warehouse: 2 problems in {copy}"


def test_verify_finds_missing_parameters_and_ledger_drift(copy: Path) -> None:
    with sqlite3.connect(copy) as con:
        run_key = con.execute("SELECT simulation_run_id FROM run WHERE run_id = 5").fetchone()[0]
        con.execute("DELETE FROM parameter WHERE run_id = 5")
        con.execute("UPDATE source SET runs = runs + 1 WHERE source_id = 1")
    output = invoke("verify", "--db", str(copy)).output
    assert f"parameters: run {run_key}: a run read from a document has no parameters" in output
    assert "ledger: " in output and "the ledger says 9 runs, the run table holds 8" in output


def test_status_lists_files_that_failed_until_they_load(tmp_path: Path) -> None:
    from warehouse.demo import generate
    from warehouse.demo.dialects import write_json_lines

    path = tmp_path / "raw" / "node1" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"simulation_run_id": "urn:uuid:1", "slatkin_exact": [\n')
    db = tmp_path / "w.sqlite"
    assert invoke("build", "--db", str(db), "-q", str(tmp_path / "raw")).exit_code == 1
    report = json.loads(invoke("status", "--db", str(db), "--json").output)
    assert [(f["path"], f["error"]) for f in report["failing_files"]] == [
        (str(path), f"{path}:1: malformed JSON: Expecting value at column 56")]
    assert "1 files failed to load" in invoke("status", "--db", str(db)).output
    with open(path, "wb") as fh:  # the file is mended
        write_json_lines(fh, list(generate(1, seed=2)), "3.x")
    assert invoke("build", "--db", str(db), "-q", str(tmp_path / "raw")).exit_code == 0
    report = json.loads(invoke("status", "--db", str(db), "--json").output)
    assert report["failing_files"] == [] and report["runs"] == 1


REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "ctmixtures-exports"


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent")
def test_verify_passes_on_csv_exports_with_per_locus_files(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    assert build(db, [REALDATA / "evtest4m"]).ok
    result = invoke("verify", "--db", str(db))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as con:  # a wrong aggregate that per-locus rows do give is found
        con.execute("UPDATE census SET richness_locus_max = richness_locus_max + 1 WHERE run_id = 1")
    assert "richness_locus_max" in invoke("verify", "--db", str(db)).output
