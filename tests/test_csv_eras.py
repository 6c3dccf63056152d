"""Exporter eras: a known-wrong value is never shown as correct, and stays reachable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from test_csv_load import RUN_A, RUN_B, load, write_csv

from warehouse.profiles.ctmixtures.csv import headers as exportcsv
from warehouse.profiles.ctmixtures.csv.stats import POPULATION_2014_RULE, SAMPLED_2014_RULE

DOCS = Path(__file__).resolve().parents[1] / "docs" / "csv-eras.md"

# the first row of evtest4m-population-data.csv (ctmixtures-exports in shared/realdata)
POPULATION_2014_ROW = [RUN_A, "allneutral", "9", "0.0733", "0.119495118323", "1.0", "0.08271",
                       "1.0", "0.08271", "0.47554250000000003", "0.96", "0.0",
                       "0.5790749999999999", "3", "1", "2.0", "2", "1", "1.75"]
# and of evtest4m-sampled-data.csv
SAMPLED_2014_ROW = [RUN_A, "allneutral", "0.119495118323", "20", "0.2179", "6", "1", "3", "2.0",
                    "0.34752", "1.0", "0.58960750000000006", "0.46343122964814293", "", "",
                    "0.0", "0.75", "0.52937499999999993"]


def corrections(con: sqlite3.Connection):
    return con.execute("SELECT c.source_line, simulation_run_id, sample_size, file_column, "
                       "file_value, stored_as, rule FROM csv_correction AS c JOIN run USING (run_id) "
                       "ORDER BY c.source_line, file_column").fetchall()


def test_population_2014_entropy_is_slatkin_and_its_mean_moves(tmp_path):
    unconfirmed = list(POPULATION_2014_ROW)
    unconfirmed[0] = RUN_B
    unconfirmed[7] = "1.05"  # entropy max no longer equals the Slatkin max
    path = write_csv(tmp_path / "p.csv", exportcsv.POPULATION_2014,
                     [POPULATION_2014_ROW, unconfirmed])
    summary, con = load(tmp_path / "w.sqlite", path)
    assert summary.files[0].format == "csv-population-2014-10"
    assert "6 values of exporter era 2014-10 withheld or moved" in summary.files[0].note
    rows = con.execute("SELECT * FROM population_data ORDER BY simulation_run_id").fetchall()
    assert rows[0] == (RUN_A, "allneutral", 9, 0.0733, 0.119495118323,
                       1.0, 0.08271, 0.47554250000000003,  # slatkin max, min and the moved mean
                       None, None, None,  # entropy: never shown, it was Slatkin's
                       0.96, 0.0, 0.5790749999999999, 3, 1, 2.0, 2, 1, 1.75,
                       None, None, None, None, None, None)
    assert rows[1][5:11] == (1.0, 0.08271, None, None, None, None)
    assert corrections(con) == [
        (2, RUN_A, None, "entropy_locus_max", "1.0", None, POPULATION_2014_RULE),
        (2, RUN_A, None, "entropy_locus_mean", "0.47554250000000003", "census.slatkin_locus_mean",
         POPULATION_2014_RULE),
        (2, RUN_A, None, "entropy_locus_min", "0.08271", None, POPULATION_2014_RULE),
        (3, RUN_B, None, "entropy_locus_max", "1.05", None, POPULATION_2014_RULE),
        (3, RUN_B, None, "entropy_locus_mean", "0.47554250000000003", None, POPULATION_2014_RULE),
        (3, RUN_B, None, "entropy_locus_min", "0.08271", None, POPULATION_2014_RULE),
    ]


def test_sampled_2014_entropy_min_is_the_mean(tmp_path):
    second = list(SAMPLED_2014_ROW)
    second[0] = RUN_B
    second[12:15] = ["", "", ""]  # nothing at all: nothing to move
    path = write_csv(tmp_path / "s.csv", exportcsv.SAMPLED, [SAMPLED_2014_ROW, second])
    summary, con = load(tmp_path / "w.sqlite", path)
    assert summary.files[0].format == "csv-sampled-2014-10"
    rows = con.execute("SELECT simulation_run_id, sample_size, entropy_locus_min, "
                       "entropy_locus_max, entropy_locus_mean, iqv_locus_mean FROM sampled_data "
                       "ORDER BY 1").fetchall()
    assert rows == [(RUN_A, 20, None, None, 0.46343122964814293, 0.52937499999999993),
                    (RUN_B, 20, None, None, None, 0.52937499999999993)]
    assert corrections(con) == [(2, RUN_A, 20, "entropy_locus_min", "0.46343122964814293",
                                 "sample.entropy_locus_mean", SAMPLED_2014_RULE)]


def test_a_correct_sampled_row_is_taken_as_it_is(tmp_path):
    row = list(SAMPLED_2014_ROW)
    row[12:15] = ["0.2", "0.7", "0.46"]
    summary, con = load(tmp_path / "w.sqlite", write_csv(tmp_path / "s.csv", exportcsv.SAMPLED, [row]))
    assert summary.files[0].format == "csv-sampled-2.5"
    assert con.execute("SELECT entropy_locus_min, entropy_locus_max, entropy_locus_mean "
                       "FROM sample").fetchone() == (0.2, 0.7, 0.46)
    assert corrections(con) == []


def test_the_rules_are_documented():
    text = DOCS.read_text()
    for rule in (POPULATION_2014_RULE, SAMPLED_2014_RULE):
        assert f"`{rule}`" in text
    for name in ("kandler_interval_generations", "csv_correction", "disagreement", "csv_origin"):
        assert name in text
