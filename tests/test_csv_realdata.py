"""The published export files of mmadsen/experiment-ctmixtures (shared/realdata, section 1).

Expected figures are those of ``shared/realdata/README.md``, computed there from
the files' bytes; the warehouse must give them back from its tables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from warehouse.pipeline.build import build

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
EXPORTS = REALDATA / "ctmixtures-exports"

pytestmark = pytest.mark.skipif(not EXPORTS.is_dir(), reason="shared/realdata is not here")

# set -> (mean innovation_rate, sum of richness_locus_value, mean num_trait_configurations,
#         mean sampled entropy_locus_min, i.e. the mean entropy the 2014-10 file put there)
FACTS = {
    "evtest4m": (2.73960334728, 6288, 87.55, 1.76705077701),
    "nv1test-alllocus": (2.58343660386, 2305, 14.99, 0.90496829678),
    "nv4test-alllocus": (2.3300966482, 2259, 14.24, 0.884865613439),
    "nv8test-alllocus": (2.43613052109, 2334, 14.99, 0.958623445953),
    "nv8test-randlocus": (2.70898390757, 6405, 88.43, 1.78426206501),
}
END_TIMES = {"evtest4m": 4000000, "nv1test-alllocus": 1000000, "nv4test-alllocus": 4000000,
             "nv8test-alllocus": 8000000, "nv8test-randlocus": 8000000}


@pytest.fixture(scope="module")
def con(tmp_path_factory) -> sqlite3.Connection:
    db = tmp_path_factory.mktemp("realdata") / "w.sqlite"
    summary = build(db, [EXPORTS])
    assert summary.ok, [str(f.error) for f in summary.failed]
    assert len(summary.files) == 25 and summary.total("disagreements") == 0
    return sqlite3.connect(db)


def set_runs(con, name: str) -> str:
    """SQL selecting the run_ids of one set: runs its simulation file names."""
    return (f"SELECT run_id FROM run JOIN source USING (source_id) "
            f"WHERE path LIKE '%/{name}/%' UNION SELECT run_id FROM csv_origin "
            f"JOIN source USING (source_id) WHERE path LIKE '%/{name}/{name}-simulation-data.csv'")


def test_run_counts(con):
    assert con.execute("SELECT count(*), count(DISTINCT simulation_run_id) FROM run"
                       ).fetchone() == (500, 500)
    for view in ("simulation_data", "population_data", "sampled_data"):
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (500,), view
    assert con.execute("SELECT count(*) FROM tasampled_data").fetchone() == (0,)
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM census_locus"
                       ).fetchone() == (2000, 500)
    for name in FACTS:
        assert con.execute(f"SELECT count(*) FROM ({set_runs(con, name)})").fetchone() == (100,)


def test_eras_recognised(con):
    formats = dict(con.execute("SELECT format, count(*) FROM source GROUP BY 1"))
    assert formats == {"csv-simulation-2.5": 5, "csv-population-2014-10": 5,
                       "csv-sampled-2014-10": 5, "csv-pop-slatkin-locus-2014-10": 5,
                       "csv-pop-richness-locus-2014-10": 5}


@pytest.mark.parametrize("name", FACTS)
def test_published_facts_per_set(con, name):
    rate, richness, configurations, entropy = FACTS[name]
    runs = set_runs(con, name)
    got_rate = con.execute(f"SELECT avg(value) FROM parameter WHERE name = 'innovation_rate' "
                           f"AND run_id IN ({runs})").fetchone()[0]
    assert got_rate == pytest.approx(rate, abs=5e-12)
    assert con.execute(f"SELECT sum(richness), count(*) FROM census_locus "
                       f"WHERE run_id IN ({runs})").fetchone() == (richness, 400)
    assert con.execute(f"SELECT avg(num_trait_configurations) FROM census "
                       f"WHERE run_id IN ({runs})").fetchone()[0] == pytest.approx(configurations,
                                                                                  abs=1e-9)
    got_entropy = con.execute(f"SELECT avg(entropy_locus_mean), count(entropy_locus_min), "
                              f"count(entropy_locus_max), min(sample_size), max(sample_size) "
                              f"FROM sample WHERE run_id IN ({runs})").fetchone()
    assert got_entropy[0] == pytest.approx(entropy, abs=5e-12)
    assert got_entropy[1:] == (0, 0, 20, 20)  # the file's min was the mean; only size 20
    command_ends = con.execute(
        f"SELECT count(*) FROM simulation_data WHERE full_command_line LIKE "
        f"'%--simulationendtime {END_TIMES[name]} %' AND simulation_run_id IN "
        f"(SELECT simulation_run_id FROM run WHERE run_id IN ({runs}))").fetchone()
    assert command_ends == (100,)


def test_seeds_are_exact_integers(con):
    seeds = con.execute("SELECT value, typeof(value) FROM parameter WHERE name = 'random_seed'"
                        ).fetchall()
    assert len(seeds) == 500 and {t for _, t in seeds} == {"integer"}
    assert min(v for v, _ in seeds) > 2 ** 53
    assert max(v for v, _ in seeds) == 4605056590505150188
    row = con.execute("SELECT random_seed, kandler_interval, population_size, num_features, "
                      "model_class_label, conformism_strength FROM simulation_data "
                      "WHERE simulation_run_id = 'urn:uuid:ec1ff8b9-52b3-4a70-875f-5d87dbe0e4ec'"
                      ).fetchone()
    assert row == (3216246672297226829, 50, 100, 4, "allneutral", 0.0)


def test_cross_file_facts_hold_in_the_tables(con):
    # slatkin max/min of the per-locus file = the population file's; richness max/min/mean too
    mismatched = con.execute(
        "SELECT count(*) FROM census AS c JOIN (SELECT run_id, max(slatkin_exact) AS smax, "
        "min(slatkin_exact) AS smin, max(richness) AS rmax, min(richness) AS rmin, "
        "avg(richness) AS rmean, avg(slatkin_exact) AS smean FROM census_locus GROUP BY run_id) "
        "AS l USING (run_id) WHERE c.slatkin_locus_max != l.smax OR c.slatkin_locus_min != l.smin "
        "OR c.richness_locus_max != l.rmax OR c.richness_locus_min != l.rmin "
        "OR c.richness_locus_mean != l.rmean "
        "OR abs(c.slatkin_locus_mean - l.smean) > 1e-12 * abs(l.smean)").fetchone()
    assert mismatched == (0,)


def test_era_bugs_are_withheld_and_kept(con):
    assert con.execute("SELECT count(entropy_locus_max), count(entropy_locus_min), "
                       "count(entropy_locus_mean), count(slatkin_locus_mean) FROM census"
                       ).fetchone() == (0, 0, 0, 500)
    kept = dict(con.execute("SELECT file_column || ' -> ' || coalesce(stored_as, '-'), count(*) "
                            "FROM csv_correction GROUP BY 1"))
    assert kept == {"entropy_locus_max -> -": 500, "entropy_locus_min -> -": 500,
                    "entropy_locus_mean -> census.slatkin_locus_mean": 500,
                    "entropy_locus_min -> sample.entropy_locus_mean": 500}
    # the file's text is there, e.g. the first row of evtest4m's population file
    assert con.execute("SELECT file_value FROM csv_correction AS c JOIN run USING (run_id) "
                       "WHERE simulation_run_id = 'urn:uuid:ec1ff8b9-52b3-4a70-875f-5d87dbe0e4ec' "
                       "AND file_column = 'entropy_locus_mean'").fetchone() == (
        "0.47554250000000003",)
