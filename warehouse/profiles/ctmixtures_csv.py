"""The ctmixtures profile for the exporter's CSV files (docs/csv-eras.md).

Each export row names its run. The first file that names a run creates it
(a ``run`` row: key, label, source); each file then adds what it holds:

=====================  ===========================================================
simulation             ``parameter`` (``kandler_interval`` as
                       ``kandler_interval_generations``: the file has generations)
population             ``census`` (min/max/mean only: no per-locus rows)
sampled, tasampled     ``sample`` (``ta_duration`` NULL for sampled files)
pop-*-locus            ``census_locus``, locus = order of the run's rows in the file
every file             ``model_class_label`` and ``innovation_rate``
=====================  ===========================================================

A value already stored (from a run document or an earlier file) is never
overwritten: an equal one (floats within ``FLOAT_TOLERANCE``, relative) is
left alone, a different one is recorded in ``disagreement``, a missing one is
filled in. A run document read after CSV rows of its run replaces them
(:func:`adopt_document`): documents are the record the exports were computed
from. Values an exporter era is known to have got wrong are withheld or moved,
and recorded in ``csv_correction``.

Speed: rows of a run that has nothing stored in the file's table go to SQLite
as the text the file holds, bound in the file's column order, and SQLite's
column affinity makes them REAL or INTEGER in C (within one unit in the last
place of Python's correctly rounded ``float``). One query per chunk then finds
the fields that were not plain numbers (``nan``, ``inf``, empty, garbage), and
those are converted here, exactly as every other row is: ``float``, ``int``
(never through a float), 'NaN' text for NaN, NULL for an empty field.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from itertools import compress, islice
from operator import itemgetter, ne
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import WarehouseError
from ..formats import Record
from .fingerprint import fingerprint
from ..formats.exportcsv import CsvChunk, ExportFile, paused_gc, sampled_2014_row
from ..store import INSERTS
from .ctmixtures import NAN_TEXT, TABLES, map_run

if TYPE_CHECKING:
    from ..loading import LoadContext

FLOAT_TOLERANCE = 1e-12
INT64 = (-(1 << 63), 1 << 63)

# Table columns that hold integers (the rest of the statistics are REAL).
INTEGER_COLUMNS = {
    "census": frozenset({"num_trait_configurations", "richness_locus_min", "richness_locus_max",
                         "kandler_locus_min", "kandler_locus_max"}),
    "sample": frozenset({"ta_duration", "sample_size", "num_configurations",
                         "richness_locus_min", "richness_locus_max",
                         "kandler_locus_min", "kandler_locus_max"}),
    "census_locus": frozenset({"richness", "kandler_remaining"}),
}
KIND_TABLE = {
    "population": "census", "sampled": "sample", "tasampled": "sample",
    "pop-slatkin-locus": "census_locus", "pop-richness-locus": "census_locus",
    "simulation": "parameter",
}
LOCUS_COLUMNS = {"slatkin_locus_value": "slatkin_exact", "richness_locus_value": "richness"}
# file column -> parameter: every column of the simulation file but the first two
SIMULATION_PARAMETERS = {"kandler_interval": "kandler_interval_generations"}
INTEGER_PARAMETERS = frozenset({"random_seed", "num_features", "init_traits_per_feature",
                                "population_size", "kandler_interval_generations"})
REAL_PARAMETERS = frozenset({"innovation_rate", "conformism_strength", "anticonformism_strength"})

# Era rules (docs/csv-eras.md)
POPULATION_2014_RULE = "population-2014-10: entropy columns computed from slatkin_exact"
SAMPLED_2014_RULE = "sampled-2014-10: entropy_locus_min holds the mean, max and mean empty"

_first = itemgetter(0)

# --- values ------------------------------------------------------------------------------


def to_real(text: str) -> Any:
    """A float field: NaN as the TEXT 'NaN', an empty field as None."""
    if text == "":
        return None
    value = float(text)
    return NAN_TEXT if value != value else value


def to_int(text: str) -> Any:
    """An integer field, exactly (never through a float); '3.0' is 3."""
    if text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        number = Decimal(text.strip())  # InvalidOperation, an ArithmeticError, on garbage
        if number.is_nan():
            return NAN_TEXT
        if number.is_infinite():
            return float(number)
        if number != number.to_integral_value():
            raise ValueError(f"expected an integer, found {text!r}") from None
        value = int(number)
    return value if INT64[0] <= value < INT64[1] else str(value)  # beyond INTEGER: every digit


def to_count(text: str) -> Any:
    """An integer of a census or sample column: exactly, within 64 bits. Beyond them
    the column's INTEGER affinity would round the digits to a float: an error."""
    value = to_int(text)
    if isinstance(value, str) and value != NAN_TEXT:
        raise ValueError(f"integer beyond 64 bits, found {text!r}")
    return value


def to_text(text: str) -> str | None:
    return text if text != "" else None


def same(stored: Any, value: Any) -> bool:
    """Equal values: text and integers exactly, floats within FLOAT_TOLERANCE (relative)."""
    if stored == value:
        return True
    if isinstance(stored, (str, int)) and isinstance(value, (str, int)):
        return False  # text, or two integers (seeds): no tolerance
    if isinstance(stored, str) or isinstance(value, str):
        return False
    if not (math.isfinite(stored) and math.isfinite(value)):
        return False  # an infinity equals only itself
    return abs(stored - value) <= FLOAT_TOLERANCE * max(abs(stored), abs(value))


def converter(table: str, column: str) -> Callable[[str], Any]:
    if table == "parameter":
        if column in INTEGER_PARAMETERS:
            return to_int
        return to_real if column in REAL_PARAMETERS else to_text
    return to_count if column in INTEGER_COLUMNS[table] else to_real


def table_column(kind: str, name: str) -> str | None:
    """The column of the kind's table that a file column fills (None: run-level or key)."""
    if name in ("simulation_run_id", "model_class_label", "innovation_rate"):
        return None
    if kind in ("sampled", "tasampled"):
        for suffix in ("_ta_ssize", "_tassize", "_ssize"):
            name = name.removesuffix(suffix)
        return name
    if kind.endswith("-locus"):
        return LOCUS_COLUMNS[name]
    return name


# --- the handler -------------------------------------------------------------------------


def load_chunk(record: Record, ctx: LoadContext) -> None:
    chunk: CsvChunk = record.document
    ctx.outcome.documents += len(chunk.rows) - 1  # the build counted the chunk as one record
    loader = chunk.file.state.get("loader")
    if loader is None or loader.ctx is not ctx:
        loader = chunk.file.state["loader"] = LOADERS[chunk.file.kind](chunk.file, ctx)
    with paused_gc():
        loader.load(chunk)


class _Group:
    """Consecutive rows of one run in a chunk."""

    __slots__ = ("key", "start", "end", "run_id", "created")

    def __init__(self, key: str, start: int, end: int) -> None:
        self.key, self.start, self.end = key, start, end
        self.run_id = 0
        self.created = False  # the run was created from this group


def _groups(keys: list[str]) -> list[_Group]:
    starts = [0, *compress(range(1, len(keys)), map(ne, islice(keys, 1, None), keys))]
    ends = starts[1:] + [len(keys)]
    return [_Group(keys[s], s, e) for s, e in zip(starts, ends)]


class _Loader:
    """Rows of one export file: runs, their label and innovation rate, bookkeeping."""

    run_values: tuple[str, ...] = ("model_class_label", "innovation_rate")

    def __init__(self, export: ExportFile, ctx: LoadContext) -> None:
        self.export = export
        self.ctx = ctx
        self.db = ctx.warehouse.db
        self.path = export.path
        self.index = {name: i for i, name in reversed(list(enumerate(export.header)))}
        self.run_ids: dict[str, int] = {}  # every run this file names
        # a warehouse without runs when the file began: every run the file names is new
        self.warehouse_had_runs = bool(
            self.db.execute("SELECT EXISTS (SELECT 1 FROM run)").fetchone()[0])
        self.corrections = 0
        self.pending_corrections: list[tuple] = []

    # -- one chunk ---------------------------------------------------------------------
    def load(self, chunk: CsvChunk) -> None:
        groups = _groups(list(map(_first, chunk.rows)))
        self.resolve_runs(chunk, groups)
        self.apply_era_rules(chunk, groups)
        self.check_run_values(chunk, groups)
        self.load_rows(chunk, groups)
        self.flush_corrections()

    def apply_era_rules(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        """Withhold or move the values an exporter era got wrong (docs/csv-eras.md)."""

    def load_rows(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        raise NotImplementedError

    # -- runs --------------------------------------------------------------------------
    def resolve_runs(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        """Give every group its run_id, creating the runs no source named before."""
        first_seen: dict[str, _Group] = {}
        for group in groups:
            if group.key in self.run_ids:
                group.run_id = self.run_ids[group.key]
            elif group.key not in first_seen:
                if not group.key:
                    raise self.error("empty simulation_run_id", chunk, group.start)
                first_seen[group.key] = group
        if not first_seen:
            return
        stored = self.stored_run_ids(list(first_seen)) if self.warehouse_had_runs else {}
        if stored:
            self.runs_met(list(stored.values()))
        new_runs, origins = [], []
        for key, group in first_seen.items():
            line = chunk.line(group.start)
            run_id = stored.get(key)
            if run_id is None:
                run_id = self.ctx.ids.run
                self.ctx.ids.run += 1
                group.created = True
                new_runs.append((run_id, key, to_text(chunk.rows[group.start][1]),
                                 self.ctx.source_id, self.ctx.node, line, None, None, None))
            else:  # the run row names the file that created a run; csv_origin the others
                origins.append((run_id, self.ctx.source_id, line))
            self.run_ids[key] = run_id
        for group in groups:
            group.run_id = group.run_id or self.run_ids[group.key]
        self.insert("run", new_runs)
        self.db.executemany(ORIGIN_INSERT, origins)
        self.ctx.outcome.runs += len(new_runs)
        if new_runs:
            self.created_runs(chunk, [g for g in groups if g.created])

    def stored_run_ids(self, keys: list[str]) -> dict[str, int]:
        found = self.db.execute(
            "SELECT simulation_run_id, run_id FROM run "
            "WHERE simulation_run_id IN (SELECT value FROM json_each(?))", (json.dumps(keys),))
        return dict(found.fetchall())

    def runs_met(self, run_ids: list[int]) -> None:
        """Runs stored before this file, met for the first time in it."""

    def created_runs(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        """Store the innovation rate of the runs this chunk created."""
        column = self.index["innovation_rate"]
        rows = chunk.rows
        try:
            values = [to_real(rows[g.start][column]) for g in groups]
        except ValueError:  # find the row, for the message
            values = [self.convert("parameter", "innovation_rate", chunk, g.start, column)
                      for g in groups]
        self.insert("parameter", [(g.run_id, "innovation_rate", value)
                                  for g, value in zip(groups, values) if value is not None])

    def check_run_values(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        """Label and innovation rate of every row against what is stored for its run.

        Each distinct value of a group is looked at once, at its first row.
        """
        names = [name for name in self.run_values if name in self.index]
        columns = [self.index[name] for name in names]
        rows = chunk.rows
        known = [g for g in groups if not g.created]
        stored = self.stored_run_values([g.run_id for g in known], names) if known else {}
        keys = {g.key for g in groups}
        if len(set(map(itemgetter(0, *columns), rows))) == len(keys):
            # every run's rows agree in this chunk: one look per run not created here
            for group in known:
                values = stored.setdefault(group.run_id, {})
                self.reconcile_run_values(group.run_id, values, chunk, group.start, names,
                                          columns)
            return
        pick = itemgetter(*columns, *columns[:1])  # always a tuple, even for one column
        for group in groups:
            start, end = group.start, group.end
            texts = list(map(pick, rows[start:end]))
            firsts = dict(zip(reversed(texts), range(end - 1, start - 1, -1)))
            if group.created:
                if len(firsts) == 1:
                    continue  # created from these very values
                values = self.row_run_values(chunk, start, names, columns)
            else:
                values = stored.setdefault(group.run_id, {})
            for index in sorted(firsts.values()):
                self.reconcile_run_values(group.run_id, values, chunk, index, names, columns)

    def reconcile_run_values(self, run_id: int, stored: dict[str, Any], chunk: CsvChunk,
                             index: int, names: list[str], columns: list[int]) -> None:
        for name, value in self.row_run_values(chunk, index, names, columns).items():
            self.reconcile_run_value(run_id, name, stored, value, chunk, index)

    def row_run_values(self, chunk: CsvChunk, index: int, names: list[str],
                       columns: list[int]) -> dict[str, Any]:
        return {name: (to_text(chunk.rows[index][column]) if name == "model_class_label"
                       else self.convert("parameter", name, chunk, index, column))
                for name, column in zip(names, columns)}

    def stored_run_values(self, run_ids: list[int], names: list[str]) -> dict[int, dict[str, Any]]:
        ids = json.dumps(sorted(set(run_ids)))
        stored: dict[int, dict[str, Any]] = {}
        if "model_class_label" in names:
            for run_id, label in self.db.execute(
                    "SELECT run_id, model_class_label FROM run "
                    "WHERE run_id IN (SELECT value FROM json_each(?))", (ids,)):
                stored.setdefault(run_id, {})["model_class_label"] = label
        parameters = [name for name in names if name != "model_class_label"]
        if parameters:
            for run_id, name, value in self.db.execute(
                    "SELECT run_id, name, value FROM parameter "
                    "WHERE run_id IN (SELECT value FROM json_each(?)) "
                    "AND name IN (SELECT value FROM json_each(?))", (ids, json.dumps(parameters))):
                stored.setdefault(run_id, {})[name] = value
        return stored

    def reconcile_run_value(self, run_id: int, name: str, stored: dict[str, Any], value: Any,
                            chunk: CsvChunk, index: int) -> None:
        """Fill a missing label or parameter, or record a disagreement."""
        if value is None:
            return
        current = stored.get(name)
        if current is None:
            stored[name] = value
            if name == "model_class_label":
                self.db.execute("UPDATE run SET model_class_label = ? WHERE run_id = ?",
                                (value, run_id))
            else:
                self.db.execute("INSERT OR REPLACE INTO parameter (run_id, name, value) "
                                "VALUES (?, ?, ?)", (run_id, name, value))
                self.count_written(1, 1)
        elif not same(current, value):
            table = "run" if name == "model_class_label" else "parameter"
            self.disagree(run_id, table, name, current, value, chunk.line(index))

    # -- conversions, errors, writes ---------------------------------------------------
    def convert(self, table: str, column: str, chunk: CsvChunk, index: int, field: int) -> Any:
        """The field as the type its column holds; an era rule may have set it already."""
        text = chunk.rows[index][field]
        if not isinstance(text, str):
            return text
        try:
            return converter(table, column)(text)
        except (ValueError, ArithmeticError) as error:
            name = self.export.header[field]
            raise self.error(f"column {name}: {_describe(error, text)}", chunk, index) from None

    def error(self, message: str, chunk: CsvChunk, index: int) -> WarehouseError:
        return WarehouseError(message, self.path, chunk.line(index))

    def insert(self, table: str, rows: list[tuple]) -> None:
        if rows:
            self.db.executemany(INSERTS[table], rows)
            self.count_written(len(rows), len(rows) * len(TABLES[table]))

    def count_written(self, rows: int, values: int) -> None:
        self.ctx.outcome.rows += rows
        self.ctx.outcome.values += values

    def disagree(self, run_id: int, table: str, column: str, stored: Any, value: Any,
                 line: int | None, where: tuple = (None, None, None)) -> None:
        self.db.execute(DISAGREEMENT_INSERT,
                        (run_id, table, column, *where, stored, value, self.ctx.source_id, line))
        self.ctx.outcome.disagreements += 1

    def correct(self, chunk: CsvChunk, index: int, run_id: int, column: str,
                stored_as: str | None, rule: str, sample_size: Any = None) -> None:
        """Note that a value of the file is withheld (stored_as None) or moved."""
        text = chunk.rows[index][self.index[column]]
        self.pending_corrections.append((self.ctx.source_id, chunk.line(index), run_id,
                                         sample_size, column, text, stored_as, rule))

    def flush_corrections(self) -> None:
        if self.pending_corrections:
            self.db.executemany(CORRECTION_INSERT, self.pending_corrections)
            self.corrections += len(self.pending_corrections)
            self.pending_corrections.clear()
            self.ctx.outcome.note = (f"{self.corrections} values of exporter era "
                                     f"{self.export.era} withheld or moved (csv_correction)")


ORIGIN_INSERT = ("INSERT OR IGNORE INTO csv_origin (run_id, source_id, first_line) "
                 "VALUES (?, ?, ?)")
CORRECTION_INSERT = ("INSERT INTO csv_correction (source_id, source_line, run_id, sample_size, "
                     "file_column, file_value, stored_as, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
DISAGREEMENT_INSERT = ("INSERT INTO disagreement (run_id, table_name, column_name, ta_duration, "
                       "sample_size, locus, stored_value, file_value, source_id, source_line) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _describe(error: Exception, text: str) -> str:
    if isinstance(error, ArithmeticError) or "could not convert" in str(error) \
            or "invalid literal" in str(error):
        return f"not a number: {text!r}"
    return str(error)


# --- population, sampled and tasampled files ---------------------------------------------


class _StatsLoader(_Loader):
    """One ``census`` or ``sample`` row per file row."""

    def __init__(self, export: ExportFile, ctx: LoadContext) -> None:
        super().__init__(export, ctx)
        self.table = KIND_TABLE[export.kind]
        self.targets = self.mapped_columns()  # (file column index, table column)
        self.grain = [self.index[n] for n in ("ta_duration", "sample_size") if n in self.index]
        self.ta = "ta_duration" in self.index
        self.has_rows: set[int] = set()  # runs with rows of this table stored (or written here)
        self.open_run: tuple[str, set] | None = None  # last run of the chunk before, its grains
        self.insert_sql, self.check_sql = self.statements()

    def mapped_columns(self) -> list[tuple[int, str]]:
        targets = []
        for index, name in enumerate(self.export.header):
            column = table_column(self.export.kind, name)
            if (self.export.kind, self.export.era) == ("population", "2014-10"):
                column = POPULATION_2014_COLUMNS.get(name, column)
            if column is not None:
                targets.append((index, column))
        return targets

    def statements(self) -> tuple[str, str]:
        """The file-order INSERT, and the query that finds fields SQLite could not convert.

        A row's parameters are the file's fields, with the run's key replaced by
        the key of the new row (census: run_id; sample: sample_id, then run_id
        in place of the label).
        """
        columns = [column for _, column in self.targets]
        params = [f"?{index + 1}" for index, _ in self.targets]
        if self.table == "census":
            head, keys, where = ["run_id"], ["?1"], "run_id IN (SELECT value FROM json_each(?))"
        else:
            head, keys, where = ["sample_id", "run_id"], ["?1", "?2"], "sample_id BETWEEN ? AND ?"
        insert = (f"INSERT INTO {self.table} ({', '.join(head + columns)}) "
                  f"VALUES ({', '.join(keys + params)})")
        integers = [c for c in columns if c in INTEGER_COLUMNS[self.table]]
        text = f"typeof(max({', '.join(f'coalesce({c}, 0)' for c in columns + ['0'])})) = 'text'"
        real = (f" OR typeof({' + '.join(f'coalesce({c}, 0)' for c in integers)}) = 'real'"
                if integers else "")
        check = f"SELECT {head[0]} FROM {self.table} WHERE {where} AND ({text}{real})"
        return insert, check

    def runs_met(self, run_ids: list[int]) -> None:
        kind = "" if self.table == "census" else \
            f" AND ta_duration IS {'NOT ' if self.ta else ''}NULL"
        found = self.db.execute(
            f"SELECT DISTINCT run_id FROM {self.table} "
            f"WHERE run_id IN (SELECT value FROM json_each(?)){kind}", (json.dumps(run_ids),))
        self.has_rows.update(run_id for (run_id,) in found)

    # -- era rules ---------------------------------------------------------------------
    def apply_era_rules(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        if (self.export.kind, self.export.era) == ("population", "2014-10"):
            self.population_2014(chunk, groups)
        elif self.export.kind == "sampled":
            self.sampled_2014(chunk, groups)

    def population_2014(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        """Entropy max/min/mean were computed from slatkin_exact: the max and min are
        Slatkin values again (withheld); the mean is the Slatkin mean the file lacks,
        moved there where the row confirms the bug (entropy max/min = Slatkin max/min)."""
        i = self.index
        for group in groups:
            for index in range(group.start, group.end):
                row = chunk.rows[index]
                confirmed = (row[i["entropy_locus_max"]] == row[i["slatkin_locus_max"]]
                             and row[i["entropy_locus_min"]] == row[i["slatkin_locus_min"]])
                self.correct(chunk, index, group.run_id, "entropy_locus_max", None,
                             POPULATION_2014_RULE)
                self.correct(chunk, index, group.run_id, "entropy_locus_min", None,
                             POPULATION_2014_RULE)
                self.correct(chunk, index, group.run_id, "entropy_locus_mean",
                             "census.slatkin_locus_mean" if confirmed else None,
                             POPULATION_2014_RULE)
                if not confirmed:
                    row[i["entropy_locus_mean"]] = None

    def sampled_2014(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        """Rows with entropy max and mean empty but a min: the min is the mean."""
        low, high, mean = (self.index[f"entropy_locus_{s}"] for s in ("min", "max", "mean"))
        rows = chunk.rows
        if "" not in map(itemgetter(high), rows):
            return
        for group in groups:
            for index in range(group.start, group.end):
                row = rows[index]
                if sampled_2014_row(self.export.header, row):
                    size = self.convert("sample", "sample_size", chunk, index,
                                        self.index["sample_size"])
                    self.correct(chunk, index, group.run_id, "entropy_locus_min",
                                 "sample.entropy_locus_mean", SAMPLED_2014_RULE, size)
                    row[mean], row[low], row[high] = row[low], None, None

    # -- rows --------------------------------------------------------------------------
    def load_rows(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        unique = self.unique_grains(chunk, groups)
        direct: list[_Group] = []
        merged: list[_Group] = []
        for group in groups:
            (direct if self.takes_directly(chunk, group, unique) else merged).append(group)
            self.has_rows.add(group.run_id)
        last = groups[-1]
        self.open_run = ((last.key, self.grains(chunk, last) | self.continued(last))
                         if direct and direct[-1] is last else None)
        if direct:
            self.insert_directly(chunk, direct, len(direct) == len(groups))
        for group in merged:
            for index in range(group.start, group.end):
                self.merge_row(chunk, index, group.run_id)

    def unique_grains(self, chunk: CsvChunk, groups: list[_Group]) -> bool:
        """No run has two rows of the same grain in this chunk (the usual case)."""
        if not self.grain:
            return len(groups) == len(chunk.rows) == len({g.key for g in groups})
        return len(set(map(itemgetter(0, *self.grain), chunk.rows))) == len(chunk.rows)

    def grains(self, chunk: CsvChunk, group: _Group) -> set:
        if not self.grain:
            return {None}
        return set(map(itemgetter(*self.grain), chunk.rows[group.start:group.end]))

    def continued(self, group: _Group) -> set:
        """The grains the previous chunk wrote for this group's run, if it goes on here."""
        if group.start == 0 and self.open_run is not None and self.open_run[0] == group.key:
            return self.open_run[1]
        return set()

    def takes_directly(self, chunk: CsvChunk, group: _Group, unique: bool) -> bool:
        """Rows that can go in without comparing: nothing of their run is stored yet."""
        if group.run_id in self.has_rows:
            before = self.continued(group)
            if not before or not self.grain:
                return False
            grains = self.grains(chunk, group)
            return len(grains) == group.end - group.start and not (grains & before)
        if unique:
            return True
        return len(self.grains(chunk, group)) == group.end - group.start

    def insert_directly(self, chunk: CsvChunk, groups: list[_Group], whole: bool) -> None:
        rows = chunk.rows
        # the key fields become the new rows' keys; nothing reads them after this
        if self.table == "census":
            for group in groups:
                rows[group.start][0] = group.run_id
        else:
            sample_id = first = self.ctx.ids.sample
            for group in groups:
                for index in range(group.start, group.end):
                    row = rows[index]
                    row[0], row[1] = sample_id, group.run_id
                    sample_id += 1
            self.ctx.ids.sample = sample_id
        indexes = (range(len(rows)) if whole
                   else [i for g in groups for i in range(g.start, g.end)])
        batch = rows if whole else [rows[i] for i in indexes]
        self.db.executemany(self.insert_sql, batch)
        self.count_written(len(batch), len(batch) * len(TABLES[self.table]))
        if self.table == "census":
            flagged = self.db.execute(self.check_sql, (json.dumps([g.run_id for g in groups]),))
            position = {g.run_id: g.start for g in groups}
        else:
            flagged = self.db.execute(self.check_sql, (first, self.ctx.ids.sample - 1))
            position = None
        for (key,) in flagged.fetchall():
            index = position[key] if position is not None else indexes[key - first]
            self.convert_in_place(chunk, index, key)

    def convert_in_place(self, chunk: CsvChunk, index: int, key: int) -> None:
        """A row SQLite stored with text in a number column: convert it here, exactly."""
        values = self.row_values(chunk, index)
        assignments = ", ".join(f"{column} = ?" for column in values)
        pk = "run_id" if self.table == "census" else "sample_id"
        self.db.execute(f"UPDATE {self.table} SET {assignments} WHERE {pk} = ?",
                        (*values.values(), key))

    def row_values(self, chunk: CsvChunk, index: int) -> dict[str, Any]:
        return {column: self.convert(self.table, column, chunk, index, field)
                for field, column in self.targets}

    def merge_row(self, chunk: CsvChunk, index: int, run_id: int) -> None:
        """A row of a run that has rows of this table: compare, fill, or add."""
        values = self.row_values(chunk, index)
        key: tuple[Any, ...]
        if self.table == "census":
            where, key = "run_id = ?", (run_id,)
            position: tuple = (None, None, None)
        else:
            duration = values.get("ta_duration")
            where, key = "run_id = ? AND ta_duration IS ? AND sample_size IS ?", \
                (run_id, duration, values["sample_size"])
            position = (duration, values["sample_size"], None)
        columns = list(values)
        stored = self.db.execute(
            f"SELECT {', '.join(columns)} FROM {self.table} WHERE {where} LIMIT 1", key).fetchone()
        if stored is None:
            self.add_row(run_id, values)
            return
        fills = {}
        for column, old, new in zip(columns, stored, values.values()):
            if new is None:
                continue
            if old is None:
                fills[column] = new
            elif not same(old, new):
                self.disagree(run_id, self.table, column, old, new, chunk.line(index), position)
        if fills:
            assignments = ", ".join(f"{column} = ?" for column in fills)
            self.db.execute(f"UPDATE {self.table} SET {assignments} WHERE {where}",
                            (*fills.values(), *key))
            self.count_written(0, len(fills))

    def add_row(self, run_id: int, values: dict[str, Any]) -> None:
        head: dict[str, Any] = {"run_id": run_id}
        if self.table == "sample":
            head["sample_id"] = self.ctx.ids.sample
            self.ctx.ids.sample += 1
        row = {**head, **values}
        self.db.execute(f"INSERT INTO {self.table} ({', '.join(row)}) "
                        f"VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        self.count_written(1, len(TABLES[self.table]))


# population files of era 2014-10: their entropy mean is the Slatkin mean; their entropy
# max and min (Slatkin values again) go nowhere
POPULATION_2014_COLUMNS: dict[str, str | None] = {
    "entropy_locus_mean": "slatkin_locus_mean",
    "entropy_locus_max": None,
    "entropy_locus_min": None,
}


# --- per-locus files ---------------------------------------------------------------------


class _LocusLoader(_Loader):
    """``B-pop-slatkin-locus-data.csv`` and ``B-pop-richness-locus-data.csv``: one row per
    locus, in locus order, no locus column. Both fill columns of the same census_locus rows."""

    def __init__(self, export: ExportFile, ctx: LoadContext) -> None:
        super().__init__(export, ctx)
        self.field = 3
        self.column = LOCUS_COLUMNS[export.header[self.field]]
        self.next_locus: dict[int, int] = {}  # run_id -> loci of the run read so far
        self.stored: dict[int, dict[int, Any]] = {}  # runs stored before: locus -> value
        self.upsert = (
            f"INSERT INTO census_locus (run_id, locus, {self.column}) VALUES (?, ?, ?) "
            f"ON CONFLICT (run_id, locus) DO UPDATE SET {self.column} = excluded.{self.column} "
            f"WHERE {self.column} IS NULL")

    def runs_met(self, run_ids: list[int]) -> None:
        found = self.db.execute(
            f"SELECT run_id, locus, {self.column} FROM census_locus "
            f"WHERE run_id IN (SELECT value FROM json_each(?))", (json.dumps(run_ids),))
        for run_id, locus, value in found:
            self.stored.setdefault(run_id, {})[locus] = value

    def load_rows(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        rows = []
        for group in groups:
            first = self.next_locus.get(group.run_id, 0)
            self.next_locus[group.run_id] = first + group.end - group.start
            stored = self.stored.get(group.run_id, {})
            for locus, index in enumerate(range(group.start, group.end), start=first):
                value = self.convert("census_locus", self.column, chunk, index, self.field)
                old = stored.get(locus)
                if old is None:
                    rows.append((group.run_id, locus, value))
                elif value is not None and not same(old, value):
                    self.disagree(group.run_id, "census_locus", self.column, old, value,
                                  chunk.line(index), (None, None, locus))
        self.db.executemany(self.upsert, rows)
        self.count_written(len(rows), len(rows))


# --- simulation files --------------------------------------------------------------------


class _SimulationLoader(_Loader):
    """``B-simulation-data.csv``: the run's parameters, typed as the documents type them.

    A new run's row is stored with one statement that turns the row's fields
    into parameter rows (``VALUES`` pairs of name and field), numbers converted
    here first, exactly.
    """

    run_values = ("model_class_label",)

    def __init__(self, export: ExportFile, ctx: LoadContext) -> None:
        super().__init__(export, ctx)
        self.parameters: list[tuple[int, str]] = []  # the first column of each name
        self.repeats: list[tuple[int, int, str]] = []  # (column, first column, name)
        for index, name in enumerate(export.header[2:], start=2):
            name = SIMULATION_PARAMETERS.get(name, name)
            first = next((i for i, n in self.parameters if n == name), None)
            if first is None:
                self.parameters.append((index, name))
            else:
                self.repeats.append((index, first, name))  # network_class, written twice
        self.numbers = [(index, name, converter("parameter", name))
                        for index, name in self.parameters
                        if name in INTEGER_PARAMETERS or name in REAL_PARAMETERS]
        pairs = ", ".join(f"('{name}', ?{index + 1})" for index, name in self.parameters)
        self.insert_sql = (f"INSERT INTO parameter (run_id, name, value) "
                           f"SELECT ?1, column1, column2 FROM (VALUES {pairs}) "
                           f"WHERE column2 IS NOT NULL AND column2 IS NOT ''")

    def created_runs(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        pass  # the parameters come with the rows

    def load_rows(self, chunk: CsvChunk, groups: list[_Group]) -> None:
        rows = chunk.rows
        once = len({g.key for g in groups}) == len(groups)  # no run twice in the chunk
        known = [g.run_id for g in groups if not g.created]
        stored = self.stored_parameters(known) if known else {}
        new_rows = []
        for group in groups:
            for index in range(group.start, group.end):
                if group.created and index == group.start:
                    self.convert_numbers(chunk, index)
                    new_rows.append(rows[index])
                    if once and group.end - group.start == 1 and self.repeats_agree(rows[index]):
                        continue  # nothing to compare this row with
                    stored[group.run_id] = self.first_values(chunk, index)
                    values = self.repeated_values(chunk, index)
                else:
                    values = self.row_parameters(chunk, index)
                self.reconcile(group.run_id, stored.setdefault(group.run_id, {}), values,
                               chunk, index)
            if group.created:
                rows[group.start][0] = group.run_id  # the key field becomes ?1
        if new_rows:
            before = self.db.total_changes
            self.db.executemany(self.insert_sql, new_rows)
            written = self.db.total_changes - before
            self.count_written(written, written * len(TABLES["parameter"]))

    def repeats_agree(self, row: list) -> bool:
        return all(row[field] == row[first] for field, first, _ in self.repeats)

    def convert_numbers(self, chunk: CsvChunk, index: int) -> None:
        row = chunk.rows[index]
        try:
            for field, _, convert in self.numbers:
                row[field] = convert(row[field])
        except (ValueError, ArithmeticError):
            for field, name, _ in self.numbers:  # again, to name the field in the message
                row[field] = self.convert("parameter", name, chunk, index, field)

    def first_values(self, chunk: CsvChunk, index: int) -> dict[str, Any]:
        row = chunk.rows[index]
        return {name: row[field] for field, name in self.parameters
                if row[field] is not None and row[field] != ""}

    def repeated_values(self, chunk: CsvChunk, index: int) -> list[tuple[str, Any]]:
        return [(name, self.convert("parameter", name, chunk, index, field))
                for field, _, name in self.repeats]

    def row_parameters(self, chunk: CsvChunk, index: int) -> list[tuple[str, Any]]:
        return [(name, self.convert("parameter", name, chunk, index, field))
                for field, name in self.parameters] + self.repeated_values(chunk, index)

    def stored_parameters(self, run_ids: list[int]) -> dict[int, dict[str, Any]]:
        stored: dict[int, dict[str, Any]] = {}
        for run_id, name, value in self.db.execute(
                "SELECT run_id, name, value FROM parameter "
                "WHERE run_id IN (SELECT value FROM json_each(?))", (json.dumps(run_ids),)):
            stored.setdefault(run_id, {})[name] = value
        return stored

    def reconcile(self, run_id: int, stored: dict[str, Any], values: list[tuple[str, Any]],
                  chunk: CsvChunk, index: int) -> None:
        for name, value in values:
            self.reconcile_run_value(run_id, name, stored, value, chunk, index)
        ticks, size = stored.get("kandler_interval"), stored.get("population_size")
        generations = dict(values).get("kandler_interval_generations")
        if isinstance(ticks, int) and isinstance(size, int) and size and \
                isinstance(generations, int) and ticks // size != generations:
            self.disagree(run_id, "parameter", "kandler_interval", ticks // size, generations,
                          chunk.line(index))


# --- a run document after CSV rows of its run ---------------------------------------------

# table (and column) -> the export file kind that gives it, to name a CSV value's source
_ORIGIN_KINDS = {"census": "population", "sampled": "sampled", "tasampled": "tasampled",
                 "slatkin_exact": "pop-slatkin-locus", "richness": "pop-richness-locus",
                 "parameter": "simulation", "run": "simulation"}


def csv_only_run(warehouse: Any, run_key: Any) -> int | None:
    """The run_id of a run stored so far only from CSV rows (no run document)."""
    if not isinstance(run_key, str):
        return None
    found = warehouse.query(
        "SELECT run.run_id FROM run JOIN source USING (source_id) "
        "WHERE run.simulation_run_id = ? AND run.document_id IS NULL "
        "AND source.format LIKE 'csv-%'", (run_key,)).fetchone()
    return None if found is None else int(found[0])


def adopt_document(record: Record, ctx: LoadContext, run_id: int) -> None:
    """Map a run document onto a run known so far only from CSV rows.

    The document is the record the export files were computed from, so its rows
    replace the CSV ones (same run_id); values only the CSV files gave are kept,
    and CSV values that differ from the document's are recorded in ``disagreement``
    (stored_value: the document's, file_value: the CSV file's).
    """
    db = ctx.warehouse.db
    csv = _CsvRun(db, run_id)
    for table in ("sample", "census_locus", "census", "parameter", "run"):
        db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
    marks = {table: len(ctx.rows[table]) for table in TABLES}
    next_run, ctx.ids.run = ctx.ids.run, run_id
    try:
        map_run(record, ctx.source_id, ctx.node, ctx.ids, ctx.rows, fingerprint(record.document))
    finally:
        ctx.ids.run = next_run
    merger = _Adoption(ctx, run_id, csv, marks)
    merger.run_label()
    merger.parameters()
    merger.census()
    merger.census_locus()
    merger.samples()


class _CsvRun:
    """What the CSV files stored for one run, and which file gave what."""

    def __init__(self, db: Any, run_id: int) -> None:
        self.label = db.execute("SELECT model_class_label FROM run WHERE run_id = ?",
                                (run_id,)).fetchone()[0]
        self.parameters = dict(db.execute(
            "SELECT name, value FROM parameter WHERE run_id = ?", (run_id,)).fetchall())
        self.census = _row_dict(db, "SELECT * FROM census WHERE run_id = ?", (run_id,))
        self.loci = {row["locus"]: row for row in _row_dicts(
            db, "SELECT * FROM census_locus WHERE run_id = ?", (run_id,))}
        self.samples = {(row["ta_duration"], row["sample_size"]): row for row in _row_dicts(
            db, "SELECT * FROM sample WHERE run_id = ? ORDER BY sample_id", (run_id,))}
        # the file that created the run (its run row), then those that added to it
        self.origins = db.execute(
            "SELECT r.source_id, r.source_line, s.format FROM run AS r "
            "JOIN source AS s USING (source_id) WHERE r.run_id = ? "
            "UNION ALL SELECT * FROM (SELECT o.source_id, o.first_line, s.format "
            "FROM csv_origin AS o JOIN source AS s USING (source_id) WHERE o.run_id = ? "
            "ORDER BY o.source_id)", (run_id, run_id)).fetchall()

    def origin(self, what: str) -> tuple[int, int]:
        """(source_id, line) of the file that gave a table's (or column's) values."""
        kind = _ORIGIN_KINDS.get(what)
        for source_id, line, form in self.origins:
            if form.startswith(f"csv-{kind}-"):
                return source_id, line
        return self.origins[0][0], self.origins[0][1]


class _Adoption:
    """Merges a run's CSV values into the rows its document just produced."""

    def __init__(self, ctx: LoadContext, run_id: int, csv: _CsvRun, marks: dict[str, int]):
        self.ctx, self.run_id, self.csv, self.marks = ctx, run_id, csv, marks

    def pending(self, table: str) -> list[tuple]:
        return self.ctx.rows[table][self.marks[table]:]

    def replace(self, table: str, old: tuple, new: tuple) -> None:
        rows = self.ctx.rows[table]
        rows[rows.index(old, self.marks[table])] = new

    def disagree(self, table: str, column: str, stored: Any, value: Any, what: str,
                 where: tuple = (None, None, None)) -> None:
        source_id, line = self.csv.origin(what)
        self.ctx.warehouse.db.execute(DISAGREEMENT_INSERT, (
            self.run_id, table, column, *where, stored, value, source_id, line))
        self.ctx.outcome.disagreements += 1

    def merged(self, table: str, row: tuple, csv_row: dict[str, Any], columns: Iterable[str],
               what: str, where: tuple = (None, None, None)) -> tuple:
        """The document's row with the CSV's values where it has none; differences noted."""
        names = TABLES[table]
        values = list(row)
        for column in columns:
            new = csv_row.get(column)
            position = names.index(column)
            old = values[position]
            if new is None:
                continue
            if old is None:
                values[position] = new
            elif not same(old, new):
                self.disagree(table, column, old, new,
                              column if what == "column" else what, where)
        return tuple(values)

    def run_label(self) -> None:
        (row,) = self.pending("run")
        if row[2] is None and self.csv.label is not None:
            self.replace("run", row, row[:2] + (self.csv.label,) + row[3:])
        elif self.csv.label is not None and row[2] != self.csv.label:
            self.disagree("run", "model_class_label", row[2], self.csv.label, "run")

    def parameters(self) -> None:
        document = {row[1]: row[2] for row in self.pending("parameter")}
        for name, value in self.csv.parameters.items():
            if document.get(name) is None:
                self.ctx.rows["parameter"].append((self.run_id, name, value))
            elif not same(document[name], value):
                self.disagree("parameter", name, document[name], value, "parameter")
        ticks, size = document.get("kandler_interval"), document.get("population_size")
        generations = self.csv.parameters.get("kandler_interval_generations")
        if isinstance(ticks, int) and isinstance(size, int) and size and \
                isinstance(generations, int) and ticks // size != generations:
            self.disagree("parameter", "kandler_interval", ticks // size, generations,
                          "parameter")

    def census(self) -> None:
        if self.csv.census is None:
            return
        columns = TABLES["census"][1:]
        rows = self.pending("census")
        if not rows:
            self.ctx.rows["census"].append(tuple(self.csv.census[c] for c in TABLES["census"]))
            return
        self.replace("census", rows[0],
                     self.merged("census", rows[0], self.csv.census, columns, "census"))

    def census_locus(self) -> None:
        document = {row[1]: row for row in self.pending("census_locus")}
        for locus, csv_row in self.csv.loci.items():
            row = document.get(locus)
            if row is None:
                self.ctx.rows["census_locus"].append(
                    tuple(csv_row[c] for c in TABLES["census_locus"]))
            else:
                self.replace("census_locus", row, self.merged(
                    "census_locus", row, csv_row, ("slatkin_exact", "richness"), "column",
                    (None, None, locus)))

    def samples(self) -> None:
        document = {(row[2], row[3]): row for row in self.pending("sample")}
        columns = TABLES["sample"][4:]
        for key, csv_row in self.csv.samples.items():
            row = document.get(key)
            what = "sampled" if key[0] is None else "tasampled"
            if row is None:
                sample_id = self.ctx.ids.sample
                self.ctx.ids.sample += 1
                self.ctx.rows["sample"].append(
                    (sample_id,) + tuple(csv_row[c] for c in TABLES["sample"][1:]))
            else:
                self.replace("sample", row, self.merged("sample", row, csv_row, columns, what,
                                                        (key[0], key[1], None)))


def _row_dicts(db: Any, sql: str, params: tuple) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _row_dict(db: Any, sql: str, params: tuple) -> dict[str, Any] | None:
    rows = _row_dicts(db, sql, params)
    return rows[0] if rows else None


LOADERS: dict[str, Callable[[ExportFile, "LoadContext"], _Loader]] = {
    "population": _StatsLoader,
    "sampled": _StatsLoader,
    "tasampled": _StatsLoader,
    "pop-slatkin-locus": _LocusLoader,
    "pop-richness-locus": _LocusLoader,
    "simulation": _SimulationLoader,
}
CSV_HANDLERS: dict[str, Callable[[Record, "LoadContext"], None]] = {
    f"csv:{kind}": load_chunk for kind in LOADERS
}
