"""The worker's half of loading population, sampled and tasampled export files.

The writing process loads their rows (``ctmixtures_csv._StatsLoader``); a
worker process reading the file ahead of it can spare it most of the work
(``staging.py`` says why and how). For every chunk the worker foresees the
keys the writer will give: the run_id of each run (runs new to the
warehouse numbered in order of first appearance, as the writer numbers them;
runs already committed looked up) and the first sample_id. When asked, it
stages the chunk: the rows exactly as the writer would store them, numbers
converted by the column's affinity, and the fields the affinity cannot
convert (nan, inf, empty, integers beyond 64 bits) converted in Python as the
writer converts them. The writer checks the foreseen keys before it copies
the rows, and gives its own keys where they differ.

Only chunks the writer will insert whole are worth staging: no run in them
with rows of the table stored before, every run met first in the chunk (or
going on from the chunk before), no run twice at one grain. Any other chunk
goes as it is.
"""

from __future__ import annotations

from typing import Any

from .. import staging
from ..formats.exportcsv import CsvChunk, ExportFile
from ..store import Warehouse
from .ctmixtures import Ids
from .ctmixtures_csv import (KIND_TABLE, convert_text, mistyped, mistyped_condition,
                             stats_insert, stats_targets)

# Kinds and eras whose chunks the loader can copy as staged: every field stored as
# the file has it (no era rule rewrites them).
STAGED_KINDS = frozenset({"population", "sampled", "tasampled"})
# What the loader reads of every row: these travel as lists beside the image.
HOT_COLUMNS = ("simulation_run_id", "model_class_label", "innovation_rate", "ta_duration",
               "sample_size", "entropy_locus_max")


def stager_for(export: ExportFile, warehouse: Warehouse, ids: Ids) -> Stager | None:
    """The stager of a file's chunks, or None where they must go as they are."""
    if export.kind not in STAGED_KINDS or export.era == "2014-10" or not staging.AVAILABLE:
        return None
    return Stager(export, warehouse, ids)


class Stager:
    """Foresees the keys of every chunk of one file, and stages chunks on request."""

    def __init__(self, export: ExportFile, warehouse: Warehouse, ids: Ids) -> None:
        self.export = export
        self.table = KIND_TABLE[export.kind]
        self.sample = self.table == "sample"
        self.targets = stats_targets(export)
        self.db = warehouse.db
        self.stored: set[int] = set()  # runs committed before this file
        self.next_run, self.next_sample = ids.run, ids.sample
        self.run_ids: dict[str, int] = {}
        self.last_key: str | None = None  # of the chunk before
        self.had_runs = bool(self.db.execute("SELECT EXISTS (SELECT 1 FROM run)").fetchone()[0])
        # the table as the warehouse defines it (then its indexes): SQLite copies
        # records without decoding them only between tables defined alike
        self.definitions = [sql for (sql,) in self.db.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY type = 'index'", (self.table,))]
        self.insert = stats_insert(self.table, self.targets)
        columns = [column for _, column in self.targets]
        self.mistyped_rows = (f"SELECT rowid, {', '.join(columns)} FROM {self.table} "
                              f"WHERE {mistyped_condition(self.table, columns)}")
        header = export.header
        self.keep = [index for index, name in enumerate(header) if name in HOT_COLUMNS]
        # the sampled-2014 rule reads rows with an empty entropy max: those go as they are
        self.blank_guard = header.index("entropy_locus_max") if export.kind == "sampled" else None
        self.grains = [header.index(n) for n in ("ta_duration", "sample_size") if n in header]
        self.time_averaged = "ta_duration" in header

    def accept(self, chunk: CsvChunk, stage: bool) -> CsvChunk:
        """The chunk to hand to the writer: staged if ``stage`` and worth it."""
        keys = chunk.column(0)
        seen_before = {key for key in keys if key in self.run_ids}
        run_ids = self.foresee(keys)
        first_id = self.next_sample
        if self.sample:
            self.next_sample += len(keys)
        continues = seen_before <= {self.last_key} and (not seen_before or keys[0] in seen_before)
        self.last_key = keys[-1] if keys else self.last_key
        if not (stage and continues and self.worth_staging(chunk, keys, run_ids)):
            return chunk
        return self.staged(chunk, keys, run_ids, first_id)

    def foresee(self, keys: list[str]) -> dict[str, int]:
        """The run_id the writer will give each key, as ``_Loader.resolve_runs`` gives it."""
        fresh = [key for key in dict.fromkeys(keys) if key and key not in self.run_ids]
        stored: dict[str, int] = {}
        if fresh and self.had_runs:
            placeholders = ", ".join("?" * len(fresh))
            stored = dict(self.db.execute(
                f"SELECT simulation_run_id, run_id FROM run "
                f"WHERE simulation_run_id IN ({placeholders})", fresh).fetchall())
        for key in fresh:
            if key in stored:
                self.run_ids[key] = stored[key]
                self.stored.add(stored[key])
            else:
                self.run_ids[key] = self.next_run
                self.next_run += 1
        return {key: self.run_ids[key] for key in dict.fromkeys(keys) if key}

    def worth_staging(self, chunk: CsvChunk, keys: list[str], run_ids: dict[str, int]) -> bool:
        if len(run_ids) != len(dict.fromkeys(keys)):
            return False  # an empty key: the writer reports it
        if self.has_rows([run_id for run_id in run_ids.values() if run_id in self.stored]):
            return False  # the writer compares these rows with those stored
        if self.blank_guard is not None and "" in chunk.column(self.blank_guard):
            return False
        grains = zip(keys, *map(chunk.column, self.grains))
        return len(set(grains)) == len(keys)

    def has_rows(self, run_ids: list[int]) -> bool:
        """Whether one of these runs has rows of the table (as ``runs_met`` tells them)."""
        if not run_ids:
            return False
        kind = "" if not self.sample else \
            f" AND ta_duration IS {'NOT ' if self.time_averaged else ''}NULL"
        placeholders = ", ".join("?" * len(run_ids))
        return self.db.execute(f"SELECT EXISTS (SELECT 1 FROM {self.table} "
                               f"WHERE run_id IN ({placeholders}){kind})", run_ids).fetchone()[0]

    def staged(self, chunk: CsvChunk, keys: list[str], run_ids: dict[str, int],
               first_id: int) -> staging.StagedChunk:
        columns = {field: chunk.column(field) for field in self.keep}
        rows = chunk.rows
        if self.sample:
            for index, row in enumerate(rows):
                row[0], row[1] = first_id + index, run_ids[keys[index]]
            row_ids: Any = range(first_id, first_id + len(rows))
        else:
            for index, row in enumerate(rows):
                row[0] = run_ids[keys[index]]
            row_ids = [run_ids[key] for key in keys]
        position = {row_id: index for index, row_id in enumerate(row_ids)}

        def convert_mistyped(db: Any) -> None:
            for row_id, *stored in db.execute(self.mistyped_rows).fetchall():
                index = position[row_id]
                values = {column: convert_text(self.export, self.table, column, field,
                                               rows[index][field], chunk.line(index))
                          for field, column in mistyped(self.table, self.targets, stored)}
                assignments = ", ".join(f"{column} = ?" for column in values)
                db.execute(f"UPDATE {self.table} SET {assignments} WHERE rowid = ?",
                           (*values.values(), row_id))

        image = staging.image(self.definitions, self.insert, rows, convert_mistyped)
        return staging.StagedChunk(
            chunk, table=self.table, image=image, row_ids=row_ids,
            field_columns={field: column for field, column in self.targets},
            columns=columns, run_ids=run_ids, first_id=first_id if self.sample else None)
