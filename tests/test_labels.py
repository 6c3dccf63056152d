"""Configuration labels stored once per run (schema 10), their ids, views and queries.

Two small runs whose TA configuration maps are written out below; every
expected row was worked out by hand from them: labels numbered in the order
the run first names them (samples in (ta_duration, sample_size) order, then
map order), one row per distinct label of a run.
"""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest

from test_views_golden import RECORD
from warehouse.access.verify import problems
from warehouse.demo.dialects import write_json_lines
from warehouse.formats import Record
from warehouse.pipeline.build import build
from warehouse.profiles.ctmixtures.document import map_run
from warehouse.profiles.ctmixtures.tables import Ids, new_rows

RUN_A = "urn:uuid:00000000-0000-4000-8000-00000000000a"
RUN_B = "urn:uuid:00000000-0000-4000-8000-00000000000b"

# Durations 10 and 2: the build reads (2, 4) first. '(0, 1)' and '(1, 1)' come
# back in the second sample; '(7,)' is a one-locus tuple as Python writes it.
MAPS_A = {"10": {"4": {"(0, 1)": 2, "(1, 1)": 2, "(2, 3)": 0}},
          "2": {"4": {"(1, 1)": 3, "(0, 1)": 1}}}
# Run B names '(0, 1)' too: another run, another label. 'x' is no tuple.
MAPS_B = {"2": {"4": {"(0, 1)": 1, "(7,)": 2, "x": 0}}}


def record(run: str, maps: dict) -> dict:
    durations = {dur: {"4": 2} for dur in maps}
    doc = {**RECORD, "simulation_run_id": run, "unlabeled_config_counts_ta_ssize": maps,
           "num_configurations_ta_ssize": durations}
    for name in ("richness_ta_ssize", "slatkin_ta_ssize", "entropy_ta_ssize", "iqv_ta_ssize",
                 "unlabeled_freq_ta_ssize", "config_slatkin_ta_ssize", "config_entropy_ta_ssize",
                 "config_iqv_ta_ssize", "kandler_remaining_tassize"):
        doc[name] = {dur: RECORD[name][dur] for dur in maps}
    return doc


def test_mapping_numbers_each_label_of_a_run_once() -> None:
    rows, ids = new_rows(), Ids(run=7, sample=20, label=100)
    map_run(Record(record(RUN_A, MAPS_A), line=1), 1, None, ids, rows)
    map_run(Record(record(RUN_B, MAPS_B), line=2), 1, None, ids, rows)
    assert list(rows["configuration_label"]) == [
        (100, 7, "(1, 1)"), (101, 7, "(0, 1)"), (102, 7, "(2, 3)"),
        (103, 8, "(0, 1)"), (104, 8, "(7,)"), (105, 8, "x")]
    assert list(rows["sample_config_count"]) == [
        (20, 0, 2, None), (20, 1, 1, None), (20, 2, 1, None),  # synchronic: sorted counts
        (21, 0, 3, 100), (21, 1, 1, 101),                       # run 7, TA 2 generations
        (22, 0, 2, 101), (22, 1, 2, 100), (22, 2, 0, 102),      # run 7, TA 10 generations
        (23, 0, 2, None), (23, 1, 1, None), (23, 2, 1, None),
        (24, 0, 1, 103), (24, 1, 2, 104), (24, 2, 0, 105)]      # run 8, TA 2 generations
    assert ids.label == 106


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("labels")
    with gzip.open(folder / "runs.json.gz", "wb") as fh:
        write_json_lines(fh, [record(RUN_A, MAPS_A), record(RUN_B, MAPS_B)], "3.x")
    summary = build(folder / "w.sqlite", [folder / "runs.json.gz"], jobs=1)
    assert summary.ok
    return folder / "w.sqlite"


def rows(db: Path, sql: str, *parameters: object) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql, parameters).fetchall()


# What a build of the two runs stores (sample 1 and 4: synchronic, no labels).
LABELS = [(1, 1, "(1, 1)"), (2, 1, "(0, 1)"), (3, 1, "(2, 3)"),
          (4, 2, "(0, 1)"), (5, 2, "(7,)"), (6, 2, "x")]
LABELED_ROWS = [(2, 0, 3, 1), (2, 1, 1, 2), (3, 0, 2, 2), (3, 1, 2, 1), (3, 2, 0, 3),
                (5, 0, 1, 4), (5, 1, 2, 5), (5, 2, 0, 6)]


def test_labels_are_stored_once_per_run(db: Path) -> None:
    assert rows(db, "SELECT * FROM configuration_label ORDER BY label_id") == LABELS
    assert rows(db, "SELECT * FROM sample_config_count WHERE label_id IS NOT NULL") == \
        LABELED_ROWS
    assert list(problems(db)) == []


def test_the_view_of_the_old_name_gives_the_old_rows(db: Path) -> None:
    assert rows(db, "SELECT type FROM sqlite_master WHERE name = 'sample_configuration'") == [
        ("view",)]
    assert rows(db, "SELECT * FROM sample_configuration WHERE sample_id IN (2, 3, 4) "
                    "ORDER BY sample_id, position") == [
        (2, 0, 3, "(1, 1)"), (2, 1, 1, "(0, 1)"),
        (3, 0, 2, "(0, 1)"), (3, 1, 2, "(1, 1)"), (3, 2, 0, "(2, 3)"),
        (4, 0, 2, None), (4, 1, 1, None), (4, 2, 1, None)]


def test_configuration_trait_gives_the_trait_at_each_locus(db: Path) -> None:
    assert rows(db, "SELECT * FROM configuration_trait ORDER BY label_id, locus") == [
        (1, 1, 0, 1), (1, 1, 1, 1), (2, 1, 0, 0), (2, 1, 1, 1), (3, 1, 0, 2), (3, 1, 1, 3),
        (4, 2, 0, 0), (4, 2, 1, 1), (5, 2, 0, 7)]  # 'x' is not a tuple: no rows


def test_configurations_holding_a_trait_at_a_locus_are_plain_sql(db: Path) -> None:
    found = rows(db, "SELECT l.run_id, l.label FROM configuration_trait AS t "
                     "JOIN configuration_label AS l USING (label_id) "
                     "WHERE t.locus = 1 AND t.trait = 1 ORDER BY label_id")
    assert found == [(1, "(1, 1)"), (1, "(0, 1)"), (2, "(0, 1)")]


def test_runs_where_a_configuration_was_most_common_are_plain_sql(db: Path) -> None:
    # '(0, 1)': run A's TA 10 sample (2, tied with '(1, 1)'), not its TA 2 sample
    # (1 against 3); run B's sample holds it once against 2 for '(7,)'.
    found = rows(db, """
        WITH l AS MATERIALIZED (SELECT run_id, label_id FROM configuration_label WHERE label = ?)
        SELECT r.simulation_run_id, s.ta_duration, c.count
        FROM l
        JOIN sample AS s ON s.run_id = l.run_id
        JOIN sample_config_count AS c ON c.sample_id = s.sample_id AND c.label_id = l.label_id
        JOIN run AS r ON r.run_id = s.run_id
        WHERE c.count = (SELECT max(count) FROM sample_config_count WHERE sample_id = s.sample_id)
        """, "(0, 1)")
    assert found == [(RUN_A, 10, 2)]


def test_verify_finds_a_label_of_another_run(db: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("VACUUM INTO ?", (str(broken),))
    with sqlite3.connect(broken) as con:
        con.execute("UPDATE sample_config_count SET label_id = 4 WHERE sample_id = 2 AND position = 1")
        con.execute("INSERT INTO configuration_label VALUES (7, 1, '(1, 1)')")
    assert [(p.check, p.where) for p in problems(broken)] == [
        ("labels", "sample_config_count sample_id=2 position=1"),
        ("labels", "configuration_label run_id=1 label='(1, 1)'"),
        ("labels", "configuration_label label_id=7")]
