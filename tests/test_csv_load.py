"""Export rows into the warehouse tables: types kept, nothing invented, errors located."""

from __future__ import annotations

import csv
import math
import sqlite3
from pathlib import Path

import pytest

from warehouse.pipeline.build import build
from warehouse.formats import csvfile
from warehouse.profiles.ctmixtures.csv import headers as exportcsv

RUN_A = "urn:uuid:00000000-0000-4000-8000-00000000000a"
RUN_B = "urn:uuid:00000000-0000-4000-8000-00000000000b"
SEED = 4605056590505150188  # above 2**53: not exact as a float64
RULES = "{u'ctmixtures.rules.NeutralRandomLocusCopyingRule': 1.0}"


def write_csv(path: Path, header, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def load(db: Path, *paths: Path):
    summary = build(db, list(paths))
    return summary, sqlite3.connect(db)


def simulation_row(run=RUN_A, seed=SEED, rate="0.119495118323", kandler="50"):
    return [run, "allneutral", "ctmixtures.population.CompleteGraphFactory", RULES,
            "ctmixtures.rules.InfiniteAllelesMutationRule",
            "ctmixtures.population.FixedTraitStructurePopulation",
            "ctmixtures.population.CompleteGraphFactory",
            "ctmixtures.traits.LocusAlleleTraitFactory", str(seed), "4", "10",
            "/usr/local/bin/sim.py", f"/usr/local/bin/sim.py --seed {seed}", "100", rate, "0.0",
            "0.0", kandler]


def population_row(run=RUN_A, **changes):
    values = dict(zip(exportcsv.POPULATION_25, [
        run, "allneutral", "9", "0.0733", "0.119495118323",
        "1.0", "0.08271", "0.4755425", "1.0986122886681098", "0.0", "0.6", "0.96", "0.0",
        "0.579075", "3", "1", "2.0", "2", "1", "1.75", "2.1", "0.9", "7.5", "0.0", "2.5", "1.25"]))
    values.update(changes)
    return [values[name] for name in exportcsv.POPULATION_25]


def test_simulation_file_keeps_types_and_kandler_generations(tmp_path):
    path = write_csv(tmp_path / "s.csv", exportcsv.SIMULATION,
                     [simulation_row(), simulation_row(RUN_B, seed=(1 << 63) - 1, rate="2.5",
                                                       kandler="")])
    summary, con = load(tmp_path / "w.sqlite", path)
    assert summary.ok and summary.total("runs") == 2
    typed = dict(((name, (value, typ)) for name, value, typ in con.execute(
        "SELECT name, value, typeof(value) FROM parameter JOIN run USING (run_id) "
        "WHERE simulation_run_id = ?", (RUN_A,))))
    assert typed["random_seed"] == (SEED, "integer")  # every digit, never through a float
    assert typed["innovation_rate"] == (0.119495118323, "real")
    assert typed["conformism_strength"] == (0.0, "real")
    assert typed["population_size"] == (100, "integer")
    assert typed["kandler_interval_generations"] == (50, "integer")
    assert "kandler_interval" not in typed  # ticks are unknown: not invented
    assert typed["interaction_rule_classes"] == (RULES, "text")
    assert len(typed) == 15  # 16 columns after the label, network_class stored once
    rows = con.execute("SELECT * FROM simulation_data").fetchall()
    assert rows[0] == tuple(simulation_row()[:8]) + (SEED, 4, 10, "/usr/local/bin/sim.py",
                                                      f"/usr/local/bin/sim.py --seed {SEED}",
                                                      100, 0.119495118323, 0.0, 0.0, 50)
    assert rows[1][8] == (1 << 63) - 1 and rows[1][-1] is None  # empty field: NULL, not 0
    assert con.execute("SELECT count(*) FROM disagreement").fetchone() == (0,)


def test_population_values_nan_inf_and_empty(tmp_path):
    rows = [population_row(),
            population_row(RUN_B, configuration_slatkin="nan", slatkin_locus_max="inf",
                           iqv_locus_mean="", num_trait_configurations="12",
                           neiman_tf_locus_max="-inf")]
    summary, con = load(tmp_path / "w.sqlite",
                        write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, rows))
    assert summary.ok and summary.files[0].format == "csv-population-2.5"
    view = con.execute("SELECT * FROM population_data ORDER BY simulation_run_id").fetchall()
    assert [r[0] for r in view] == [RUN_A, RUN_B]
    first = view[0]
    assert first[:5] == (RUN_A, "allneutral", 9, 0.0733, 0.119495118323)
    assert first[5:8] == (1.0, 0.08271, 0.4755425)  # slatkin max, min, mean
    assert first[14:17] == (3, 1, 2.0)  # richness max, min, mean
    assert first[20:26] == (2.1, 0.9, 7.5, 0.0, 2.5, 1.25)
    second = dict(zip(exportcsv.POPULATION_25, view[1]))
    assert second["configuration_slatkin"] == "NaN"
    assert second["slatkin_locus_max"] == math.inf
    assert second["neiman_tf_locus_max"] == -math.inf
    assert second["iqv_locus_mean"] is None
    assert second["num_trait_configurations"] == 12
    types = con.execute("SELECT typeof(configuration_slatkin), typeof(slatkin_locus_max), "
                        "typeof(iqv_locus_mean), typeof(richness_locus_max), "
                        "typeof(kandler_locus_mean) FROM census JOIN run USING (run_id) "
                        "WHERE simulation_run_id = ?", (RUN_B,)).fetchone()
    assert types == ("text", "real", "null", "integer", "real")
    # no per-locus rows invented from min/max/mean
    assert con.execute("SELECT count(*) FROM census_locus").fetchone() == (0,)


def ta_row(run, duration, size, *, width=28):
    numbers = [str(duration), str(size), "0.5", "7", "0.9", "1.8", "3", "5", "4.0", "1.1", "1.6",
               "1.35", "0.6", "0.8", "0.7", "0.1", "0.9", "0.5", "1", "4", "2.5", "2.0", "3.5",
               "2.75", "1.5", "2.25"]
    return [run, "allneutral", "0.5"] + numbers[:width - 3]


def test_sampled_and_tasampled_rows_go_to_sample(tmp_path):
    sampled = write_csv(tmp_path / "s.csv", exportcsv.SAMPLED, [
        [RUN_A, "allneutral", "0.5", "10", "0.2", "6", "1", "3", "2.0", "0.3", "1.0", "0.6",
         "0.4", "0.9", "0.65", "0.0", "0.75", "0.5"],
        [RUN_A, "allneutral", "0.5", "20", "0.3", "9", "2", "4", "3.0", "0.2", "0.8", "0.5",
         "0.5", "1.1", "0.8", "0.1", "0.8", "0.55"]])
    ta = write_csv(tmp_path / "t.csv", exportcsv.TASAMPLED_25,
                   [ta_row(RUN_A, d, s) for d in (10, 25) for s in (10, 20)])
    old_ta = write_csv(tmp_path / "u.csv", exportcsv.TASAMPLED_2014, [ta_row(RUN_B, 50, 20, width=24)])
    summary, con = load(tmp_path / "w.sqlite", sampled, ta, old_ta)
    assert summary.ok, summary.failed
    assert [f.format for f in summary.files] == ["csv-sampled-2.5", "csv-tasampled-2.5",
                                                 "csv-tasampled-2014-10"]
    rows = con.execute("SELECT * FROM sampled_data").fetchall()
    assert rows == [(RUN_A, "allneutral", 0.5, 10, 0.2, 6, 1, 3, 2.0, 0.3, 1.0, 0.6, 0.4, 0.9,
                     0.65, 0.0, 0.75, 0.5),
                    (RUN_A, "allneutral", 0.5, 20, 0.3, 9, 2, 4, 3.0, 0.2, 0.8, 0.5, 0.5, 1.1,
                     0.8, 0.1, 0.8, 0.55)]
    tas = con.execute("SELECT * FROM tasampled_data").fetchall()
    assert len(tas) == 5
    assert tas[0] == (RUN_A, "allneutral", 0.5, 10, 10, 0.5, 7, 0.9, 1.8, 3, 5, 4.0, 1.1, 1.6,
                      1.35, 0.6, 0.8, 0.7, 0.1, 0.9, 0.5, 1, 4, 2.5, 2.0, 3.5, 2.75, 1.5)
    assert tas[4][:5] == (RUN_B, "allneutral", 0.5, 50, 20)
    assert tas[4][-4:] == (None, None, None, None)  # that era has no t_f columns
    # a sampled file gives synchronic samples only; TA rows have their duration
    assert con.execute("SELECT count(*) FROM sample WHERE ta_duration IS NULL").fetchone() == (2,)
    assert con.execute("SELECT count(*) FROM sample_locus").fetchone() == (0,)


def test_per_locus_files_fill_census_locus_in_file_order(tmp_path):
    slatkin = write_csv(tmp_path / "B-pop-slatkin-locus-data.csv", exportcsv.SLATKIN_LOCUS,
                        [[RUN_A, "allneutral", "0.5", v] for v in ("0.08271", "1.0", "0.5579", "nan")]
                        + [[RUN_B, "allneutral", "0.7", "0.25"]])
    richness = write_csv(tmp_path / "B-pop-richness-locus-data.csv", exportcsv.RICHNESS_LOCUS,
                         [[RUN_A, "allneutral", "0.5", v] for v in ("2", "1", "3", "2")])
    summary, con = load(tmp_path / "w.sqlite", slatkin, richness)
    assert summary.ok
    rows = con.execute("SELECT simulation_run_id, locus, slatkin_exact, richness, "
                       "shannon_entropy, typeof(richness) FROM census_locus "
                       "JOIN run USING (run_id) ORDER BY 1, 2").fetchall()
    assert rows == [(RUN_A, 0, 0.08271, 2, None, "integer"), (RUN_A, 1, 1.0, 1, None, "integer"),
                    (RUN_A, 2, 0.5579, 3, None, "integer"), (RUN_A, 3, "NaN", 2, None, "integer"),
                    (RUN_B, 0, 0.25, None, None, "null")]
    # per-locus values alone make no census row, and so no population_data row
    assert con.execute("SELECT count(*) FROM census").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM population_data").fetchone() == (0,)
    # the second file added to runs the first created
    assert con.execute("SELECT count(*) FROM csv_origin").fetchone() == (1,)
    assert [f.runs for f in summary.files] == [2, 0]


def test_a_run_only_in_a_population_file_is_in_population_data(tmp_path):
    summary, con = load(tmp_path / "w.sqlite",
                        write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, [population_row()]))
    assert con.execute("SELECT simulation_run_id FROM population_data").fetchall() == [(RUN_A,)]
    assert con.execute("SELECT count(*) FROM sampled_data").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM tasampled_data").fetchone() == (0,)
    run = con.execute("SELECT model_class_label, source_line, document_id, node FROM run").fetchone()
    assert run == ("allneutral", 2, None, tmp_path.name)


@pytest.mark.parametrize("bad,message", [
    ("abc", "column configuration_slatkin: not a number: 'abc'"),
    ("1.2.3", "column configuration_slatkin: not a number: '1.2.3'"),
])
def test_a_value_that_is_no_number_fails_its_file_at_its_line(tmp_path, bad, message):
    rows = [population_row(f"urn:uuid:{i}") for i in range(5)]
    rows[3] = population_row("urn:uuid:3", configuration_slatkin=bad)
    path = write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, rows)
    summary, con = load(tmp_path / "w.sqlite", path)
    (failed,) = summary.failed
    assert str(failed.error) == f"{path}:5: {message}"
    assert con.execute("SELECT count(*) FROM run").fetchone() == (0,)  # nothing of that file


def test_integers_are_exact_or_an_error(tmp_path):
    rows = [population_row(RUN_A, richness_locus_max="3.0"),
            population_row(RUN_B, richness_locus_max="3.5")]
    path = write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, rows)
    summary, _ = load(tmp_path / "w.sqlite", path)
    assert str(summary.failed[0].error) == (
        f"{path}:3: column richness_locus_max: expected an integer, found '3.5'")
    summary, con = load(tmp_path / "w2.sqlite",
                        write_csv(tmp_path / "q.csv", exportcsv.POPULATION_25, rows[:1]))
    assert con.execute("SELECT richness_locus_max, typeof(richness_locus_max) FROM census"
                       ).fetchone() == (3, "integer")


def test_integers_beyond_64_bits_keep_every_digit_or_fail(tmp_path):
    huge = "123456789012345678901234567890"
    simulation = write_csv(tmp_path / "s.csv", exportcsv.SIMULATION,
                           [simulation_row(seed=huge)])
    summary, con = load(tmp_path / "w.sqlite", simulation)
    assert summary.ok
    assert con.execute("SELECT value FROM parameter WHERE name = 'random_seed'"
                       ).fetchone() == (huge,)
    population = write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25,
                           [population_row(RUN_B, kandler_locus_max=huge)])
    summary, con = load(tmp_path / "w2.sqlite", population)
    assert str(summary.failed[0].error) == (
        f"{population}:2: column kandler_locus_max: integer beyond 64 bits, found '{huge}'")
    assert con.execute("SELECT count(*) FROM census").fetchone() == (0,)


def test_a_ragged_row_fails_the_file(tmp_path):
    rows = [population_row(f"urn:uuid:{i}") for i in range(4)]
    rows[2] = rows[2][:-1]
    path = write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, rows)
    summary, con = load(tmp_path / "w.sqlite", path)
    assert str(summary.failed[0].error) == f"{path}:4: expected 26 fields, found 25"
    assert con.execute("SELECT count(*) FROM source").fetchone() == (0,)


def test_a_row_repeated_in_a_file_is_stored_once_and_compared(tmp_path):
    rows = [population_row(RUN_A), population_row(RUN_B), population_row(RUN_A),
            population_row(RUN_A, kandler_locus_mean="1.5")]
    summary, con = load(tmp_path / "w.sqlite",
                        write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, rows))
    assert summary.ok
    assert con.execute("SELECT count(*) FROM census").fetchone() == (2,)
    assert con.execute("SELECT table_name, column_name, stored_value, file_value, source_line "
                       "FROM disagreement").fetchall() == [("census", "kandler_locus_mean", 1.75,
                                                            1.5, 5)]
    assert summary.total("disagreements") == 1
    ta = [ta_row(RUN_A, 10, 10), ta_row(RUN_A, 10, 20), ta_row(RUN_A, 10, 10)]
    summary, con = load(tmp_path / "w2.sqlite", write_csv(tmp_path / "t.csv",
                                                          exportcsv.TASAMPLED_25, ta))
    assert con.execute("SELECT count(*) FROM sample").fetchone() == (2,)
    assert summary.total("disagreements") == 0


def test_the_same_file_twice_loads_once(tmp_path):
    path = write_csv(tmp_path / "p.csv", exportcsv.POPULATION_25, [population_row()])
    load(tmp_path / "w.sqlite", path)
    summary, con = load(tmp_path / "w.sqlite", path)
    assert summary.files[0].status == "skipped"
    assert con.execute("SELECT count(*) FROM census").fetchone() == (1,)


def test_runs_cut_by_chunks_or_split_in_a_file_load_whole(tmp_path, monkeypatch):
    runs = [f"urn:uuid:{i}" for i in range(5)]
    rows = [ta_row(run, d, s) for run in runs for d in (10, 25, 50, 100) for s in (10, 20)]
    rows += [ta_row(runs[1], 200, 10), ta_row(runs[1], 10, 10)]  # run 1 again, later
    path = write_csv(tmp_path / "t.csv", exportcsv.TASAMPLED_25, rows)
    summary, con = load(tmp_path / "whole.sqlite", path)
    expected = con.execute("SELECT * FROM tasampled_data").fetchall()
    assert len(expected) == 41 and summary.total("disagreements") == 0
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 700)  # a run's rows over several chunks
    summary, con = load(tmp_path / "cut.sqlite", path)
    assert con.execute("SELECT * FROM tasampled_data").fetchall() == expected
    assert summary.total("disagreements") == 0 and summary.total("documents") == 42
    assert con.execute("SELECT count(*) FROM sample").fetchone() == (41,)
    assert con.execute("SELECT count(DISTINCT sample_id) FROM sample").fetchone() == (41,)


def test_the_second_network_class_is_a_second_opinion(tmp_path):
    row = simulation_row()
    row[6] = "ctmixtures.population.SquareLatticeFactory"
    summary, con = load(tmp_path / "w.sqlite", write_csv(tmp_path / "s.csv", exportcsv.SIMULATION,
                                                         [row]))
    assert summary.total("disagreements") == 1
    assert con.execute("SELECT table_name, column_name, stored_value, file_value, source_line "
                       "FROM disagreement").fetchall() == [
        ("parameter", "network_class", "ctmixtures.population.CompleteGraphFactory",
         "ctmixtures.population.SquareLatticeFactory", 2)]
    assert con.execute("SELECT network_class FROM simulation_data").fetchone() == (
        "ctmixtures.population.CompleteGraphFactory",)


def test_same_compares_within_the_tolerance_only():
    from warehouse.profiles.ctmixtures.csv.values import same

    assert same(1.0, 1.0 + 5e-13) and not same(1.0, 1.0 + 5e-12)
    assert same(0.0, 0.0) and not same(0.0, 1e-300)
    assert same(math.inf, math.inf) and not same(math.inf, -math.inf)
    assert not same(math.inf, 1e308)
    assert same("NaN", "NaN") and not same("NaN", 1.0)
    assert same(3, 3.0) and not same(2 ** 62, 2 ** 62 + 1)
    assert same("allneutral", "allneutral") and not same("allneutral", "mixconfdom")


def test_the_garbage_collector_is_back_on_after_any_file(tmp_path):
    import gc

    good = write_csv(tmp_path / "a.csv", exportcsv.POPULATION_25, [population_row()])
    rows = [population_row(f"urn:uuid:{i}") for i in range(3)]
    rows[1][3] = "garbage"
    bad = write_csv(tmp_path / "b.csv", exportcsv.POPULATION_25, rows)
    summary, _ = load(tmp_path / "w.sqlite", good, bad)
    assert [f.status for f in summary.files] == ["loaded", "failed"]
    assert gc.isenabled()
