"""The demo in mongodump forms, and the same runs from a dump, an archive and
mongoexport JSON giving the same warehouse."""

from __future__ import annotations

import gzip
import json
import math
import sqlite3
from pathlib import Path

import bson
import pytest
from click.testing import CliRunner

from warehouse import demo
from warehouse.bench.bson_dump import bench_bson
from warehouse.pipeline.build import build
from warehouse.cli import main
from warehouse.demo.dumpwriter import metadata_json
from warehouse.formats.archive import ArchiveReader
from warehouse.formats.mongoexport import read_json_lines

DB = demo.DATABASE
LEDGER_TABLES = {"source", "source_namespace"}
LEDGER_COLUMNS = {"source_id", "source_line", "source_offset"}


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every table and view but the ledger, without the columns that say where
    a row was read; rows in their natural order (surrogate keys included)."""
    con = sqlite3.connect(db)
    names = [name for (name,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name") if name not in LEDGER_TABLES]
    found = {}
    for name in names:
        columns = [row[1] for row in con.execute(f"PRAGMA table_info({name})")
                   if row[1] not in LEDGER_COLUMNS]
        listed = ", ".join(f'"{c}"' for c in columns)
        found[name] = con.execute(f"SELECT {listed} FROM {name} ORDER BY {listed}").fetchall()
    con.close()
    return found


def built(root: Path, name: str) -> dict[str, list[tuple]]:
    db = root.parent / f"{name}.sqlite"
    summary = build(db, [root])
    assert summary.ok, [str(f.error) for f in summary.failed]
    return snapshot(db)


def write_all_forms(tmp_path: Path, eras: str, runs: int = 24, nodes: int = 3, seed: int = 11,
                    compression: str = "gzip") -> dict[str, dict]:
    snapshots = {}
    for form in demo.FORMS:
        demo.write_demo(tmp_path / form, n_runs=runs, nodes=nodes, seed=seed, eras=eras,
                        compression=compression, form=form, timing=True)
        snapshots[form] = built(tmp_path / form, form)
    return snapshots


@pytest.mark.parametrize("era", ["3.x", "4.2-relaxed", "4.2-canonical"])
def test_dump_archive_and_export_give_identical_rows(tmp_path, era):
    snapshots = write_all_forms(tmp_path, era)
    export = snapshots["mongoexport"]
    assert len(export["run"]) == len(export["simulation_timing"]) == 24
    assert len(export["tasampled_data"]) == 24 * 8 and export["document"] == []
    for form in ("dump", "archive"):
        assert snapshots[form].keys() == export.keys()
        for name, expected in export.items():
            assert snapshots[form][name] == expected, (form, name)


def close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=1e-13, abs_tol=1e-300)
    return a == b


def test_every_era_and_compression_match_the_dump(tmp_path):
    # mixed: node k in era k (2.4 included), node 6 a --jsonArray export, every
    # compression, split members. 2.4 printed doubles with 16 digits only.
    snapshots = write_all_forms(tmp_path, "mixed", runs=32, nodes=8, compression="mixed")
    export, dump = snapshots["mongoexport"], snapshots["dump"]
    assert dump == snapshots["archive"]
    rounded = 0
    for name, expected in dump.items():
        assert len(export[name]) == len(expected), name
        for got, want in zip(export[name], expected):
            assert all(close(a, b) for a, b in zip(got, want)), (name, got, want)
            rounded += got != want
    assert rounded  # the 2.4 node really differs in the last digits, and only there


def test_write_demo_dump_layout(tmp_path):
    files = demo.write_demo(tmp_path, n_runs=5, nodes=2, seed=4, form="dump",
                            compression="gzip", timing=True)
    folder = f"dump/{DB}"
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        f"node{k}/{folder}/{name}.bson.gz"
        for k in (1, 2) for name in ("mixture_model_stats", "simulation_timing")]
    assert sorted(p.name for p in (tmp_path / "node1" / folder).iterdir()) == [
        "mixture_model_stats.bson.gz", "mixture_model_stats.metadata.json.gz",
        "simulation_timing.bson.gz", "simulation_timing.metadata.json.gz"]
    metadata = gzip.decompress((tmp_path / "node1" / folder /
                                "simulation_timing.metadata.json.gz").read_bytes()).decode()
    assert metadata == metadata_json(DB, "simulation_timing")
    assert json.loads(metadata)["indexes"][0]["ns"] == f"{DB}.simulation_timing"
    runs = bson.decode_all(gzip.decompress(files[0].read_bytes()))
    timings = bson.decode_all(gzip.decompress(files[1].read_bytes()))
    expected = list(demo.generate(3, seed=4))
    assert [r["simulation_run_id"] for r in runs] == [r["simulation_run_id"] for r in expected]
    assert [t["simulation_run_id"] for t in timings] == [r["simulation_run_id"] for r in runs]
    assert type(runs[0]["random_seed"]) is bson.Int64  # above 2**31: int64 in BSON
    assert type(runs[0]["population_size"]) is int  # int32
    # the same documents as the mongoexport form writes (node _id values included)
    demo.write_demo(tmp_path / "json", n_runs=5, nodes=2, seed=4, eras="4.2-canonical",
                    compression="none")
    with open(tmp_path / "json" / "node1" / "mixture_model_stats.json", "rb") as fh:
        assert [r.document for r in read_json_lines(fh, "x")] == runs


def test_write_demo_archive_interleaves_and_checks(tmp_path, monkeypatch):
    monkeypatch.setattr(demo.experiment, "ARCHIVE_SEGMENT_RUNS", 2)
    (path,) = demo.write_demo(tmp_path, n_runs=5, nodes=1, seed=4, form="archive",
                              compression="none", timing=True)
    assert path.relative_to(tmp_path).as_posix() == f"node1/{DB}.archive"
    with open(path, "rb") as fh:
        reader = ArchiveReader(fh, str(path))
        order = [record.collection for record in reader]
        reader.check_complete()  # every listed collection present; CRCs checked on the way
    assert order == ["mixture_model_stats"] * 2 + ["simulation_timing"] * 2 + \
        ["mixture_model_stats"] * 2 + ["simulation_timing"] * 2 + \
        ["mixture_model_stats", "simulation_timing"]
    assert [(c["db"], c["collection"]) for c in reader.collections] == [
        (DB, "mixture_model_stats"), (DB, "simulation_timing")]
    assert all(ns.stored_crc is not None for ns in reader.namespaces.values())
    assert reader.header["tool_version"].startswith("r3.2")


def test_forms_need_a_known_name(tmp_path):
    with pytest.raises(ValueError, match="form must be one of"):
        demo.write_demo(tmp_path, n_runs=1, form="csv")


def test_cli_demo_forms_then_build(tmp_path):
    runner = CliRunner()
    for form in ("dump", "archive"):
        out = tmp_path / form
        result = runner.invoke(main, ["demo", "--out", str(out), "--runs", "6", "--nodes", "2",
                                      "--form", form, "--timing", "-q"])
        assert result.exit_code == 0, result.output
        db = tmp_path / f"{form}.sqlite"
        result = runner.invoke(main, ["build", "--db", str(db), str(out)])
        assert result.exit_code == 0, result.output
        assert "6 runs" in result.output and "does not know" not in result.output
        con = sqlite3.connect(db)
        assert con.execute("SELECT count(*) FROM run JOIN simulation_timing "
                           "USING (simulation_run_id)").fetchone() == (6,)
        assert {row[0] for row in con.execute("SELECT format FROM source")} == {
            "mongodump-bson" if form == "dump" else "mongodump-archive"}
    bad = runner.invoke(main, ["demo", "--out", str(tmp_path / "x"), "--form", "csv"])
    assert bad.exit_code == 2


def test_bench_bson_reports_every_form(tmp_path):
    result = bench_bson(tmp_path, runs=4)
    forms = {"json_gzip", "dump_gzip", "dump", "archive_gzip"}
    assert set(result) == forms | {"runs", "cpu"}
    assert result["runs"] == 4 and set(result["cpu"]) == forms
    assert all(result[name] > 0 and result["cpu"][name] > 0 for name in forms)
