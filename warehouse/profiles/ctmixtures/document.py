"""The ctmixtures profile: a run document to rows of the warehouse tables.

The run record (``mixture_model_stats``, see ``shared/ctmixtures/FORMAT.md``)
is unpacked into ``run``, ``parameter``, ``census``/``census_locus`` and
``sample``/``sample_locus`` (the grains of the export files), plus detail
tables for the lists the exporter threw away. Aggregates (min/max/mean over
loci, configuration entropy, IQV and t_f) are computed here, once, with the
exporter's formulas, so the views are plain selects.
"""

from __future__ import annotations

from itertools import filterfalse, repeat, zip_longest
from typing import Any, Callable, Iterable, Mapping

from ...errors import WarehouseError
from ...formats import Record
from ...formats.extjson import relaxed_json
from .diversity import configuration_stats, min_max_mean, neiman_tf, neiman_tf_of_counts
from .tables import Ids, Rows
from .values import as_float, as_int, as_json, as_text, real, reals, reals_fast

# Parameters of a run and the type each must have in SQLite.
PARAMETERS: dict[str, Callable[[Any], Any]] = {
    "sample_time": as_int,
    "script_filename": as_text,
    "full_command_line": as_text,
    "random_seed": as_int,
    "interaction_rule_classes": as_text,
    "pop_class": as_text,
    "network_class": as_text,
    "trait_class": as_text,
    "innovation_class": as_text,
    "num_features": as_int,
    "init_traits_per_feature": as_int,
    "conformism_strength": as_float,
    "anticonformism_strength": as_float,
    "innovation_rate": as_float,
    "sample_size": as_json,
    "population_size": as_int,
    "kandler_interval": as_int,
}

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


def _aggregate(values: list) -> tuple:
    """(min, max, mean) over loci; unknown when any locus lacks the value.

    ``values`` must be in locus order: the exporter's min and max depend on
    which value comes first when one is NaN (``diversity.min_max_mean``). A
    missing value is kept unknown: the exporter had no answer for it (its
    numpy mean fails on None).
    """
    if not _NUMBERS.issuperset(map(type, values)):  # the usual case at C speed
        for value in values:
            if value is None:
                return None, None, None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"expected numbers, found {value!r}")
    return min_max_mean(values)


_NUMBERS = frozenset({int, float})


class _Mapper:
    """Maps one run document; ``field`` names the part being read, for errors."""

    def __init__(self, doc: dict[str, Any], run_id: int, ids: Ids, rows: Rows) -> None:
        self.doc = doc
        self.run_id = run_id
        self.ids = ids
        self.rows = rows
        self.field = "simulation_run_id"
        self.labels: dict[str, int] = {}  # configuration label -> its id, for this run

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
            rows["census_locus"].append((run_id, locus) + reals(fields))
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
                 real(doc.get("configuration_slatkin")))
                + reals(config) + reals(stats))

    def _traits(self, table: str, key: int, count_lists: list, freq_lists: list) -> None:
        """Rows of per-locus sorted count and frequency lists, side by side."""
        rows = self.rows[table]
        for locus, (counts, freqs) in enumerate(zip_longest(count_lists, freq_lists)):
            counts, freqs = counts or [], reals_fast(freqs or [])
            if len(counts) != len(freqs):
                counts, freqs = zip(*zip_longest(counts, freqs))  # pad the shorter with NULL
            n = len(counts)
            rows.add(repeat(key, n), repeat(locus, n), range(n), counts, freqs)

    def synchronic_samples(self) -> None:
        doc = self.doc
        present = [doc[name] for name in SYNCHRONIC_FIELDS if name in doc]
        self.field = "sample sizes"  # keys are strings of digits in the documents
        sizes = sorted({int(k) for mapping in present for k in mapping})
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
            rows["sample_config_count"].add(repeat(sample_id, len(configs)), range(len(configs)),
                                            configs, repeat(None, len(configs)))
        self.field = "config_slatkin_ssize"
        head = (sample_id, self.run_id, None, size,
                real(doc.get("config_slatkin_ssize", {}).get(key)),
                None if configs is None else len(configs), None, None, None)
        self._sample_rows(head, sample_id, per_locus)

    def ta_samples(self) -> None:
        doc = self.doc
        self.field = "TA durations"
        pairs: set[tuple[int, int]] = set()  # keys are strings of digits in the documents
        for name in TA_SAMPLE_FIELDS:
            for dur, by_size in doc.get(name, {}).items():
                pairs.update(zip(repeat(int(dur)), map(int, by_size)))
        for name in TA_LOCUS_FIELDS:
            for dur, by_locus in doc.get(name, {}).items():
                duration = repeat(int(dur))
                for by_size in by_locus.values():
                    pairs.update(zip(duration, map(int, by_size)))
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
            per_locus.append({int(locus): by_size.get(key) for locus, by_size in by_locus.items()})
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
                               reals_fast(freqs))
        self.field = "unlabeled_config_counts_ta_ssize"
        configs = doc.get("unlabeled_config_counts_ta_ssize", {}).get(dur, {}).get(key)
        config_tf = None
        if configs is not None:
            counts = list(configs.values())
            rows["sample_config_count"].add(repeat(sample_id, len(counts)), range(len(counts)),
                                            counts, self.label_ids(configs))
            config_tf = neiman_tf_of_counts(counts)
        values = {}
        for name in ("config_slatkin_ta_ssize", "num_configurations_ta_ssize",
                     "config_entropy_ta_ssize", "config_iqv_ta_ssize"):
            self.field = name
            values[name] = doc.get(name, {}).get(dur, {}).get(key)
        head = (sample_id, self.run_id, duration, size,
                real(values["config_slatkin_ta_ssize"]), values["num_configurations_ta_ssize"],
                real(values["config_entropy_ta_ssize"]), real(values["config_iqv_ta_ssize"]),
                real(config_tf))
        self._sample_rows(head, sample_id, columns, loci)

    def label_ids(self, labels: Iterable[str]) -> list[int]:
        """The ids of configuration labels: a label the run has not named before
        gets the next id, and its row in ``configuration_label``."""
        known = self.labels
        new = list(filterfalse(known.__contains__, labels))
        if new:
            first = self.ids.label
            self.ids.label += len(new)
            ids = range(first, first + len(new))
            known.update(zip(new, ids))
            self.rows["configuration_label"].add(ids, repeat(self.run_id, len(new)), new)
        return list(map(known.__getitem__, labels))

    def _sample_rows(self, head: tuple, sample_id: int, per_locus: list[list],
                     loci: list[int] | None = None) -> None:
        """A sample row (its head plus aggregates) and its per-locus rows."""
        self.field = "sample per-locus values"
        locus_rows = self.rows["sample_locus"]
        for position, fields in enumerate(zip_longest(*per_locus)):
            locus = position if loci is None else loci[position]
            locus_rows.append((sample_id, locus) + reals(fields))
        stats: list[Any] = []
        for values in per_locus:
            stats.extend(_aggregate(values))
        self.rows["sample"].append(head + reals(stats))


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
            as_text(label)
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
    values = tuple(real(doc.get(name)) for name in TIMING_FIELDS)
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
