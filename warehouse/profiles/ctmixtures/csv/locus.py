"""The 2014 per-locus files: ``census_locus`` values in locus order."""

from __future__ import annotations

import json
from typing import Any

from ....formats.csvfile import CsvChunk, CsvFile
from ...interface import LoadContext
from .loader import Group, Loader
from .values import LOCUS_COLUMNS, same


class LocusLoader(Loader):
    """``B-pop-slatkin-locus-data.csv`` and ``B-pop-richness-locus-data.csv``: one row per
    locus, in locus order, no locus column. Both fill columns of the same census_locus rows."""

    def __init__(self, export: CsvFile, ctx: LoadContext) -> None:
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

    def load_rows(self, chunk: CsvChunk, groups: list[Group]) -> None:
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
