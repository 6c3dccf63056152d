"""A small run record whose four export rows are computed by hand.

The expected values below were worked out on paper from the record (the
arithmetic is in the comments), not by the code under test. The record is
written in every mongoexport era, built, exported, and compared cell by cell.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from bson import ObjectId

from warehouse.pipeline.build import build
from warehouse.demo.dialects import ERAS, write_json_lines
from warehouse.access.export import export

RUN = "urn:uuid:00000000-0000-4000-8000-000000000001"
SEED = 2**53 + 1  # not representable as a double

RECORD = {
    "_id": ObjectId("54179b53eb0a190a9f6fd757"),
    "simulation_run_id": RUN,
    "sample_time": 4000000,
    "model_class_label": "mixconfdom",
    "script_filename": "/usr/local/bin/sim-ctmixture-timeaveraging.py",
    "full_command_line": f"sim-ctmixture-timeaveraging.py --seed {SEED}",
    "random_seed": SEED,
    "interaction_rule_classes": "{u'ctmixtures.rules.ConformistCopyingRule': 0.7, "
                                "u'ctmixtures.rules.AntiConformistCopyingRule': 0.3}",
    "pop_class": "ctmixtures.population.FixedTraitStructurePopulation",
    "network_class": "ctmixtures.population.CompleteGraphFactory",
    "trait_class": "ctmixtures.traits.LocusAlleleTraitFactory",
    "innovation_class": "ctmixtures.rules.InfiniteAllelesMutationRule",
    "num_features": 2,
    "init_traits_per_feature": 10,
    "conformism_strength": 0.25,
    "anticonformism_strength": 0.0,  # whole double: era 3.x prints it as 0
    "innovation_rate": 1.5,
    "sample_size": [4],
    "population_size": 100,
    "kandler_interval": 5000,
    "slatkin_exact": [0.25, 0.75],
    "shannon_entropy": [0.5, 1.0],
    "iqv_diversity": [0.5, 0.75],
    "pop_richness": [2, 4],
    "kandler_remaining_count": [1, 3],
    "num_trait_configurations": 3,
    "trait_configuration_counts": [2, 1, 1],
    "configuration_slatkin": 0.5,
    "unlabeled_frequencies": [[0.5, 0.5], [0.25, 0.25, 0.25, 0.25]],
    "unlabeled_counts": [[50, 50], [25, 25, 25, 25]],
    "richness_ssize": {"4": [2, 3]},
    "slatkin_ssize": {"4": [0.125, 0.375]},
    "entropy_ssize": {"4": [0.25, 0.75]},
    "iqv_ssize": {"4": [0.5, 1.0]},
    "unlabeled_freq_ssize": {"4": [[0.5, 0.5], [0.5, 0.25, 0.25]]},
    "unlabeled_counts_ssize": {"4": [[2, 2], [2, 1, 1]]},
    "unlabeled_config_counts_ssize": {"4": [2, 1, 1]},
    "config_slatkin_ssize": {"4": 0.125},
    # TA durations "10" and "2": numeric order puts 2 first, text order would not.
    "richness_ta_ssize": {"10": {"0": {"4": 3}, "1": {"4": 1}}, "2": {"0": {"4": 2}, "1": {"4": 2}}},
    "slatkin_ta_ssize": {"10": {"0": {"4": 0.5}, "1": {"4": float("nan")}},
                         "2": {"0": {"4": 0.25}, "1": {"4": 0.75}}},
    "entropy_ta_ssize": {"10": {"0": {"4": 1.0}, "1": {"4": 0.0}},
                         "2": {"0": {"4": 0.5}, "1": {"4": 0.5}}},
    "iqv_ta_ssize": {"10": {"0": {"4": 0.75}, "1": {"4": 0.0}},
                     "2": {"0": {"4": 0.5}, "1": {"4": 1.0}}},
    "unlabeled_freq_ta_ssize": {"10": {"0": {"4": [0.5, 0.25, 0.25]}, "1": {"4": [1.0]}},
                                "2": {"0": {"4": [0.5, 0.5]}, "1": {"4": [0.75, 0.25]}}},
    "unlabeled_config_counts_ta_ssize": {"10": {"4": {"(0, 1)": 2, "(1, 1)": 2, "(2, 3)": 0}},
                                         "2": {"4": {"(0, 0)": 3, "(5, 1)": 1}}},
    "num_configurations_ta_ssize": {"10": {"4": 2}, "2": {"4": 2}},
    "config_slatkin_ta_ssize": {"10": {"4": float("inf")}, "2": {"4": 0.8}},
    "config_entropy_ta_ssize": {"10": {"4": 0.6931471805599453}, "2": {"4": 0.5623351446188083}},
    "config_iqv_ta_ssize": {"10": {"4": 1.0}, "2": {"4": 0.75}},
    "kandler_remaining_tassize": {"10": {"4": [1, 2]}, "2": {"4": [0, 1]}},
}

NAN = "nan"
SIMULATION = [
    RUN, "mixconfdom", RECORD["network_class"], RECORD["interaction_rule_classes"],
    RECORD["innovation_class"], RECORD["pop_class"], RECORD["network_class"],
    RECORD["trait_class"], SEED, 2, 10, RECORD["script_filename"],
    RECORD["full_command_line"], 100, 1.5, 0.25, 0.0,
    50,  # 5000 ticks // 100 individuals
]
POPULATION = [
    RUN, "mixconfdom", 3, 0.5, 1.5,
    0.75, 0.25, 0.5,       # slatkin max, min, mean
    1.0, 0.5, 0.75,        # entropy
    0.75, 0.5, 0.625,      # iqv
    4, 2, 3.0,             # richness
    3, 1, 2.0,             # kandler
    # configurations [2, 1, 1]: f = 1/2, 1/4, 1/4, sum f^2 = 3/8
    1.5 * math.log(2),     # entropy: 1/2 ln 2 + 2 * 1/4 ln 4
    0.9375,                # iqv: 3/2 * (1 - 3/8)
    5 / 3,                 # t_f: 8/3 - 1
    # t_f per locus: [.5, .5] -> 1/0.5 - 1 = 1; [.25]*4 -> 1/0.25 - 1 = 3
    1.0, 3.0, 2.0,         # min, max, mean
]
SAMPLED = [
    RUN, "mixconfdom", 1.5, 4, 0.125, 3,
    2, 3, 2.5,             # richness min, max, mean
    0.125, 0.375, 0.25,    # slatkin
    0.25, 0.75, 0.5,       # entropy
    0.5, 1.0, 0.75,        # iqv
]
TASAMPLED = [
    [RUN, "mixconfdom", 1.5, 2, 4, 0.8, 2, 0.75, 0.5623351446188083,
     2, 2, 2.0,            # richness
     0.5, 0.5, 0.5,        # entropy
     0.5, 1.0, 0.75,       # iqv
     0.25, 0.75, 0.5,      # slatkin
     0, 1, 0.5,            # kandler
     0.6,                  # configurations [3, 1]: sum f^2 = 9/16 + 1/16 = 5/8 -> 8/5 - 1
     0.6, 1.0, 0.8],       # loci: [.5, .5] -> 1; [.75, .25] -> 1/0.625 - 1 = 0.6
    [RUN, "mixconfdom", 1.5, 10, 4, "inf", 2, 1.0, 0.6931471805599453,
     1, 3, 2.0,
     0.0, 1.0, 0.5,
     0.0, 0.75, 0.375,
     0.5, 0.5, NAN,        # [0.5, nan]: min() and max() pass over a later NaN; mean NaN
     1, 2, 1.5,
     1.0,                  # [2, 2, 0]: sum f^2 = 1/2 -> 1
     0.0, 5 / 3, 5 / 6],   # [.5, .25, .25] -> 8/3 - 1; [1.0] -> 0
]

HEADERS = {
    "simulation-data": "simulation_run_id, model_class_label, network_class, interaction_rule_classes, innovation_class, pop_class, network_class, trait_class, random_seed, num_features, init_traits_per_feature, script_filename, full_command_line, population_size, innovation_rate, conformism_strength, anticonformism_strength, kandler_interval",
    "population-data": "simulation_run_id, model_class_label, num_trait_configurations, configuration_slatkin, innovation_rate, slatkin_locus_max, slatkin_locus_min, slatkin_locus_mean, entropy_locus_max, entropy_locus_min, entropy_locus_mean, iqv_locus_max, iqv_locus_min, iqv_locus_mean, richness_locus_max, richness_locus_min, richness_locus_mean, kandler_locus_max, kandler_locus_min, kandler_locus_mean, config_entropy, config_iqv, config_neiman_tf, neiman_tf_locus_min, neiman_tf_locus_max, neiman_tf_locus_mean",
    "sampled-data": "simulation_run_id, model_class_label, innovation_rate, sample_size, config_slatkin_ssize, num_configurations_ssize, richness_locus_min, richness_locus_max, richness_locus_mean, slatkin_locus_min, slatkin_locus_max, slatkin_locus_mean, entropy_locus_min, entropy_locus_max, entropy_locus_mean, iqv_locus_min, iqv_locus_max, iqv_locus_mean",
    "tasampled-data": "simulation_run_id, model_class_label, innovation_rate, ta_duration, sample_size, config_slatkin_ta_ssize, num_configurations_ta_ssize, config_iqv_ta_ssize, config_entropy_ta_ssize, richness_locus_min_tassize, richness_locus_max_tassize, richness_locus_mean_tassize, entropy_locus_min_tassize, entropy_locus_max_tassize, entropy_locus_mean_tassize, iqv_locus_min_tassize, iqv_locus_max_tassize, iqv_locus_mean_tassize, slatkin_locus_min_tassize, slatkin_locus_max_tassize, slatkin_locus_mean_tassize, kandler_locus_min_tassize, kandler_locus_max_tassize, kandler_locus_mean_tassize, config_neiman_tf_tassize, neiman_tf_locus_min_tassize, neiman_tf_locus_max_tassize, neiman_tf_locus_mean_tassize",
}


def assert_row(cells: list[str], expected: list) -> None:
    assert len(cells) == len(expected)
    for index, (cell, want) in enumerate(zip(cells, expected)):
        if isinstance(want, float):
            assert float(cell) == pytest.approx(want, rel=1e-12), (index, cell, want)
            assert "." in cell or "e" in cell or cell in ("inf", "nan"), (index, cell)  # a float
        else:
            assert cell == str(want), (index, cell, want)


def exported(tmp_path: Path, era: str) -> dict[str, list[list[str]]]:
    raw = tmp_path / "raw" / "node1"
    raw.mkdir(parents=True)
    with open(raw / "mixture_model_stats.json", "wb") as fh:
        write_json_lines(fh, [RECORD], era)
    db = tmp_path / "w.sqlite"
    summary = build(db, [tmp_path / "raw"])
    assert summary.ok, [str(f.error) for f in summary.failed]
    export(db, tmp_path / "out", "golden")
    files = {}
    for suffix in HEADERS:
        with open(tmp_path / "out" / f"golden-{suffix}.csv", newline="") as fh:
            text = fh.read()
        files[suffix] = list(csv.reader(text.splitlines()))
    return files


@pytest.mark.parametrize("era", ERAS)
def test_four_export_rows_match_hand_computed_values(tmp_path: Path, era: str) -> None:
    files = exported(tmp_path, era)
    for suffix, header in HEADERS.items():
        assert files[suffix][0] == header.split(", ")
    assert len(files["simulation-data"]) == 2
    assert_row(files["simulation-data"][1], SIMULATION)
    assert_row(files["population-data"][1], POPULATION)
    assert_row(files["sampled-data"][1], SAMPLED)
    assert [row[3] for row in files["tasampled-data"][1:]] == ["2", "10"]  # numeric order
    for cells, expected in zip(files["tasampled-data"][1:], TASAMPLED):
        assert_row(cells, expected)


def test_every_field_is_quoted_and_header_is_exact(tmp_path: Path) -> None:
    exported(tmp_path, "3.x")
    text = (tmp_path / "out" / "golden-simulation-data.csv").read_text()
    header, row = text.splitlines()
    assert header == ",".join(f'"{name}"' for name in HEADERS["simulation-data"].split(", "))
    assert row.startswith(f'"{RUN}","mixconfdom",') and f'"{SEED}"' in row
    assert text.endswith("\n") and "\r" not in text
