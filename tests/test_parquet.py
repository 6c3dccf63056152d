"""``warehouse export --format parquet``: every table and view read back by
DuckDB with SQLite's counts and sums, values exact, partitions, metadata.

Expected values are written out by hand (the ``edge`` file) or computed by
SQLite itself from the warehouse (the demo), never by the exporter.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

from conftest import built_demo  # noqa: E402
from warehouse.access.datasette import METADATA  # noqa: E402
from warehouse.access.parquet import export_parquet  # noqa: E402
from warehouse.cli import main  # noqa: E402

INF = float("inf")


def read(out: Path, name: str, select: str = "*", rest: str = "") -> list[tuple]:
    sql = (f"SELECT {select} FROM read_parquet('{out}/{name}/**/*.parquet', "
           f"hive_partitioning=true) {rest}")
    return duckdb.sql(sql).fetchall()


# -- a file written by hand: every storage class, every edge ------------------

EDGE_ROWS = [  # id, seed, x, label, value, only_nan, empty_int, empty_any, data, odd
    (1, 2**63 - 1, 1.5, "a", 2**63 - 1, "NaN", None, None, b"\x00\xff", 1),
    (2, -2**63, "NaN", "NaN", 0.25, None, None, None, None, "NaN"),
    (3, 2**53 + 1, INF, None, "text", "NaN", None, None, b"", 2.5),
    (4, None, -INF, "é", "NaN", None, None, None, None, None),
    (5, 0, None, "", None, "NaN", None, None, b"\x01", -7),
]
RUNS = [(1, "allneutral", 10), (2, "a/b", 20), (3, None, 30), (4, "allneutral", 40), (5, "x y", 50)]


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> tuple[Path, Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("edge")
    db = folder / "edge.sqlite"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE edge (id INTEGER PRIMARY KEY, seed INTEGER, x REAL, label TEXT, value,
                           only_nan, empty_int INTEGER, empty_any, data BLOB, odd INTEGER);
        CREATE TABLE runs (id INTEGER PRIMARY KEY, model_class_label TEXT, n INTEGER);
        CREATE TABLE blank_labels (model_class_label TEXT, n INTEGER);
        CREATE TABLE empty (a INTEGER, b TEXT, c REAL);
        CREATE VIEW edge_view AS SELECT id, x * 2 AS doubled, value FROM edge ORDER BY id;
    """)
    con.executemany("INSERT INTO edge VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", EDGE_ROWS)
    con.executemany("INSERT INTO runs VALUES (?, ?, ?)", RUNS)
    con.executemany("INSERT INTO blank_labels VALUES (?, ?)", [("", 1), ("b", 2)])
    con.commit()
    con.close()
    out = folder / "out"
    return db, out, export_parquet(db, out)


def test_any_sqlite_file_exports_every_table_and_view(edge) -> None:
    _, out, written = edge
    assert written == {"blank_labels": 2, "edge": 5, "empty": 0, "runs": 5, "edge_view": 5}
    assert sorted(p.name for p in out.iterdir()) == sorted(written)


def test_each_column_gets_the_type_its_values_need(edge) -> None:
    _, out, _ = edge
    schema = pq.read_schema(next((out / "edge").glob("*.parquet")))
    mixed = pa.struct([("integer", pa.int64()), ("real", pa.float64()), ("text", pa.string()),
                       ("blob", pa.binary())])
    assert [(f.name, f.type) for f in schema] == [
        ("id", pa.int64()), ("seed", pa.int64()), ("x", pa.float64()), ("label", pa.string()),
        ("value", mixed), ("only_nan", pa.float64()), ("empty_int", pa.int64()),
        ("empty_any", pa.string()), ("data", pa.binary()),
        ("odd", pa.float64()),  # declared INTEGER, holds 2.5 and 'NaN': found by the rescan
    ]


def test_values_come_back_exactly(edge) -> None:
    _, out, _ = edge
    rows = pq.read_table(out / "edge").to_pylist()
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["seed"] for r in rows] == [2**63 - 1, -2**63, 2**53 + 1, None, 0]
    x = [r["x"] for r in rows]
    assert x[0] == 1.5 and math.isnan(x[1]) and x[2] == INF and x[3] == -INF and x[4] is None
    assert [r["label"] for r in rows] == ["a", "NaN", None, "é", ""]
    assert [r["empty_int"] for r in rows] == [None] * 5
    assert [r["empty_any"] for r in rows] == [None] * 5
    assert [r["data"] for r in rows] == [b"\x00\xff", None, b"", None, b"\x01"]
    only_nan = [r["only_nan"] for r in rows]
    assert [v is None for v in only_nan] == [False, True, False, True, False]
    assert all(math.isnan(v) for v in only_nan if v is not None)
    odd = [r["odd"] for r in rows]
    assert odd[0] == 1.0 and math.isnan(odd[1]) and odd[2:] == [2.5, None, -7.0]


def test_a_mixed_column_keeps_each_value_in_its_class(edge) -> None:
    _, out, _ = edge
    values = [r["value"] for r in pq.read_table(out / "edge", columns=["value"]).to_pylist()]
    assert values[0] == {"integer": 2**63 - 1, "real": None, "text": None, "blob": None}
    assert values[1] == {"integer": None, "real": 0.25, "text": None, "blob": None}
    assert values[2] == {"integer": None, "real": None, "text": "text", "blob": None}
    assert math.isnan(values[3]["real"]) and values[3]["text"] is None
    assert values[4] is None
    assert read(out, "edge", "sum(value.integer)::HUGEINT, count(value.text)") == [(2**63 - 1, 1)]


def test_duckdb_tells_nan_infinities_and_missing_apart(edge) -> None:
    _, out, _ = edge
    counts = read(out, "edge", "count(*) FILTER (isnan(x)), count(*) FILTER (x = 'inf'::DOUBLE), "
                               "count(*) FILTER (x = '-inf'::DOUBLE), count(*) FILTER (x IS NULL), "
                               "sum(x) FILTER (isfinite(x))")
    assert counts == [(1, 1, 1, 1, 1.5)]
    assert read(out, "edge", "sum(seed)::HUGEINT, count(seed)") == [(2**53 + 1 - 1, 4)]
    assert read(out, "edge", "typeof(seed), typeof(x), typeof(label)", "LIMIT 1") == [
        ("BIGINT", "DOUBLE", "VARCHAR")]


def test_a_view_is_exported_with_the_values_sqlite_computes(edge) -> None:
    _, out, _ = edge
    doubled = [r["doubled"] for r in pq.read_table(out / "edge_view").to_pylist()]
    # SQLite: 'NaN' * 2 is 0.0 (the text is read as a number), inf * 2 is inf
    assert doubled == [3.0, 0.0, INF, -INF, None]


def test_partitions_are_hive_folders_every_reader_decodes(edge) -> None:
    _, out, _ = edge
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "model_class_label=__HIVE_DEFAULT_PARTITION__", "model_class_label=a%2Fb",
        "model_class_label=allneutral", "model_class_label=x%20y"]
    got = read(out, "runs", "model_class_label, sum(n)", "GROUP BY 1 ORDER BY 2, 1")
    assert got == [("a/b", 20), (None, 30), ("allneutral", 50), ("x y", 50)]
    inside = pq.read_schema(next((out / "runs" / "model_class_label=allneutral").glob("*.parquet")))
    assert inside.names == ["id", "n"]  # the label is in the folder's name only


def test_labels_no_folder_name_can_carry_are_not_partitioned(edge) -> None:
    _, out, _ = edge
    assert [p.name for p in (out / "blank_labels").iterdir()] == ["part-00000.parquet"]
    assert read(out, "blank_labels", "model_class_label, n", "ORDER BY n") == [("", 1), ("b", 2)]


def test_an_empty_table_is_a_file_with_its_columns(edge) -> None:
    _, out, _ = edge
    (file,) = (out / "empty").iterdir()
    assert pq.ParquetFile(file).metadata.num_rows == 0
    assert duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{file}')").fetchall()[0][:2] == (
        "a", "BIGINT")
    assert read(out, "empty", "count(*)") == [(0,)]


# -- the demo warehouse: every table and view against SQLite ------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("demo")
    db = built_demo(folder, n_runs=40, nodes=3, seed=7, timing=True)
    con = sqlite3.connect(db)  # NaN, both infinities and missing in float columns of census
    con.executemany("UPDATE census SET configuration_slatkin = ? WHERE run_id = ?",
                    [("NaN", 1), (INF, 2), (-INF, 3), (None, 4), ("NaN", 5)])
    con.commit()
    con.close()
    out = folder / "parquet"
    return db, out, export_parquet(db, out)


def relations(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type IN "
                                          "('table', 'view') AND name NOT LIKE 'sqlite%'")]


def test_every_table_and_view_is_written(demo) -> None:
    db, out, written = demo
    assert set(written) == set(relations(db)) == {p.name for p in out.iterdir()}
    assert {"simulation_data", "population_data", "sampled_data", "tasampled_data",
            "run_parameters", "sample_configuration", "parameter"} <= set(written)
    with sqlite3.connect(db) as con:
        for name, rows in written.items():
            assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone() == (rows,), name


def sqlite_column(con: sqlite3.Connection, name: str, column: str) -> list:
    return [v for (v,) in con.execute(f'SELECT "{column}" FROM "{name}"')]


def check_bigint(con, out, name, column) -> None:
    values = sqlite_column(con, name, column)
    assert all(type(v) is int for v in values if v is not None), (name, column)
    expected = (len([v for v in values if v is not None]), sum(v for v in values if v is not None))
    assert read(out, name, f'count("{column}"), sum("{column}")::HUGEINT') == [
        (expected[0], expected[1] if expected[0] else None)], (name, column)


def check_double(con, out, name, column) -> None:
    values = sqlite_column(con, name, column)
    nans = sum(v == "NaN" for v in values)
    finite = [v for v in values if type(v) in (int, float) and math.isfinite(v)]
    expected = (nans, values.count(INF), values.count(-INF), values.count(None), len(finite))
    c = f'"{column}"'
    got = read(out, name, f"count(*) FILTER (isnan({c})), count(*) FILTER ({c} = 'inf'::DOUBLE), "
                          f"count(*) FILTER ({c} = '-inf'::DOUBLE), count(*) FILTER ({c} IS NULL), "
                          f"count(*) FILTER (isfinite({c})), sum({c}) FILTER (isfinite({c}))")
    assert got[0][:5] == expected, (name, column)
    assert read(out, name, "count(*)", f"WHERE isnan({c})") == [(nans,)], (name, column)
    assert got[0][5] == pytest.approx(math.fsum(finite), rel=1e-12) if finite else got[0][5] is None


def check_varchar(con, out, name, column) -> None:
    c = f'"{column}"'
    expected = con.execute(f'SELECT count({c}), count(DISTINCT {c}), sum(length({c})) '
                           f'FROM "{name}"').fetchone()
    assert read(out, name, f"count({c}), count(DISTINCT {c}), sum(length({c}))") == [expected], (
        name, column)


def check_struct(con, out, name, column) -> None:
    values = sqlite_column(con, name, column)
    ints = [v for v in values if type(v) is int]
    texts = [v for v in values if type(v) is str and v != "NaN"]
    c = f'"{column}"'
    got = read(out, name, f"count({c}.integer), sum({c}.integer)::HUGEINT, count({c}.text), "
                          f"count(*) FILTER (isnan({c}.real)), count({c}.real), count(*) FILTER ({c} IS NULL)")
    reals = sum(type(v) is float for v in values) + values.count("NaN")
    assert got == [(len(ints), sum(ints) if ints else None, len(texts), values.count("NaN"), reals,
                    values.count(None))], (name, column)


def check_blob(con, out, name, column) -> None:
    c = f'"{column}"'
    expected = con.execute(f'SELECT count({c}), sum(length({c})) FROM "{name}"').fetchone()
    assert read(out, name, f"count({c}), sum(octet_length({c}))") == [expected], (name, column)


CHECKS = {"BIGINT": check_bigint, "DOUBLE": check_double, "VARCHAR": check_varchar,
          "BLOB": check_blob}


def test_duckdb_gets_sqlites_counts_and_sums_for_every_table_and_view(demo) -> None:
    db, out, written = demo
    con = sqlite3.connect(db)
    for name in relations(db):  # whatever the schema holds, new tables included
        described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{out}/{name}/**/*.parquet', "
                               "hive_partitioning=true)").fetchall()
        declared = {row[1]: row[2] for row in con.execute(f'PRAGMA table_info("{name}")')}
        assert {row[0] for row in described} == set(declared), name
        for column, duck_type, *_ in described:
            if declared[column] == "REAL":
                assert duck_type == "DOUBLE", (name, column)  # never a text column for a NaN
            if declared[column] == "INTEGER":
                assert duck_type == "BIGINT", (name, column)  # never a float for a NULL
            if duck_type.startswith("STRUCT"):
                check_struct(con, out, name, column)
            else:
                CHECKS[duck_type](con, out, name, column)
        assert read(out, name, "count(*)") == [(written[name],)], name


def test_the_nan_inf_and_null_put_in_census_arrive(demo) -> None:
    _, out, _ = demo
    got = read(out, "population_data", "count(*) FILTER (isnan(configuration_slatkin)), "
               "count(*) FILTER (isinf(configuration_slatkin)), count(*) FILTER "
               "(configuration_slatkin IS NULL)")
    assert got[0][0] >= 2 and got[0][1] == 2 and got[0][2] == 1


def test_seeds_are_exact_64_bit_integers(demo) -> None:
    db, out, _ = demo
    with sqlite3.connect(db) as con:
        expected = con.execute("SELECT simulation_run_id, random_seed FROM simulation_data "
                               "ORDER BY 1").fetchall()
    assert any(seed > 2**53 for _, seed in expected)  # beyond what a double holds exactly
    assert read(out, "simulation_data", "simulation_run_id, random_seed", "ORDER BY 1") == expected
    assert read(out, "run_parameters", "typeof(random_seed)", "LIMIT 1") == [("BIGINT",)]
    seeds = read(out, "parameter", "value.integer", "WHERE name = 'random_seed' ORDER BY run_id")
    with sqlite3.connect(db) as con:
        assert seeds == con.execute("SELECT value FROM parameter WHERE name = 'random_seed' "
                                    "ORDER BY run_id").fetchall()


def test_export_views_are_partitioned_by_model_class(demo) -> None:
    db, out, _ = demo
    with sqlite3.connect(db) as con:
        labels = {label for (label,) in con.execute("SELECT DISTINCT model_class_label FROM run")}
        for name in ("run", "simulation_data", "population_data", "sampled_data",
                     "tasampled_data"):
            folders = {p.name for p in (out / name).iterdir()}
            assert folders == {f"model_class_label={label}" for label in labels}, name
            per_class = con.execute(f"SELECT model_class_label, count(*) FROM {name} "
                                    "GROUP BY 1 ORDER BY 1").fetchall()
            assert read(out, name, "model_class_label, count(*)", "GROUP BY 1 ORDER BY 1") == (
                per_class)
    assert [p.name for p in (out / "sample_configuration").iterdir()] == ["part-00000.parquet"]


def test_descriptions_of_datasettes_metadata_travel_with_the_files(demo) -> None:
    _, out, _ = demo
    described = yaml.safe_load(METADATA.read_text())["databases"]["warehouse"]["tables"]
    file = next((out / "tasampled_data").glob("*/*.parquet"))
    schema = pq.read_schema(file)
    words = described["tasampled_data"]["columns"]
    assert schema.field("ta_duration").metadata[b"description"].decode() == words["ta_duration"]
    assert schema.metadata[b"description"].decode() == " ".join(
        described["tasampled_data"]["description"].split())
    about = json.loads(schema.metadata[b"ctwarehouse"])
    assert about["hive_partitioning"] == ["model_class_label"]
    label = next(c for c in about["columns"] if c["name"] == "model_class_label")
    assert label["description"] == words["model_class_label"]
    # a column described through the YAML anchor of the parameters
    seed = pq.read_schema(next((out / "run_parameters").glob("*.parquet"))).field("random_seed")
    assert b"64-bit" in seed.metadata[b"description"]
    kv = dict(duckdb.sql(f"SELECT key, value FROM parquet_kv_metadata('{file}')").fetchall())
    assert kv[b"description"].startswith(b"B-tasampled-data.csv")


def test_the_command_prints_each_folder_and_its_rows(demo, tmp_path: Path) -> None:
    db, _, written = demo
    result = CliRunner().invoke(main, ["export", "--db", str(db), "--out", str(tmp_path),
                                       "--format", "parquet"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{tmp_path / name}: {rows} rows"
                                          for name, rows in written.items()]


DOCS = (Path(__file__).resolve().parents[1] / "docs" / "parquet.md").read_text()


def docs_blocks(language: str, section: str) -> list[str]:
    """The ``language`` code blocks of a section (## heading) of docs/parquet.md."""
    text = DOCS.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_the_duckdb_examples_of_the_docs_return_rows(demo, monkeypatch) -> None:
    _, out, _ = demo
    monkeypatch.chdir(out.parent)  # the examples read parquet/…
    statements = [s for block in docs_blocks("sql", "DuckDB") for s in block.split(";") if s.strip()]
    assert len(statements) >= 6
    con = duckdb.connect()
    for statement in statements:
        assert con.sql(statement).fetchall(), statement


def test_the_polars_example_of_the_docs_runs(demo, monkeypatch) -> None:
    pytest.importorskip("polars")  # not a dependency: run where it is installed
    _, out, _ = demo
    monkeypatch.chdir(out.parent)
    (block,) = [b for b in docs_blocks("python", "Polars") if "polars" in b]
    scope: dict = {}
    exec(block, scope)
    assert scope["seeds"]["seed"].to_list() == [s for (s,) in read(
        out, "parameter", "value.integer", "WHERE name = 'random_seed' ORDER BY run_id")]
