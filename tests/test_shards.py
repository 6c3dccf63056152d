"""Shards built apart and merged equal one build over the same inputs in the same order.

Compared table by table with the keys replaced by what they name (a run by
its simulation_run_id, a source by its path, a sample by its run and grain),
on inputs with duplicates and conflicts within and across shards.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import rows
from warehouse.cli import main
from warehouse.demo import generate, make_timing, timing_rng
from warehouse.demo.compressed import open_writer
from warehouse.demo.dialects import write_json_lines
from warehouse.pipeline.build import build, input_sources
from warehouse.store.merge import merge_shards
from warehouse.store.shards import KEY_BITS, key_base, manifest_path

SHARD_ONLY = {"shard", "shard_document", "shard_duplicate", "merged_shard"}
DROPPED = {"loaded_at", "failed_at", "tool_version", "conflict_id", "skipped_id", "failure_id",
           "disagreement_id", "timing_id", "document_id"}


def natural(db: Path) -> dict[str, list]:
    """Every table, each key replaced by what it names, rows sorted."""
    con = sqlite3.connect(db)
    sources = dict(con.execute("SELECT source_id, path FROM source"))
    runs = dict(con.execute("SELECT run_id, simulation_run_id FROM run"))
    samples = {sid: (runs[rid], dur, size) for sid, rid, dur, size in
               con.execute("SELECT sample_id, run_id, ta_duration, sample_size FROM sample")}
    containers = dict(con.execute("SELECT container_id, path FROM container"))
    labels = {lid: (runs[rid], text) for lid, rid, text in
              con.execute("SELECT label_id, run_id, label FROM configuration_label")}
    keys = {"source_id": sources, "run_id": runs, "sample_id": samples,
            "container_id": containers, "label_id": labels}
    found = {}
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite_%'"):
        if table in SHARD_ONLY:
            continue
        cursor = con.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        out = []
        for row in cursor:
            out.append(tuple(repr(keys[n].get(v, v)) if n in keys else repr(v)
                             for n, v in zip(names, row) if n not in DROPPED))
        found[table] = sorted(out)
    con.close()
    return found


def write_node(root: Path, node: str, documents: list[dict], timings: bool = False) -> None:
    folder = root / node
    folder.mkdir(parents=True, exist_ok=True)
    with open_writer(folder / "runs.json.gz", "gzip") as fh:
        write_json_lines(fh, documents, "3.x")
    if timings:
        with open_writer(folder / "simulation_timing.json", "none") as fh:
            write_json_lines(fh, [make_timing(d, timing_rng(1, i)) for i, d in enumerate(documents)],
                             "3.x")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Six node folders: duplicates and conflicts within and across any split, a tarball,
    a damaged file, documents of an unknown collection."""
    raw = tmp_path_factory.mktemp("shards") / "raw"
    docs = list(generate(30, seed=6))
    changed = copy.deepcopy(docs[2])
    changed["innovation_rate"] = 0.123
    other = copy.deepcopy(docs[9])
    other["pop_richness"][0] += 1
    write_node(raw, "node1", docs[:8], timings=True)
    write_node(raw, "node2", docs[8:14])
    write_node(raw, "node3", docs[14:18] + [changed, docs[4]])      # a conflict, a duplicate
    write_node(raw, "node4", docs[18:22] + [other, changed, docs[10], docs[2]])
    write_node(raw, "node5", docs[22:26] + [docs[2], other])
    (raw / "node5" / "notes.json").write_text('{"note": "kept whole"}\n')
    (raw / "node5" / "broken.json").write_text('{"simulation_run_id": "x", \n')
    write_node(raw.parent / "tarred", "node6", docs[26:] + [changed])
    with tarfile.open(raw / "node6.tar.gz", "w:gz") as tar:
        tar.add(raw.parent / "tarred" / "node6", "node6")
    return raw


@pytest.fixture(scope="module")
def one_build(inputs: Path) -> dict[str, list]:
    db = inputs.parent / "one.sqlite"
    build(db, [inputs])
    return natural(db)


def shards_of(inputs: Path, folder: Path, cuts: list[int]) -> list[Path]:
    sources = input_sources([inputs])
    bounds = [0, *cuts, len(sources)]
    paths = []
    for number, (start, end) in enumerate(zip(bounds, bounds[1:])):
        shard = folder / f"shard-{number}.sqlite"
        build(shard, [], sources=sources[start:end], shard=number, jobs=1)
        paths.append(shard)
    return paths


@pytest.mark.parametrize("cuts", [[2], [1, 3, 5], [4]])
def test_merged_shards_equal_one_build(inputs, one_build, tmp_path, cuts):
    shards = shards_of(inputs, tmp_path, cuts)
    merged = tmp_path / "merged.sqlite"
    merge_shards(merged, shards)
    assert natural(merged) == one_build
    assert rows(merged, "SELECT count(*) FROM conflict") == [(5,)]  # the inputs hold five
    assert rows(merged, "PRAGMA integrity_check") == [("ok",)]


def test_a_shard_keeps_its_keys_above_its_base(inputs, tmp_path):
    shard = tmp_path / "s7.sqlite"
    build(shard, [inputs / "node1"], shard=7, jobs=1)
    base = key_base(7)
    assert base == 8 * 2**40
    for table, key in (("source", "source_id"), ("run", "run_id"), ("sample", "sample_id"),
                       ("simulation_timing", "timing_id")):
        (low, high), = rows(shard, f"SELECT min({key}), max({key}) FROM {table}")
        assert base < low <= high < base + (1 << KEY_BITS), table
    manifest = json.loads(manifest_path(shard).read_text())
    assert manifest["shard"] == 7 and manifest["complete"]
    assert manifest["tables"]["run"] == 8 == rows(shard, "SELECT count(*) FROM shard_document")[0][0]


def test_merging_again_or_into_a_warehouse_holding_some_inputs_adds_only_what_is_new(
        inputs, tmp_path):
    shards = shards_of(inputs, tmp_path, [3])
    merged, expected = tmp_path / "merged.sqlite", tmp_path / "one.sqlite"
    for db in (merged, expected):  # some of the inputs, loaded already
        build(db, [inputs / "node1", inputs / "node2"])
    build(expected, [inputs])  # then one build of them all
    merge_shards(merged, shards)
    assert natural(merged) == natural(expected)
    outcomes = merge_shards(merged, shards)  # once more: nothing new
    assert [(o.sources, o.runs) for o in outcomes] == [(0, 0), (0, 0)]
    assert natural(merged) == natural(expected)


def test_a_shard_whose_manifest_does_not_match_is_refused_whole(inputs, tmp_path):
    shards = shards_of(inputs, tmp_path, [3])
    with sqlite3.connect(shards[1]) as con:  # a worker died mid-way: a file more than said
        con.execute("DELETE FROM parameter WHERE name = 'random_seed'")
    merged = tmp_path / "merged.sqlite"
    result = CliRunner().invoke(main, ["merge", "--db", str(merged), str(shards[0]),
                                       str(shards[1])])
    assert result.exit_code == 1
    assert f"{shards[1]}: its content does not match its manifest" in result.output
    assert rows(merged, "SELECT count(*) FROM merged_shard") == [(1,)]  # the first went in
    manifest_path(shards[0]).unlink()
    result = CliRunner().invoke(main, ["merge", "--db", str(tmp_path / "other.sqlite"),
                                       str(shards[0])])
    assert result.exit_code == 1 and "no manifest" in result.output
    assert rows(tmp_path / "other.sqlite", "SELECT count(*) FROM source") == [(0,)]


def test_a_shard_is_built_into_a_new_file(inputs, tmp_path):
    db = tmp_path / "w.sqlite"
    build(db, [inputs / "node1"])
    result = CliRunner().invoke(main, ["build", "--db", str(db), "--shard", "2",
                                       str(inputs / "node2")])
    assert result.exit_code == 1 and "a shard is built into a new file" in result.output


def test_build_on_a_local_dask_cluster(inputs, one_build, tmp_path):
    pytest.importorskip("distributed")
    db = tmp_path / "dask.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), "--dask", "local:2",
                                       str(inputs)])
    assert result.exit_code == 1, result.output  # broken.json fails in its shard
    assert "shard" in result.output and "built and merged" in result.output
    assert natural(db) == one_build


def test_shards_straight_to_parquet(inputs, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("pyarrow")
    from warehouse.access.parquet import export_parquet

    sources = input_sources([inputs / "node1", inputs / "node2"])
    out = tmp_path / "parquet"
    for number, group in enumerate((sources[:1], sources[1:])):
        shard = tmp_path / f"s{number}.sqlite"
        build(shard, [], sources=group, shard=number, jobs=1)
        export_parquet(shard, out / f"shard={number}")
    got = duckdb.sql(f"SELECT shard, count(*), count(DISTINCT run_id) FROM read_parquet("
                     f"'{out}/*/run/**/*.parquet', hive_partitioning = true) "
                     "GROUP BY shard ORDER BY shard").fetchall()
    assert got == [(0, 8, 8), (1, 6, 6)]
