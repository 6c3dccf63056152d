"""A run document read after CSV rows of its run: the document's rows replace them."""

from __future__ import annotations

from typing import Any, Iterable

from ....formats import Record
from ...interface import LoadContext
from ..document import map_run
from ..fingerprint import fingerprint
from ..tables import TABLES
from .loader import DISAGREEMENT_INSERT
from .values import same


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
