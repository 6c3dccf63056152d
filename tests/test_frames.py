"""read_view and run_record: DataFrames with the dtypes the values deserve."""

from __future__ import annotations

import math
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import warehouse
from warehouse.pipeline.build import build
from warehouse.demo import generate
from warehouse.demo.dialects import write_json_lines
from warehouse.access.frames import read_view, run_record, typed_column

SEEDS = [2**63 - 1, -(2**63), 2**53 + 1]  # none of them survives a float


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("frames")
    docs = list(generate(6, seed=21))
    for doc, seed in zip(docs, SEEDS):
        doc["random_seed"] = seed
    docs[0]["slatkin_exact"] = [0.5, float("nan"), 0.25, 0.75]  # census slatkin_locus_*: NaN
    docs[1]["configuration_slatkin"] = float("inf")
    del docs[2]["kandler_remaining_count"]                        # kandler_locus_*: NULL
    raw = folder / "raw" / "node1"
    raw.mkdir(parents=True)
    with open(raw / "runs.json", "wb") as fh:
        write_json_lines(fh, docs, "3.x")
    path = folder / "w.sqlite"
    assert build(path, [folder / "raw"]).ok
    return path


def sql(db: Path, statement: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(statement, params).fetchall()


def test_labels_are_categories_and_seeds_exact_int64(db: Path) -> None:
    frame = read_view(db, "simulation_data")
    assert isinstance(frame["model_class_label"].dtype, pd.CategoricalDtype)
    assert set(frame["model_class_label"].cat.categories) == {
        label for (label,) in sql(db, "SELECT DISTINCT model_class_label FROM run")}
    assert frame["random_seed"].dtype == np.int64
    assert [int(s) for s in frame["random_seed"][:3]] == SEEDS
    assert frame["num_features"].dtype == np.int64
    assert frame["innovation_rate"].dtype == np.float64


def test_nan_text_becomes_nan_infinity_stays_null_is_missing(db: Path) -> None:
    frame = read_view(db, "population_data")
    assert sql(db, "SELECT slatkin_locus_mean FROM population_data LIMIT 1") == [("NaN",)]
    assert frame["slatkin_locus_mean"].dtype == np.float64
    assert math.isnan(frame["slatkin_locus_mean"][0])
    assert frame["slatkin_locus_mean"][1:].notna().all()
    assert frame["configuration_slatkin"][1] == math.inf
    # an integer column with a NULL: nullable Int64, the other values exact
    assert frame["kandler_locus_min"].dtype == "Int64"
    assert frame["kandler_locus_min"].isna().tolist() == [False, False, True, False, False, False]
    stored = [v for (v,) in sql(db, "SELECT kandler_locus_min FROM population_data")]
    assert [None if pd.isna(v) else int(v) for v in frame["kandler_locus_min"]] == stored


@pytest.mark.parametrize("view", ["simulation_data", "population_data", "sampled_data",
                                  "tasampled_data", "run_parameters"])
def test_every_view_keeps_its_rows_columns_and_values(db: Path, view: str) -> None:
    frame = read_view(db, view)
    with sqlite3.connect(db) as con:
        cursor = con.execute(f"SELECT * FROM {view}")
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description]
    assert list(frame.columns) == names and len(frame) == len(rows) > 0
    for i, name in enumerate(names):
        for got, stored in zip(frame[name], (row[i] for row in rows)):
            if stored is None or stored == "NaN":
                assert pd.isna(got), (view, name)
            else:
                assert got == stored and type(stored)(got) == stored, (view, name)


def test_typed_column_rules() -> None:
    assert typed_column("x", [1, None, 2]).dtype == "Int64"
    assert typed_column("x", [1, 2.5, "NaN", None]).dtype == np.float64
    assert typed_column("x", ["NaN", None]).dtype == np.float64
    assert typed_column("x", [None, None], "INTEGER").dtype == "Int64"
    assert typed_column("x", [None, None], "REAL").dtype == np.float64
    assert typed_column("node", ["node1", "node2", "node1"]).dtype == "category"
    assert typed_column("x", ["a", "b"]).dtype == "string"
    mixed = typed_column("value", [2**63 - 1, 0.5, "text"])  # parameter.value: kept as stored
    assert mixed.dtype == object and mixed[0] == 2**63 - 1


def test_unknown_view_and_missing_file(db: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tasampled_data"):
        read_view(db, "no_such_view")
    with pytest.raises(FileNotFoundError):
        read_view(tmp_path / "absent.sqlite", "population_data")
    assert not (tmp_path / "absent.sqlite").exists()


def test_run_record_holds_every_table_of_one_run(db: Path) -> None:
    (run_id, urn), = sql(db, "SELECT run_id, simulation_run_id FROM run WHERE run_id = 2")
    record = run_record(db, urn)
    assert record["run"]["simulation_run_id"].tolist() == [urn]
    assert record["source"]["path"].str.endswith("runs.json").all()
    assert record["run_parameters"]["random_seed"].tolist() == [SEEDS[1]]
    seed = record["parameter"].set_index("name")["value"]["random_seed"]
    assert seed == SEEDS[1] and isinstance(seed, int)
    by_run = ["parameter", "census", "census_locus", "census_trait", "census_configuration", "sample"]
    for table in by_run:
        assert len(record[table]) == sql(db, f"SELECT count(*) FROM {table} WHERE run_id = ?", run_id)[0][0]
        assert (record[table]["run_id"] == run_id).all()
    for table in ["sample_locus", "sample_trait", "sample_config_count", "sample_configuration"]:
        count = sql(db, f"SELECT count(*) FROM {table} JOIN sample USING (sample_id) WHERE run_id = ?",
                    run_id)[0][0]
        assert len(record[table]) == count > 0
    assert len(record["configuration_label"]) == sql(
        db, "SELECT count(*) FROM configuration_label WHERE run_id = ?", run_id)[0][0] > 0
    assert (record["configuration_label"]["run_id"] == run_id).all()
    labeled = record["sample_config_count"].merge(record["configuration_label"], on="label_id")
    text = record["sample_configuration"].dropna(subset=["label"])
    assert labeled["label"].tolist() == text["label"].tolist()
    assert record["census_configuration"]["count"].dtype == np.int64
    with pytest.raises(KeyError):
        run_record(db, "urn:uuid:not-there")


def test_lazy_exports_and_build_never_imports_pandas(db: Path, tmp_path: Path) -> None:
    assert warehouse.read_view is read_view and warehouse.run_record is run_record
    script = (
        "import sys\n"
        "from warehouse.cli import main\n"
        f"main(['build', '-q', '--db', {str(tmp_path / 'x.sqlite')!r}, {str(db.parent / 'raw')!r}],"
        " standalone_mode=False)\n"
        "assert 'pandas' not in sys.modules, 'build imported pandas'\n"
        "import warehouse; warehouse.read_view\n"
        "assert 'pandas' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr


# -- the docs' ways in: the sqlite3 queries of docs/tour.md and the R of docs/r.md --

DOCS = Path(__file__).resolve().parents[1] / "docs"


def fenced(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("statement", [s.strip() for block in fenced(DOCS / "tour.md", "sql")
                                       for s in block.split(";") if s.strip()])
def test_tour_queries_run_and_return_rows(db: Path, statement: str) -> None:
    assert sql(db, statement), statement


def test_r_doc_reads_nan_infinity_missing_and_exact_seeds(db: Path, tmp_path: Path) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    blocks = fenced(DOCS / "r.md", "r")
    assert blocks[-1].strip() == "dbDisconnect(con)"
    checks = """
pop <- read_view(con, "population_data")
stopifnot(is.nan(pop$slatkin_locus_mean[1]), sum(is.nan(pop$slatkin_locus_mean)) == 1)
stopifnot(pop$configuration_slatkin[2] == Inf)
stopifnot(is.na(pop$kandler_locus_min[3]), !is.nan(pop$kandler_locus_min[3]))
sim <- read_view(con, "simulation_data")
stopifnot(is.integer64(sim$random_seed))
stopifnot(as.character(sim$random_seed[c(1, 3)]) == c("9223372036854775807", "9007199254740993"))
stopifnot(is.na(sim$random_seed[2]))  # -2^63 is bit64's NA, as docs/r.md says
cat("R CHECKS PASSED\\n")
"""
    script = "\n".join(blocks[:-1]).replace("data/warehouse.sqlite", str(db)) + checks
    (tmp_path / "doc.R").write_text(script)
    done = subprocess.run(["Rscript", str(tmp_path / "doc.R")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "R CHECKS PASSED" in done.stdout, done.stderr[-3000:]
