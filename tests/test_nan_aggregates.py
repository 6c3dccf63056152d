"""Min, max and mean over loci when a per-locus value is NaN: the exporter's rule.

The exporter took min and max with Python's built-ins over the per-locus list in
locus order (a NaN in first place is the answer, a NaN elsewhere is passed over)
and the mean with numpy.average (NaN when any value is NaN, or when +inf meets
-inf). Every expected value below was worked out by hand from the record, with
that rule; none is produced by the code under test.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
from bson import ObjectId
from click.testing import CliRunner

from warehouse.cli import main
from warehouse.demo import DATABASE, dumpwriter
from warehouse.demo.dialects import ERAS, write_json_lines
from warehouse.pipeline.build import build
from warehouse.profiles.ctmixtures.diversity import min_max_mean

NAN, INF = float("nan"), float("inf")
RUN = "urn:uuid:00000000-0000-4000-8000-0000000000e1"

RECORD = {
    "_id": ObjectId("54179b53eb0a190a9f6fd7e1"),
    "simulation_run_id": RUN,
    "model_class_label": "allneutral",
    "num_features": 4,
    "innovation_rate": 0.5,
    "sample_size": [4],
    "population_size": 100,
    # population_data
    "slatkin_exact": [0.31, NAN, 0.09, 0.2],       # NaN in the middle (the example)
    "shannon_entropy": [NAN, 0.5, 1.0, 0.25],      # NaN first
    "iqv_diversity": [0.5, 0.75, 0.25, NAN],       # NaN last
    "pop_richness": [2, 4, 3, 5],
    "kandler_remaining_count": [1, 3, 2, 2],
    "num_trait_configurations": 3,
    "trait_configuration_counts": [2, 1, 1],
    "configuration_slatkin": 0.5,
    "unlabeled_frequencies": [[0.5, 0.5], [NAN], [1.0], [0.25, 0.25, 0.25, 0.25]],
    "unlabeled_counts": [[50, 50], [100], [100], [25, 25, 25, 25]],
    # sampled_data, sample size 4
    "richness_ssize": {"4": [2, 3, 1, 2]},
    "slatkin_ssize": {"4": [NAN, NAN, NAN, NAN]},  # all NaN
    "entropy_ssize": {"4": [INF, 0.5, -INF, 0.25]},  # +inf and -inf
    "iqv_ssize": {"4": [0.5, 1.0, NAN, 0.0]},
    "unlabeled_freq_ssize": {"4": [[0.5, 0.5], [0.75, 0.25], [1.0], [0.5, 0.5]]},
    "unlabeled_counts_ssize": {"4": [[2, 2], [3, 1], [4], [2, 2]]},
    "unlabeled_config_counts_ssize": {"4": [2, 1, 1]},
    "config_slatkin_ssize": {"4": 0.125},
    # tasampled_data, duration 10, sample size 4: loci keyed out of order on purpose,
    # the exporter read them as locus 0, 1, 2, 3
    "richness_ta_ssize": {"10": {"0": {"4": 3}, "1": {"4": 1}, "2": {"4": 2}, "3": {"4": 4}}},
    "slatkin_ta_ssize": {"10": {"3": {"4": 0.2}, "1": {"4": 0.4}, "2": {"4": 0.1},
                                "0": {"4": NAN}}},  # locus 0 NaN, keyed last
    "entropy_ta_ssize": {"10": {"2": {"4": NAN}, "0": {"4": 0.5}, "1": {"4": 1.0},
                                "3": {"4": 0.25}}},  # locus 2 NaN, keyed first
    "iqv_ta_ssize": {"10": {"0": {"4": 0.5}, "1": {"4": 0.75}, "2": {"4": 0.25},
                            "3": {"4": NAN}}},
    "unlabeled_freq_ta_ssize": {"10": {"0": {"4": [0.5, 0.5]}, "1": {"4": [1.0]},
                                       "2": {"4": [0.25, 0.25, 0.25, 0.25]},
                                       "3": {"4": [0.5, 0.25, 0.25]}}},
    "unlabeled_config_counts_ta_ssize": {"10": {"4": {"(0, 1, 2, 3)": 3, "(1, 1, 1, 1)": 1}}},
    "num_configurations_ta_ssize": {"10": {"4": 2}},
    "config_slatkin_ta_ssize": {"10": {"4": 0.8}},
    "config_entropy_ta_ssize": {"10": {"4": 0.5623351446188083}},
    "config_iqv_ta_ssize": {"10": {"4": 0.75}},
    "kandler_remaining_tassize": {"10": {"4": [1, 2, 0, 1]}},
}

POPULATION = [
    RUN, "allneutral", 3, 0.5, 0.5,
    0.31, 0.09, "NaN",      # slatkin max, min, mean: the middle NaN passed over
    "NaN", "NaN", "NaN",    # entropy: NaN first is the answer
    0.75, 0.25, "NaN",      # iqv: the last NaN passed over
    5, 2, 3.5,              # richness [2, 4, 3, 5]
    3, 1, 2.0,              # kandler [1, 3, 2, 2]
    # configurations [2, 1, 1]: f = 1/2, 1/4, 1/4, sum f^2 = 3/8
    1.5 * math.log(2), 0.9375, 5 / 3,
    0.0, 3.0, "NaN",        # t_f per locus 1, NaN (from [nan]), 0, 3: min, max, mean
]
SAMPLED = [
    RUN, "allneutral", 0.5, 4, 0.125, 3,
    1, 3, 2.0,              # richness [2, 3, 1, 2]
    "NaN", "NaN", "NaN",    # slatkin: all NaN
    -INF, INF, "NaN",       # entropy: +inf and -inf make the mean NaN
    0.0, 1.0, "NaN",        # iqv [0.5, 1.0, nan, 0.0]
]
TASAMPLED = [
    RUN, "allneutral", 0.5, 10, 4, 0.8, 2, 0.75, 0.5623351446188083,
    1, 4, 2.5,              # richness [3, 1, 2, 4]
    0.25, 1.0, "NaN",       # entropy in locus order [0.5, 1.0, nan, 0.25]
    0.25, 0.75, "NaN",      # iqv [0.5, 0.75, 0.25, nan]
    "NaN", "NaN", "NaN",    # slatkin: locus 0 is NaN
    0, 2, 1.0,              # kandler [1, 2, 0, 1]
    0.6,                    # configurations [3, 1]: 16/10 - 1
    0.0, 3.0, 17 / 12,      # t_f per locus 1, 0, 3, 5/3: mean (17/3)/4
]
VIEWS = {"population_data": POPULATION, "sampled_data": SAMPLED, "tasampled_data": TASAMPLED}


def assert_row(got: tuple, want: list) -> None:
    assert len(got) == len(want)
    for index, (have, expected) in enumerate(zip(got, want)):
        if isinstance(expected, float) and math.isfinite(expected):
            assert type(have) is float and have == pytest.approx(expected, rel=1e-12), \
                (index, have, expected)
        else:  # 'NaN', an infinity, an integer or text: exactly, type included
            assert type(have) is type(expected) and have == expected, (index, have, expected)


def assert_views(db: Path, views: dict[str, list]) -> None:
    with sqlite3.connect(db) as con:
        for view, expected in views.items():
            rows = con.execute(f"SELECT * FROM {view}").fetchall()
            assert len(rows) == 1, view
            assert_row(rows[0], expected)


def write_run(folder: Path, form: str, record: dict = RECORD) -> Path:
    """The record under ``folder/node1`` as mongoexport of an era, a dump folder or an archive."""
    node = folder / "node1"
    node.mkdir(parents=True, exist_ok=True)
    if form == "bson":
        dumpwriter.write_collection(node / "dump", DATABASE, "mixture_model_stats", [record])
    elif form == "archive":
        dumpwriter.write_archive(node / "dump.archive",
                                 {(DATABASE, "mixture_model_stats"): [record]})
    else:
        with open(node / "mixture_model_stats.json", "wb") as fh:
            write_json_lines(fh, [record], form)
    return folder


def built(tmp_path: Path, form: str = "3.x", record: dict = RECORD) -> Path:
    db = tmp_path / "w.sqlite"
    summary = build(db, [write_run(tmp_path / "raw", form, record)], jobs=1)
    assert summary.ok and summary.total("runs") == 1, [str(f.error) for f in summary.failed]
    return db


@pytest.mark.parametrize(("values", "expected"), [
    ([0.31, NAN, 0.09, 0.2], (0.09, 0.31, NAN)),     # NaN in the middle: passed over
    ([NAN, 0.31, 0.09, 0.2], (NAN, NAN, NAN)),       # NaN first: the answer
    ([0.31, 0.09, 0.2, NAN], (0.09, 0.31, NAN)),     # NaN last: passed over
    ([NAN, NAN, NAN, NAN], (NAN, NAN, NAN)),
    ([INF, 0.5, -INF, 0.25], (-INF, INF, NAN)),      # numpy: inf + -inf is NaN
    ([0.5, INF], (0.5, INF, INF)),
    ([3, NAN, 2, 5], (2, 5, NAN)),                   # integers keep their type
    ([2, 4, 3, 5], (2, 5, 3.5)),
    ([], (None, None, None)),
])
def test_min_max_mean_is_the_exporters(values: list, expected: tuple) -> None:
    got = min_max_mean(values)
    for have, want in zip(got, expected):
        if want is not None and want != want:
            assert have != have, (got, expected)
        else:
            assert have == want and type(have) is type(want), (got, expected)


@pytest.mark.parametrize("form", [*ERAS, "bson", "archive"])
def test_views_give_the_exporters_values(tmp_path: Path, form: str) -> None:
    assert_views(built(tmp_path, form), VIEWS)


def test_a_missing_per_locus_value_leaves_the_aggregates_unknown(tmp_path: Path) -> None:
    # the exporter had no value for these (its numpy mean fails on None): NULL, as before
    record = {**RECORD, "iqv_ssize": {"4": [0.5, None, NAN, 0.0]},
              "slatkin_ta_ssize": {"10": {"0": {"4": NAN}, "1": {"4": 0.4}, "2": {"4": None},
                                          "3": {"4": 0.2}}}}
    sampled = SAMPLED[:15] + [None, None, None]
    tasampled = TASAMPLED[:18] + [None, None, None] + TASAMPLED[21:]
    assert_views(built(tmp_path, "3.x", record),
                 {"sampled_data": sampled, "tasampled_data": tasampled})


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_verify_checks_aggregates_by_the_exporters_rule(tmp_path: Path) -> None:
    db = built(tmp_path)
    result = invoke("verify", "--db", str(db))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as con:  # what builds before schema 7 stored
        con.execute("UPDATE census SET slatkin_locus_min = 'NaN', slatkin_locus_max = 'NaN'")
        con.execute("UPDATE sample SET iqv_locus_min = 'NaN' WHERE ta_duration IS NULL")
    lines = invoke("verify", "--db", str(db)).output.strip().splitlines()
    assert lines == [
        "aggregates: census run_id=1: slatkin_locus_min is 'NaN', per-locus rows give 0.09",
        "aggregates: census run_id=1: slatkin_locus_max is 'NaN', per-locus rows give 0.31",
        "aggregates: sample sample_id=1: iqv_locus_min is 'NaN', per-locus rows give 0.0",
        f"warehouse: 3 problems in {db}",
    ]
