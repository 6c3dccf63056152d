"""The ctmixtures profile: a run document to rows of the warehouse tables.

The run record (``mixture_model_stats``, see ``shared/ctmixtures/FORMAT.md``)
is unpacked into ``run``, ``parameter``, ``census``/``census_locus`` and
``sample``/``sample_locus`` (the grains of the export files), plus detail
tables for the lists the exporter threw away. Aggregates (min/max/mean over
loci, configuration entropy, IQV and t_f) are computed here, once, with the
exporter's formulas, so the views are plain selects.
"""

from __future__ import annotations

from itertools import repeat, zip_longest
from sys import intern
from typing import Any, Callable, Iterable, Mapping

import orjson
from bson import json_util
from bson.json_util import RELAXED_JSON_OPTIONS

from ..errors import WarehouseError
from ..formats import Record
from .diversity import configuration_stats, min_max_mean, neiman_tf, neiman_tf_of_counts

NAN_TEXT = "NaN"  # SQLite stores a REAL NaN as NULL; missing and NaN must differ

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
    "sample_configuration": ("sample_id", "position", "count", "label"),
    "simulation_timing": ("timing_id", "simulation_run_id", "source_id", "experiment_name",
                          "script_filename", "rule_class", "pop_class", "elapsed_time",
                          "run_length", "popsize", "document"),
    "document": ("document_id", "source_id", "database_name", "collection",
                 "source_line", "source_offset", "body"),
    "conflict": ("conflict_id", "simulation_run_id", "source_id", "node", "source_line",
                 "source_offset", "content_sha256", "document"),
    "skipped": ("skipped_id", "source_id", "source_line", "source_offset", "reason", "raw"),
}

# Parameters of a run and the type each must have in SQLite.
PARAMETERS: dict[str, Callable[[Any], Any]] = {}


def _as_int(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        value = int(value)  # 2.4-era exports may print an int as 100.0
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, found {value!r}")
    if not -(1 << 63) <= value < (1 << 63):
        return str(value)  # beyond SQLite's INTEGER: keep every digit as text
    return int(value)


def _as_float(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, found {value!r}")
    value = float(value)  # whole doubles arrive as ints from tools 3.x
    return NAN_TEXT if value != value else value


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, found {value!r}")
    return value


def _as_json(value: Any) -> str:
    return orjson.dumps(value).decode()


PARAMETERS.update({
    "sample_time": _as_int,
    "script_filename": _as_text,
    "full_command_line": _as_text,
    "random_seed": _as_int,
    "interaction_rule_classes": _as_text,
    "pop_class": _as_text,
    "network_class": _as_text,
    "trait_class": _as_text,
    "innovation_class": _as_text,
    "num_features": _as_int,
    "init_traits_per_feature": _as_int,
    "conformism_strength": _as_float,
    "anticonformism_strength": _as_float,
    "innovation_rate": _as_float,
    "sample_size": _as_json,
    "population_size": _as_int,
    "kandler_interval": _as_int,
})

CENSUS_FIELDS = (
    "slatkin_exact", "shannon_entropy", "iqv_diversity", "pop_richness",
    "kandler_remaining_count", "num_trait_configurations", "trait_configuration_counts",
    "configuration_slatkin", "unlabeled_frequencies", "unlabeled_counts",
)
SYNCHRONIC_FIELDS = (
    "richness_ssize", "slatkin_ssize", "entropy_ssize", "iqv_ssize", "unlabeled_freq_ssize",
    "unlabeled_counts_ssize", "unlabeled_config_counts_ssize", "config_slatkin_ssize",
)
# {dur: {locus: {ssize: value}}}
TA_LOCUS_FIELDS = ("richness_ta_ssize", "slatkin_ta_ssize", "entropy_ta_ssize",
                   "iqv_ta_ssize", "unlabeled_freq_ta_ssize")
# {dur: {ssize: value}}
TA_SAMPLE_FIELDS = ("unlabeled_config_counts_ta_ssize", "num_configurations_ta_ssize",
                    "config_slatkin_ta_ssize", "config_entropy_ta_ssize",
                    "config_iqv_ta_ssize", "kandler_remaining_tassize")
IDENTITY_FIELDS = ("_id", "simulation_run_id", "model_class_label")
KNOWN_FIELDS = frozenset(IDENTITY_FIELDS + tuple(PARAMETERS) + CENSUS_FIELDS
                         + SYNCHRONIC_FIELDS + TA_LOCUS_FIELDS + TA_SAMPLE_FIELDS)

# Fields that make a document of unknown collection a run record.
RUN_MARKERS = frozenset({"simulation_run_id", "model_class_label", "slatkin_exact"})

TIMING_FIELDS = ("experiment_name", "script_filename", "rule_class", "pop_class",
                 "elapsed_time", "run_length", "popsize")

class Columns:
    """Rows of one table kept as columns: for the bulk detail tables (labeled
    configurations and trait lists, ~9/10 of all rows), so that a batch
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


COLUMNAR = frozenset({"sample_configuration", "sample_trait", "census_trait",
                      "census_configuration"})


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

    def __init__(self, run: int = 1, sample: int = 1, timing: int = 1, document: int = 1) -> None:
        self.run = run
        self.sample = sample
        self.timing = timing
        self.document = document


def document_kind(doc: Mapping[str, Any], collection: str | None) -> str:
    """Which collection a document belongs to, by its shape (or its namespace)."""
    if collection in ("mixture_model_stats", "simulation_timing"):
        return collection
    if collection is None:
        if "elapsed_time" in doc and "simulation_run_id" in doc and "slatkin_exact" not in doc:
            return "simulation_timing"
        if not RUN_MARKERS.isdisjoint(doc):
            return "mixture_model_stats"  # a run record, even one missing its key
    return "other"


def _real(value: Any) -> Any:
    return NAN_TEXT if value != value else value


def _reals(values: Iterable[Any]) -> tuple:
    return tuple(NAN_TEXT if v != v else v for v in values)


def _reals_fast(values: list) -> list:
    """``values`` itself when it holds no NaN (checked at C speed by one sum)."""
    total = sum(values)
    return values if total == total else list(_reals(values))


def _aggregate(values: list) -> tuple:
    """(min, max, mean) over loci; unknown when any locus lacks the value."""
    for value in values:
        if value is None:
            return None, None, None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"expected numbers, found {value!r}")
    return min_max_mean(values)


def _key(text: str) -> int:
    """Sample sizes, durations and loci are strings of digits in the documents."""
    return int(text)


def relaxed_json(value: Any) -> str:
    return json_util.dumps(value, json_options=RELAXED_JSON_OPTIONS)


class _Mapper:
    """Maps one run document; ``field`` names the part being read, for errors."""

    def __init__(self, doc: dict[str, Any], run_id: int, ids: Ids, rows: Rows) -> None:
        self.doc = doc
        self.run_id = run_id
        self.ids = ids
        self.rows = rows
        self.field = "simulation_run_id"

    def parameters(self) -> None:
        append = self.rows["parameter"].append
        run_id = self.run_id
        for name, convert in PARAMETERS.items():
            if name in self.doc:
                self.field = name
                value = self.doc[name]
                append((run_id, name, None if value is None else convert(value)))

    def extras(self) -> None:
        append = self.rows["run_extra"].append
        for name, value in self.doc.items():
            if name not in KNOWN_FIELDS:
                self.field = name
                append((self.run_id, name, relaxed_json(value)))

    def census(self) -> None:
        doc, run_id, rows = self.doc, self.run_id, self.rows
        self.field = "unlabeled_frequencies"
        freq_lists = doc.get("unlabeled_frequencies") or []
        tf = [neiman_tf(freqs) for freqs in freq_lists]
        per_locus = []
        for name in ("slatkin_exact", "shannon_entropy", "iqv_diversity", "pop_richness",
                     "kandler_remaining_count"):
            self.field = name
            per_locus.append(doc.get(name) or [])
        per_locus.append(tf)
        self.field = "census per-locus lists"
        for locus, fields in enumerate(zip_longest(*per_locus)):
            rows["census_locus"].append((run_id, locus) + _reals(fields))
        stats: list[Any] = []
        for name, values in zip(("slatkin_exact", "shannon_entropy", "iqv_diversity",
                                 "pop_richness", "kandler_remaining_count",
                                 "unlabeled_frequencies"), per_locus):
            self.field = name
            stats.extend(_aggregate(values))
        self.field = "trait_configuration_counts"
        config_counts = doc.get("trait_configuration_counts")
        config = configuration_stats(config_counts) if config_counts else (None, None, None)
        if config_counts:
            n = len(config_counts)
            rows["census_configuration"].add(repeat(run_id, n), range(n), config_counts)
        self.field = "unlabeled_counts"
        self._traits("census_trait", run_id, doc.get("unlabeled_counts") or [], freq_lists)
        if any(name in doc for name in CENSUS_FIELDS):
            self.field = "configuration_slatkin"
            rows["census"].append(
                (run_id, doc.get("num_trait_configurations"),
                 _real(doc.get("configuration_slatkin")))
                + _reals(config) + _reals(stats))

    def _traits(self, table: str, key: int, count_lists: list, freq_lists: list) -> None:
        """Rows of per-locus sorted count and frequency lists, side by side."""
        rows = self.rows[table]
        for locus, (counts, freqs) in enumerate(zip_longest(count_lists, freq_lists)):
            counts, freqs = counts or [], _reals_fast(freqs or [])
            if len(counts) != len(freqs):
                counts, freqs = zip(*zip_longest(counts, freqs))  # pad the shorter with NULL
            n = len(counts)
            rows.add(repeat(key, n), repeat(locus, n), range(n), counts, freqs)

    def synchronic_samples(self) -> None:
        doc = self.doc
        present = [doc[name] for name in SYNCHRONIC_FIELDS if name in doc]
        self.field = "sample sizes"
        sizes = sorted({_key(k) for mapping in present for k in mapping})
        for size in sizes:
            self.synchronic_sample(size, str(size))

    def synchronic_sample(self, size: int, key: str) -> None:
        doc, rows = self.doc, self.rows
        sample_id = self.ids.sample
        self.ids.sample += 1
        per_locus = []
        for name in ("richness_ssize", "slatkin_ssize", "entropy_ssize", "iqv_ssize"):
            self.field = name
            per_locus.append(doc.get(name, {}).get(key) or [])
        per_locus.append([])  # no kandler counts for synchronic samples
        self.field = "unlabeled_freq_ssize"
        freq_lists = doc.get("unlabeled_freq_ssize", {}).get(key) or []
        per_locus.append([neiman_tf(freqs) for freqs in freq_lists])
        self.field = "unlabeled_counts_ssize"
        count_lists = doc.get("unlabeled_counts_ssize", {}).get(key) or []
        self._traits("sample_trait", sample_id, count_lists, freq_lists)
        self.field = "unlabeled_config_counts_ssize"
        configs = doc.get("unlabeled_config_counts_ssize", {}).get(key)
        if configs is not None:
            rows["sample_configuration"].add(repeat(sample_id, len(configs)), range(len(configs)),
                                             configs, repeat(None, len(configs)))
        self.field = "config_slatkin_ssize"
        head = (sample_id, self.run_id, None, size,
                _real(doc.get("config_slatkin_ssize", {}).get(key)),
                None if configs is None else len(configs), None, None, None)
        self._sample_rows(head, sample_id, per_locus)

    def ta_samples(self) -> None:
        doc = self.doc
        self.field = "TA durations"
        pairs: set[tuple[int, int]] = set()
        for name in TA_SAMPLE_FIELDS:
            for dur, by_size in doc.get(name, {}).items():
                pairs.update((_key(dur), _key(size)) for size in by_size)
        for name in TA_LOCUS_FIELDS:
            for dur, by_locus in doc.get(name, {}).items():
                for by_size in by_locus.values():
                    pairs.update((_key(dur), _key(size)) for size in by_size)
        for dur, size in sorted(pairs):
            self.ta_sample(dur, size)

    def ta_sample(self, duration: int, size: int) -> None:
        doc, rows = self.doc, self.rows
        dur, key = str(duration), str(size)
        sample_id = self.ids.sample
        self.ids.sample += 1
        per_locus = []
        for name in ("richness_ta_ssize", "slatkin_ta_ssize", "entropy_ta_ssize",
                     "iqv_ta_ssize", "unlabeled_freq_ta_ssize"):
            self.field = name
            by_locus = doc.get(name, {}).get(dur, {})
            per_locus.append({_key(locus): by_size.get(key) for locus, by_size in by_locus.items()})
        self.field = "kandler_remaining_tassize"
        kandler = doc.get("kandler_remaining_tassize", {}).get(dur, {}).get(key) or []
        freq_by_locus = per_locus.pop()
        loci = sorted(set().union(*per_locus, freq_by_locus, range(len(kandler))))
        columns = [[values.get(locus) for locus in loci] for values in per_locus]
        columns.append([kandler[locus] if locus < len(kandler) else None for locus in loci])
        self.field = "unlabeled_freq_ta_ssize"
        freq_lists = [freq_by_locus.get(locus) for locus in loci]
        columns.append([None if freqs is None else neiman_tf(freqs) for freqs in freq_lists])
        trait_rows = rows["sample_trait"]
        for locus, freqs in zip(loci, freq_lists):
            if freqs:
                n = len(freqs)
                trait_rows.add(repeat(sample_id, n), repeat(locus, n), range(n), repeat(None, n),
                               _reals_fast(freqs))
        self.field = "unlabeled_config_counts_ta_ssize"
        configs = doc.get("unlabeled_config_counts_ta_ssize", {}).get(dur, {}).get(key)
        config_tf = None
        if configs is not None:
            counts = list(configs.values())
            # Labels repeat from run to run: one string object each, so a batch
            # pickles every label once (JSON parsers share them, BSON's does not).
            rows["sample_configuration"].add(repeat(sample_id, len(counts)), range(len(counts)),
                                             counts, map(intern, configs.keys()))
            config_tf = neiman_tf_of_counts(counts)
        values = {}
        for name in ("config_slatkin_ta_ssize", "num_configurations_ta_ssize",
                     "config_entropy_ta_ssize", "config_iqv_ta_ssize"):
            self.field = name
            values[name] = doc.get(name, {}).get(dur, {}).get(key)
        head = (sample_id, self.run_id, duration, size,
                _real(values["config_slatkin_ta_ssize"]), values["num_configurations_ta_ssize"],
                _real(values["config_entropy_ta_ssize"]), _real(values["config_iqv_ta_ssize"]),
                _real(config_tf))
        self._sample_rows(head, sample_id, columns, loci)

    def _sample_rows(self, head: tuple, sample_id: int, per_locus: list[list],
                     loci: list[int] | None = None) -> None:
        """A sample row (its head plus aggregates) and its per-locus rows."""
        self.field = "sample per-locus values"
        locus_rows = self.rows["sample_locus"]
        for position, fields in enumerate(zip_longest(*per_locus)):
            locus = position if loci is None else loci[position]
            locus_rows.append((sample_id, locus) + _reals(fields))
        stats: list[Any] = []
        for values in per_locus:
            stats.extend(_aggregate(values))
        self.rows["sample"].append(head + _reals(stats))


def map_run(record: Record, source_id: int, node: str | None, ids: Ids, rows: Rows,
            content_sha256: str | None = None) -> None:
    """Append the rows of one ``mixture_model_stats`` document to ``rows``."""
    doc = record.document
    run_id = ids.run
    mapper = _Mapper(doc, run_id, ids, rows)
    try:
        run_key = doc.get("simulation_run_id")
        if not isinstance(run_key, str) or not run_key:
            raise WarehouseError("document has no simulation_run_id (a non-empty string)")
        label = doc.get("model_class_label")
        mapper.field = "model_class_label"
        if label is not None:
            _as_text(label)
        document_id = doc.get("_id")
        rows["run"].append((run_id, run_key, label, source_id, node, record.line, record.offset,
                            None if document_id is None else str(document_id), content_sha256))
        mapper.parameters()
        mapper.census()
        mapper.synchronic_samples()
        mapper.ta_samples()
        mapper.extras()
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as error:
        raise WarehouseError(f"field {mapper.field}: {_describe(error)}") from None
    ids.run += 1


def map_timing(record: Record, source_id: int, ids: Ids, rows: Rows) -> None:
    doc = record.document
    run_key = doc.get("simulation_run_id")
    if not isinstance(run_key, str):
        raise WarehouseError("timing document has no simulation_run_id")
    values = tuple(_real(doc.get(name)) for name in TIMING_FIELDS)
    rows["simulation_timing"].append(
        (ids.timing, run_key, source_id) + values + (relaxed_json(doc),))
    ids.timing += 1


def map_other(record: Record, source_id: int, ids: Ids, rows: Rows) -> None:
    rows["document"].append((ids.document, source_id, record.database, record.collection,
                             record.line, record.offset, relaxed_json(record.document)))
    ids.document += 1


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing key {error}"
    if isinstance(error, AttributeError):
        return "unexpected structure (expected an object)"
    return str(error)
