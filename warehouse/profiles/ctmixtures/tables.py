"""The tables the ctmixtures profile writes, and the containers its rows travel in."""

from __future__ import annotations

from typing import Any, Callable, Iterable

# Column order of every table the profile writes; checked against schemas/ by a test.
TABLES: dict[str, tuple[str, ...]] = {
    "run": ("run_id", "simulation_run_id", "model_class_label", "source_id", "node",
            "source_line", "source_offset", "document_id", "content_sha256"),
    "parameter": ("run_id", "name", "value"),
    "run_extra": ("run_id", "field", "value"),
    "census": ("run_id", "num_trait_configurations", "configuration_slatkin",
               "config_entropy", "config_iqv", "config_neiman_tf",
               "slatkin_locus_min", "slatkin_locus_max", "slatkin_locus_mean",
               "entropy_locus_min", "entropy_locus_max", "entropy_locus_mean",
               "iqv_locus_min", "iqv_locus_max", "iqv_locus_mean",
               "richness_locus_min", "richness_locus_max", "richness_locus_mean",
               "kandler_locus_min", "kandler_locus_max", "kandler_locus_mean",
               "neiman_tf_locus_min", "neiman_tf_locus_max", "neiman_tf_locus_mean"),
    "census_locus": ("run_id", "locus", "slatkin_exact", "shannon_entropy", "iqv_diversity",
                     "richness", "kandler_remaining", "neiman_tf"),
    "census_trait": ("run_id", "locus", "position", "count", "frequency"),
    "census_configuration": ("run_id", "position", "count"),
    "sample": ("sample_id", "run_id", "ta_duration", "sample_size",
               "config_slatkin", "num_configurations", "config_entropy", "config_iqv",
               "config_neiman_tf",
               "richness_locus_min", "richness_locus_max", "richness_locus_mean",
               "slatkin_locus_min", "slatkin_locus_max", "slatkin_locus_mean",
               "entropy_locus_min", "entropy_locus_max", "entropy_locus_mean",
               "iqv_locus_min", "iqv_locus_max", "iqv_locus_mean",
               "kandler_locus_min", "kandler_locus_max", "kandler_locus_mean",
               "neiman_tf_locus_min", "neiman_tf_locus_max", "neiman_tf_locus_mean"),
    "sample_locus": ("sample_id", "locus", "richness", "slatkin", "entropy", "iqv",
                     "kandler_remaining", "neiman_tf"),
    "sample_trait": ("sample_id", "locus", "position", "count", "frequency"),
    "sample_config_count": ("sample_id", "position", "count", "label_id"),
    "configuration_label": ("label_id", "run_id", "label"),
    "simulation_timing": ("timing_id", "simulation_run_id", "source_id", "experiment_name",
                          "script_filename", "rule_class", "pop_class", "elapsed_time",
                          "run_length", "popsize", "document"),
    "document": ("document_id", "source_id", "database_name", "collection",
                 "source_line", "source_offset", "body"),
    "conflict": ("conflict_id", "simulation_run_id", "source_id", "node", "source_line",
                 "source_offset", "content_sha256", "document"),
    "skipped": ("skipped_id", "source_id", "source_line", "source_offset", "reason", "raw"),
}


class Columns:
    """Rows of one table kept as columns: for the bulk detail tables (configuration
    counts and labels, trait lists: ~9/10 of all rows), so that a batch
    crossing from the worker to the writer pickles as a few flat lists instead
    of thousands of tuples. Iterating gives the rows, as ``executemany`` wants."""

    def __init__(self, width: int) -> None:
        self.columns: list[list] = [[] for _ in range(width)]

    def add(self, *columns: Iterable[Any]) -> None:
        for target, values in zip(self.columns, columns):
            target.extend(values)

    def __len__(self) -> int:
        return len(self.columns[0])

    def __iter__(self):
        return zip(*self.columns)

    def __delitem__(self, index: slice) -> None:  # a rejected record's rows (salvage)
        for column in self.columns:
            del column[index]

    def clear(self) -> None:
        del self[:]


COLUMNAR = frozenset({"sample_config_count", "configuration_label", "sample_trait",
                      "census_trait", "census_configuration"})


class Rows(dict):
    """Pending rows per table: lists of tuples, or Columns for the bulk tables."""

    def __missing__(self, table: str) -> Any:
        rows: Any = Columns(len(TABLES[table])) if table in COLUMNAR else []
        self[table] = rows
        return rows


def new_rows() -> Rows:
    return Rows()


class Ids:
    """The next free key of each table with a surrogate key.

    Keys are given here, not by SQLite, so that child rows can be built before
    anything is written and every insert is a plain ``executemany``.
    """

    def __init__(self, run: int = 1, sample: int = 1, timing: int = 1, document: int = 1,
                 label: int = 1) -> None:
        self.run = run
        self.sample = sample
        self.timing = timing
        self.document = document
        self.label = label

    @classmethod
    def following(cls, next_key: Callable[[str, str], int]) -> "Ids":
        """The keys after those stored: ``next_key(table, column)`` gives each."""
        return cls(**{name: next_key(table, column) for name, (table, column) in KEYS.items()})


# Ids attribute -> (table, key column)
KEYS = {"run": ("run", "run_id"), "sample": ("sample", "sample_id"),
        "timing": ("simulation_timing", "timing_id"), "document": ("document", "document_id"),
        "label": ("configuration_label", "label_id")}
