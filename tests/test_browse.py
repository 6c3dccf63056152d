"""`warehouse browse`: Datasette on a loopback port, describing what the warehouse holds."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.access.browse import database_name, metadata_for
from warehouse.pipeline.build import build
from warehouse.cli import main
from warehouse.demo import write_demo

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browse")
    write_demo(folder / "raw", n_runs=24, nodes=3, seed=7, timing=True)
    path = folder / "small.sqlite"
    assert build(path, [folder / "raw"]).ok
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, timeout: float = 30) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        assert response.status == 200
        return response.read().decode()


@pytest.fixture(scope="module")
def server(db: Path, tmp_path_factory):
    """`warehouse browse` as a user starts it; yields the database's base URL."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("log") / "browse.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "warehouse.cli", "browse", "--db", str(db),
                             "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"warehouse browse exited {proc.returncode}: {log.read()}")
            try:
                fetch(f"{base}/-/versions.json", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"no answer from {base} within {STARTUP_SECONDS} s")
                time.sleep(0.2)
        yield f"{base}/{database_name(db)}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def rows(url: str, **params) -> list[dict]:
    query = urllib.parse.urlencode({"_shape": "array", **params})
    return json.loads(fetch(f"{url}?{query}"))


def sql(db: Path, statement: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(statement, params).fetchall()


def test_metadata_describes_every_table_view_and_column(db: Path) -> None:
    tables = metadata_for(db)["databases"][database_name(db)]["tables"]
    relations = [name for (name,) in sql(db, "SELECT name FROM sqlite_master "
                                             "WHERE type IN ('table', 'view') ORDER BY name")]
    assert set(tables) <= set(relations), "metadata.yml describes tables the warehouse lacks"
    for name in relations:
        described = tables.get(name, {})
        assert described.get("description"), f"describe table {name} in warehouse/datasette/metadata.yml"
        columns = [row[1] for row in sql(db, f'PRAGMA table_info("{name}")')]
        missing = [c for c in columns if not described.get("columns", {}).get(c)]
        assert not missing, f"describe {name}.{missing} in warehouse/datasette/metadata.yml"
    assert set(tables["run"]["facets"]) >= {"model_class_label", "node"}


def test_database_page_lists_queries_tables_and_description(server: str) -> None:
    page = fetch(server)
    for text in ("Runs per model class and node", "Parameter ranges per model class",
                 "One run&#39;s full record", "tasampled_data", "census_configuration",
                 "whole-population statistics"):
        assert text in page, text


def test_table_page_shows_column_descriptions_and_facets(server: str, db: Path) -> None:
    page = fetch(f"{server}/population_data")
    assert "Neiman&#39;s t_f of the configuration frequencies" in page
    facets = json.loads(fetch(f"{server}/run.json?_size=1"))["facet_results"]
    counted = {r["value"]: r["count"] for r in facets["node"]["results"]}
    assert counted == dict(sql(db, "SELECT node, count(*) FROM run GROUP BY node"))
    assert "model_class_label" in facets


def test_runs_per_class_and_node_counts_the_runs(server: str, db: Path) -> None:
    shown = [(r["model_class_label"], r["node"], r["runs"])
             for r in rows(f"{server}/runs_per_class_and_node.json")]
    assert shown == sql(db, "SELECT model_class_label, node, count(*) FROM run GROUP BY 1, 2 ORDER BY 1, 2")
    assert sum(r[2] for r in shown) == 24 and len({r[1] for r in shown}) == 3


def test_parameter_ranges_per_model_class(server: str, db: Path) -> None:
    shown = {(r["model_class_label"], r["parameter"]): r
             for r in rows(f"{server}/parameter_ranges.json")}
    expected = sql(db, "SELECT model_class_label, count(*), min(value), max(value) "
                       "FROM run JOIN parameter USING (run_id) "
                       "WHERE name = 'innovation_rate' GROUP BY 1")
    assert len(expected) == 4
    for label, runs, low, high in expected:
        row = shown[(label, "innovation_rate")]
        assert (row["runs"], row["smallest"], row["largest"]) == (runs, low, high)
    assert not any(name == "random_seed" for _, name in shown)


def test_run_record_shows_every_part_of_one_run(server: str, db: Path) -> None:
    (run_id, urn), = sql(db, "SELECT run_id, simulation_run_id FROM run WHERE run_id = 5")
    record = rows(f"{server}/run_record.json", simulation_run_id=urn)
    parts = Counter(r["part"] for r in record)

    def count(table: str, where: str = "run_id = ?") -> int:
        return sql(db, f"SELECT count(*) FROM {table} WHERE {where}", run_id)[0][0]

    assert parts["run"] == parts["census"] == parts["simulation_timing"] == 1
    assert parts["parameter"] == count("parameter") == 17
    assert parts["census_locus"] == count("census_locus") > 0
    assert parts["sample"] == count("sample") > 0
    assert parts["sample_locus"] == count("sample_locus JOIN sample USING (sample_id)")
    (labels,) = [r["value"] for r in record if r["part"] == "configuration_label"]
    first, last = sql(db, "SELECT min(label_id), max(label_id) FROM configuration_label "
                          "WHERE run_id = ?", run_id)[0]
    assert labels == f"{count('configuration_label')} labels, ids {first} to {last}"
    seed = next(r["value"] for r in record if r["item"] == "random_seed")
    assert seed == sql(db, "SELECT value FROM parameter WHERE run_id = ? AND name = 'random_seed'",
                       run_id)[0][0]  # exact 64-bit integer through the JSON API
    assert rows(f"{server}/run_record.json", simulation_run_id="urn:uuid:absent") == []


def test_label_queries_find_what_sql_on_the_tables_finds(server: str, db: Path) -> None:
    (label, run_id), = sql(db, "SELECT c.label, s.run_id FROM sample AS s "  # a sample's top one
                               "JOIN sample_configuration AS c USING (sample_id) WHERE s.sample_id "
                               "= (SELECT min(sample_id) FROM sample WHERE ta_duration = 50) "
                               "ORDER BY c.count DESC LIMIT 1")
    shown = rows(f"{server}/runs_where_configuration_was_most_common.json", label=label)
    expected = sql(db, "SELECT s.ta_duration, s.sample_size, c.count FROM sample AS s "
                       "JOIN sample_configuration AS c USING (sample_id) "
                       "WHERE s.run_id = ? AND c.label = ? AND c.count = (SELECT max(count) "
                       "FROM sample_configuration WHERE sample_id = s.sample_id)", run_id, label)
    assert [(r["ta_duration"], r["sample_size"], r["count"]) for r in shown] == expected
    assert (50,) in {row[:1] for row in expected}
    locus, trait = 2, int(label.strip("()").split(", ")[2])
    shown = rows(f"{server}/configurations_with_trait.json", locus=locus, trait=trait)
    holding = [(lab,) for (lab,) in sql(db, "SELECT label FROM configuration_label "
                                            "ORDER BY label_id")
               if int(lab.strip("()").split(", ")[2]) == trait]
    assert [(r["label"],) for r in shown] == holding and (label,) in holding


def test_browse_needs_an_existing_warehouse(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["browse", "--db", str(tmp_path / "absent.sqlite")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_main_page_renders_in_headless_chromium(server: str, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-background-networking", f"--user-data-dir={tmp_path}",
                           "--dump-dom", server], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "Runs per model class and node" in dom and "population_data" in dom
    assert "<h1" in dom and "Queries" in dom
