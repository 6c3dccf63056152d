"""Population, sampled and tasampled files: one ``census`` or ``sample`` row per file row."""

from __future__ import annotations

import json
from operator import itemgetter
from typing import Any

from ....formats.csvfile import CsvChunk, CsvFile
from ...interface import LoadContext
from ..tables import TABLES
from .headers import sampled_2014_row
from .loader import BulkInsert, Group, Loader
from .values import INTEGER_COLUMNS, KIND_TABLE, same, table_column

# Era rules (docs/csv-eras.md)
POPULATION_2014_RULE = "population-2014-10: entropy columns computed from slatkin_exact"
SAMPLED_2014_RULE = "sampled-2014-10: entropy_locus_min holds the mean, max and mean empty"


class StatsLoader(Loader):
    """One ``census`` or ``sample`` row per file row."""

    def __init__(self, export: CsvFile, ctx: LoadContext) -> None:
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

    def statements(self) -> tuple[BulkInsert, str]:
        """The file-order INSERT, and the query that finds fields SQLite could not convert.

        A row's parameters are the file's fields, with the run's key replaced by
        the key of the new row (census: run_id; sample: sample_id, then run_id
        in place of the label).
        """
        columns = [column for _, column in self.targets]
        fields = [index for index, _ in self.targets]
        if self.table == "census":
            head, keys, where = ["run_id"], [0], "run_id IN (SELECT value FROM json_each(?))"
        else:
            head, keys, where = ["sample_id", "run_id"], [0, 1], "sample_id BETWEEN ? AND ?"
        insert = BulkInsert(f"INSERT INTO {self.table} ({', '.join(head + columns)})",
                            keys + fields, len(self.export.header))
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
    def apply_era_rules(self, chunk: CsvChunk, groups: list[Group]) -> None:
        if (self.export.kind, self.export.era) == ("population", "2014-10"):
            self.population_2014(chunk, groups)
        elif self.export.kind == "sampled":
            self.sampled_2014(chunk, groups)

    def population_2014(self, chunk: CsvChunk, groups: list[Group]) -> None:
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

    def sampled_2014(self, chunk: CsvChunk, groups: list[Group]) -> None:
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
    def load_rows(self, chunk: CsvChunk, groups: list[Group]) -> None:
        unique = self.unique_grains(chunk, groups)
        direct: list[Group] = []
        merged: list[Group] = []
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

    def unique_grains(self, chunk: CsvChunk, groups: list[Group]) -> bool:
        """No run has two rows of the same grain in this chunk (the usual case)."""
        if not self.grain:
            return len(groups) == len(chunk.rows) == len({g.key for g in groups})
        return len(set(map(itemgetter(0, *self.grain), chunk.rows))) == len(chunk.rows)

    def grains(self, chunk: CsvChunk, group: Group) -> set:
        if not self.grain:
            return {None}
        return set(map(itemgetter(*self.grain), chunk.rows[group.start:group.end]))

    def continued(self, group: Group) -> set:
        """The grains the previous chunk wrote for this group's run, if it goes on here."""
        if group.start == 0 and self.open_run is not None and self.open_run[0] == group.key:
            return self.open_run[1]
        return set()

    def takes_directly(self, chunk: CsvChunk, group: Group, unique: bool) -> bool:
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

    def insert_directly(self, chunk: CsvChunk, groups: list[Group], whole: bool) -> None:
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
        self.insert_sql.run(self.db, batch)
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
