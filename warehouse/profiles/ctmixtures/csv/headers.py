"""The headers of the exporter's CSV files in every known era (docs/csv-eras.md).

The header tells the kind of file (``simulation``, ``population``,
``sampled``, ``tasampled`` and the per-locus ``pop-slatkin-locus`` /
``pop-richness-locus``) and the exporter era that wrote it.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from ....formats import Record
from ....formats.csvfile import CsvFile, open_csv

# --- headers of every known exporter era -------------------------------------------------
# Era "2.5": ctmixtures v2.5 (FORMAT.md). Era "2014-10": the exporter of early
# October 2014 (the published files in mmadsen/experiment-ctmixtures).

SIMULATION = (
    "simulation_run_id", "model_class_label", "network_class", "interaction_rule_classes",
    "innovation_class", "pop_class", "network_class", "trait_class", "random_seed",
    "num_features", "init_traits_per_feature", "script_filename", "full_command_line",
    "population_size", "innovation_rate", "conformism_strength", "anticonformism_strength",
    "kandler_interval",
)
POPULATION_2014 = (
    "simulation_run_id", "model_class_label", "num_trait_configurations",
    "configuration_slatkin", "innovation_rate", "slatkin_locus_max", "slatkin_locus_min",
    "entropy_locus_max", "entropy_locus_min", "entropy_locus_mean",
    "iqv_locus_max", "iqv_locus_min", "iqv_locus_mean",
    "richness_locus_max", "richness_locus_min", "richness_locus_mean",
    "kandler_locus_max", "kandler_locus_min", "kandler_locus_mean",
)
POPULATION_25 = (
    "simulation_run_id", "model_class_label", "num_trait_configurations",
    "configuration_slatkin", "innovation_rate", "slatkin_locus_max", "slatkin_locus_min",
    "slatkin_locus_mean", "entropy_locus_max", "entropy_locus_min", "entropy_locus_mean",
    "iqv_locus_max", "iqv_locus_min", "iqv_locus_mean",
    "richness_locus_max", "richness_locus_min", "richness_locus_mean",
    "kandler_locus_max", "kandler_locus_min", "kandler_locus_mean",
    "config_entropy", "config_iqv", "config_neiman_tf",
    "neiman_tf_locus_min", "neiman_tf_locus_max", "neiman_tf_locus_mean",
)
# The same header in both eras; rows of the 2014-10 exporter are told by their content.
SAMPLED = (
    "simulation_run_id", "model_class_label", "innovation_rate", "sample_size",
    "config_slatkin_ssize", "num_configurations_ssize",
    "richness_locus_min", "richness_locus_max", "richness_locus_mean",
    "slatkin_locus_min", "slatkin_locus_max", "slatkin_locus_mean",
    "entropy_locus_min", "entropy_locus_max", "entropy_locus_mean",
    "iqv_locus_min", "iqv_locus_max", "iqv_locus_mean",
)
TASAMPLED_2014 = (
    "simulation_run_id", "model_class_label", "innovation_rate", "ta_duration", "sample_size",
    "config_slatkin_ta_ssize", "num_configurations_ta_ssize", "config_iqv_ta_ssize",
    "config_entropy_ta_ssize",
    "richness_locus_min_tassize", "richness_locus_max_tassize", "richness_locus_mean_tassize",
    "entropy_locus_min_tassize", "entropy_locus_max_tassize", "entropy_locus_mean_tassize",
    "iqv_locus_min_tassize", "iqv_locus_max_tassize", "iqv_locus_mean_tassize",
    "slatkin_locus_min_tassize", "slatkin_locus_max_tassize", "slatkin_locus_mean_tassize",
    "kandler_locus_min_tassize", "kandler_locus_max_tassize", "kandler_locus_mean_tassize",
)
TASAMPLED_25 = TASAMPLED_2014 + (
    "config_neiman_tf_tassize", "neiman_tf_locus_min_tassize", "neiman_tf_locus_max_tassize",
    "neiman_tf_locus_mean_tassize",
)
SLATKIN_LOCUS = ("simulation_run_id", "model_class_label", "innovation_rate", "slatkin_locus_value")
RICHNESS_LOCUS = ("simulation_run_id", "model_class_label", "innovation_rate",
                  "richness_locus_value")

# header -> (kind, era); the kind names the file the exporter wrote: B-<kind>-data.csv
HEADERS: dict[tuple[str, ...], tuple[str, str]] = {
    SIMULATION: ("simulation", "2.5"),
    POPULATION_25: ("population", "2.5"),
    POPULATION_2014: ("population", "2014-10"),
    SAMPLED: ("sampled", "2.5"),
    TASAMPLED_25: ("tasampled", "2.5"),
    TASAMPLED_2014: ("tasampled", "2014-10"),
    SLATKIN_LOCUS: ("pop-slatkin-locus", "2014-10"),
    RICHNESS_LOCUS: ("pop-richness-locus", "2014-10"),
}


def sampled_2014_row(header: tuple[str, ...], row: list[str]) -> bool:
    """A sampled row of the 2014-10 exporter: entropy max and mean empty, min set (the
    three were assigned to entropy_locus_min; the last, the mean, stayed)."""
    low, high, mean = (row[header.index(f"entropy_locus_{s}")] for s in ("min", "max", "mean"))
    return high == "" and mean == "" and low != ""


class _ExportHeaders:
    """The export files' headers, as the CSV reader asks for them."""

    def recognise(self, header: tuple[str, ...]) -> tuple[str, str] | None:
        return HEADERS.get(header)

    def era_from_first_row(self, kind: str, era: str, header: tuple[str, ...],
                           row: list[str]) -> str:
        # one header for both sampled eras: the first row tells them apart
        return "2014-10" if kind == "sampled" and sampled_2014_row(header, row) else era

    def expected(self) -> str:
        return "the header of a ctmixtures export file, one of: " + "; ".join(
            f"{kind} ({era}): {', '.join(header)}" for header, (kind, era) in HEADERS.items())


CSV_HEADERS = _ExportHeaders()


def open_export(stream: BinaryIO, path: str) -> tuple[CsvFile, Iterator[Record]]:
    """An export file of any era: what it is, and its records (chunks of rows)."""
    return open_csv(stream, path, CSV_HEADERS)
