"""``warehouse verify``: SQLite's integrity check plus the warehouse's invariants.

Invariants: every aggregate in ``census`` and ``sample`` equals what its
per-locus rows give by the exporter's rule; every run read from a document has
its parameters; a configuration label belongs to the run of the samples that
name it, once, and is named; the ledger's counts equal what the tables hold.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterator

from ..profiles.ctmixtures.diversity import min_max_mean
from ..profiles.ctmixtures.values import NAN_TEXT
from ..store import open_for_reading

STATISTICS = ("slatkin", "entropy", "iqv", "richness", "kandler", "neiman_tf")
# per-locus column of each statistic, in census_locus and in sample_locus
CENSUS_LOCUS = ("slatkin_exact", "shannon_entropy", "iqv_diversity", "richness",
                "kandler_remaining", "neiman_tf")
SAMPLE_LOCUS = ("slatkin", "entropy", "iqv", "richness", "kandler_remaining", "neiman_tf")
AGGREGATES = tuple(f"{stat}_locus_{agg}" for stat in STATISTICS for agg in ("min", "max", "mean"))


@dataclass(frozen=True)
class Problem:
    check: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.where}: {self.detail}"


def _number(value: Any) -> Any:
    return math.nan if value == NAN_TEXT else value


def same(a: Any, b: Any) -> bool:
    """Equal as stored values: NaN equals NaN, floats within 1e-12 relative."""
    a, b = _number(a), _number(b)
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and math.isnan(a) or isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


UNCHECKED = object()  # a statistic no per-locus row gives (CSV exports give aggregates only)


def _expected(locus_rows: list[tuple]) -> list[Any]:
    """The aggregates that per-locus rows give, in AGGREGATES order.

    The rows come in locus order, so ``min_max_mean`` applies the exporter's
    rule for a NaN (the first locus's NaN is the answer, a later one is
    passed over), the same rule the build used.
    """
    expected: list[Any] = []
    for column in range(1, len(STATISTICS) + 1):
        values = [_number(row[column]) for row in locus_rows]
        if all(v is None for v in values):
            expected.extend((UNCHECKED,) * 3)
        elif any(v is None for v in values):
            expected.extend((None, None, None))
        else:
            expected.extend(min_max_mean(values))
    return expected


def _aggregate_problems(db: sqlite3.Connection, table: str, key: str, locus_table: str,
                        locus_columns: tuple[str, ...]) -> Iterator[Problem]:
    # Both sides ordered by key: a merge join that streams, whatever the size.
    stored = db.execute(f"SELECT {key}, {', '.join(AGGREGATES)} FROM {table} ORDER BY {key}")
    loci = db.execute(f"SELECT {key}, {', '.join(locus_columns)} FROM {locus_table} "
                      f"ORDER BY {key}, locus")
    groups = groupby(loci, key=itemgetter(0))
    current = next(groups, None)
    for row in stored:
        while current is not None and current[0] < row[0]:
            current = next(groups, None)
        if current is None or current[0] != row[0]:
            continue  # aggregates without per-locus rows (from CSV exports): nothing to check
        expected = _expected(list(current[1]))
        for name, have, want in zip(AGGREGATES, row[1:], expected):
            if want is not UNCHECKED and not same(have, want):
                yield Problem("aggregates", f"{table} {key}={row[0]}",
                              f"{name} is {have!r}, per-locus rows give {want!r}")


def problems(db_path: str | Path) -> Iterator[Problem]:
    """Every failed check; nothing when the warehouse is sound."""
    db = open_for_reading(db_path)
    try:
        for (message,) in db.execute("PRAGMA integrity_check"):
            if message != "ok":
                yield Problem("integrity_check", str(db_path), message)
        for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check"):
            yield Problem("foreign keys", f"{table} rowid {rowid}", f"no {parent} row it refers to")
        yield from _aggregate_problems(db, "census", "run_id", "census_locus", CENSUS_LOCUS)
        yield from _aggregate_problems(db, "sample", "sample_id", "sample_locus", SAMPLE_LOCUS)
        yield from _parameter_problems(db)
        yield from _label_problems(db)
        yield from _ledger_problems(db)
    finally:
        db.close()


def _parameter_problems(db: sqlite3.Connection) -> Iterator[Problem]:
    query = """
        SELECT r.simulation_run_id FROM run AS r JOIN source AS s USING (source_id)
        WHERE s.format NOT LIKE 'csv%'
          AND NOT EXISTS (SELECT 1 FROM parameter AS p WHERE p.run_id = r.run_id)"""
    for (run_key,) in db.execute(query):
        yield Problem("parameters", f"run {run_key}", "a run read from a document has no parameters")


def _label_problems(db: sqlite3.Connection) -> Iterator[Problem]:
    """Labels are scoped by run (schemas/010_configuration_labels.sql)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'configuration_label'").fetchone():
        return  # a warehouse read before its next build applies schema 10
    elsewhere = """
        SELECT c.sample_id, c.position, l.run_id, s.run_id
        FROM sample_config_count AS c JOIN sample AS s USING (sample_id)
        JOIN configuration_label AS l USING (label_id)
        WHERE l.run_id <> s.run_id"""
    for sample_id, position, label_run, run_id in db.execute(elsewhere):
        yield Problem("labels", f"sample_config_count sample_id={sample_id} position={position}",
                      f"its label is one of run {label_run}, its sample one of run {run_id}")
    twice = """
        SELECT run_id, label, count(*) FROM configuration_label
        GROUP BY run_id, label HAVING count(*) > 1"""
    for run_id, label, times in db.execute(twice):
        yield Problem("labels", f"configuration_label run_id={run_id} label={label!r}",
                      f"stored {times} times for one run")
    unnamed = """
        SELECT label_id FROM configuration_label WHERE label_id NOT IN
        (SELECT label_id FROM sample_config_count WHERE label_id IS NOT NULL)"""
    for (label_id,) in db.execute(unnamed):
        yield Problem("labels", f"configuration_label label_id={label_id}",
                      "no configuration row names it")


def _ledger_problems(db: sqlite3.Connection) -> Iterator[Problem]:
    query = """
        SELECT s.path, s.runs, (SELECT count(*) FROM run AS r WHERE r.source_id = s.source_id)
        FROM source AS s"""
    for path, counted, stored in db.execute(query):
        if counted != stored:
            yield Problem("ledger", path, f"the ledger says {counted} runs, the run table holds {stored}")
