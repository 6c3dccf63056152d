"""Simulation files: the run's parameters, typed as the documents type them."""

from __future__ import annotations

import json
from typing import Any

from ....formats.csvfile import CsvChunk, CsvFile
from ...interface import LoadContext
from ..tables import TABLES
from .loader import Group, Loader
from .values import INTEGER_PARAMETERS, REAL_PARAMETERS, SIMULATION_PARAMETERS, converter


class SimulationLoader(Loader):
    """``B-simulation-data.csv``: the run's parameters, typed as the documents type them.

    A new run's row is stored with one statement that turns the row's fields
    into parameter rows (``VALUES`` pairs of name and field), numbers converted
    here first, exactly.
    """

    run_values = ("model_class_label",)

    def __init__(self, export: CsvFile, ctx: LoadContext) -> None:
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

    def created_runs(self, chunk: CsvChunk, groups: list[Group]) -> None:
        pass  # the parameters come with the rows

    def load_rows(self, chunk: CsvChunk, groups: list[Group]) -> None:
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
