"""What every export file's loader does: runs, their label and innovation rate, bookkeeping.

Each export row names its run. The first file that names a run creates it
(a ``run`` row: key, label, source); a value already stored is never
overwritten: an equal one is left alone, a different one is recorded in
``disagreement``, a missing one is filled in.
"""

from __future__ import annotations

import json
from itertools import chain, compress, islice
from operator import itemgetter, ne
from typing import Any

from ....errors import WarehouseError
from ....formats.csvfile import CsvChunk, CsvFile
from ....store.warehouse import ROWS_PER_INSERT
from ...interface import LoadContext
from ..tables import TABLES
from .values import describe_error, converter, same, to_real, to_text

_first = itemgetter(0)


class Group:
    """Consecutive rows of one run in a chunk."""

    __slots__ = ("key", "start", "end", "run_id", "created")

    def __init__(self, key: str, start: int, end: int) -> None:
        self.key, self.start, self.end = key, start, end
        self.run_id = 0
        self.created = False  # the run was created from this group


def groups_of(keys: list[str]) -> list[Group]:
    starts = [0, *compress(range(1, len(keys)), map(ne, islice(keys, 1, None), keys))]
    ends = starts[1:] + [len(keys)]
    return [Group(keys[s], s, e) for s, e in zip(starts, ends)]


class Loader:
    """Rows of one export file: runs, their label and innovation rate, bookkeeping."""

    run_values: tuple[str, ...] = ("model_class_label", "innovation_rate")

    def __init__(self, export: CsvFile, ctx: LoadContext) -> None:
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
        groups = groups_of(list(map(_first, chunk.rows)))
        self.resolve_runs(chunk, groups)
        self.apply_era_rules(chunk, groups)
        self.check_run_values(chunk, groups)
        self.load_rows(chunk, groups)
        self.flush_corrections()

    def apply_era_rules(self, chunk: CsvChunk, groups: list[Group]) -> None:
        """Withhold or move the values an exporter era got wrong (docs/csv-eras.md)."""

    def load_rows(self, chunk: CsvChunk, groups: list[Group]) -> None:
        raise NotImplementedError

    # -- runs --------------------------------------------------------------------------
    def resolve_runs(self, chunk: CsvChunk, groups: list[Group]) -> None:
        """Give every group its run_id, creating the runs no source named before."""
        first_seen: dict[str, Group] = {}
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

    def created_runs(self, chunk: CsvChunk, groups: list[Group]) -> None:
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

    def check_run_values(self, chunk: CsvChunk, groups: list[Group]) -> None:
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
            raise self.error(f"column {name}: {describe_error(error, text)}", chunk, index) from None

    def error(self, message: str, chunk: CsvChunk, index: int) -> WarehouseError:
        return WarehouseError(message, self.path, chunk.line(index))

    def insert(self, table: str, rows: list[tuple]) -> None:
        if rows:
            # a row per statement: new runs (the UNIQUE index on their text key)
            # went in slower 32 per statement, 0.10 s against 0.07 s for 20,000
            self.db.executemany(self.ctx.warehouse.insert_sql(table), rows)
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


class BulkInsert:
    """An INSERT whose values are fields of a file's rows, several rows per statement.

    ``fields``: for each column named in ``head``, the index of the row's field
    that fills it. Executing a statement costs about as much as storing a row
    (see ``store.ROWS_PER_INSERT``), so full groups of rows go in one statement
    each and the rest one by one.
    """

    def __init__(self, head: str, fields: list[int], width: int) -> None:
        self.width = width
        self.one = self.statement(head, fields, 1)
        self.many = self.statement(head, fields, ROWS_PER_INSERT)

    def statement(self, head: str, fields: list[int], rows: int) -> str:
        values = (f"({', '.join(f'?{row * self.width + field + 1}' for field in fields)})"
                  for row in range(rows))
        return f"{head} VALUES {', '.join(values)}"

    def run(self, db: Any, rows: list[list]) -> None:
        bulk = len(rows) - len(rows) % ROWS_PER_INSERT
        db.executemany(self.many, (list(chain.from_iterable(rows[i:i + ROWS_PER_INSERT]))
                                   for i in range(0, bulk, ROWS_PER_INSERT)))
        db.executemany(self.one, rows[bulk:])


ORIGIN_INSERT = ("INSERT OR IGNORE INTO csv_origin (run_id, source_id, first_line) "
                 "VALUES (?, ?, ?)")
CORRECTION_INSERT = ("INSERT INTO csv_correction (source_id, source_line, run_id, sample_size, "
                     "file_column, file_value, stored_as, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
DISAGREEMENT_INSERT = ("INSERT INTO disagreement (run_id, table_name, column_name, ta_duration, "
                       "sample_size, locus, stored_value, file_value, source_id, source_line) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
