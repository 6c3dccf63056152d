"""`warehouse merge`: shards copied into one warehouse as one build over their inputs would leave it.

Shards are merged in the order given (the order of their inputs), each in one
transaction, after its content is checked against its manifest. A shard's
keys are its own (store.shards), so its rows are copied as they are, table by
table, with SQLite's ``INSERT … SELECT``; where the warehouse holds keys in the
shard's range already (a shard number used twice, a second ``build --dask``,
a build into the warehouse after a merge), every key of the shard is moved by
one offset above the warehouse's highest. What the rules of a build leave out
is left out first:

- a source whose content (size, sha256) the warehouse already holds, with
  everything that came from it (a container member of that content stays in
  the ledger as 'known', pointing at the warehouse's source, as in a build);
- a run the warehouse already holds: with the same content a duplicate
  (counted on the shard's source), with other content a conflict (kept whole
  in ``conflict``, its document from the shard); the first version stays;
- a duplicate or a conflict the shard met itself is judged again against the
  version the warehouse keeps, which may be another shard's, or one the
  warehouse read from a file the shard holds too.

A shard holding a file whose content changed at a path the warehouse loaded
is refused whole (a build leaves such a file out; the shard cannot).

Runs known to one shard only from CSV export rows and to another from their
document are taken as the same run (the first stays); a build over both
would have merged their values (``docs/cluster.md``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import WarehouseError
from .shards import (KEY_BITS, MAX_SHARD, RANGED_KEYS, SHARD_TABLES, check_shard, key_base,
                     unpack_document)
from .signals import Interrupted, deferred

_REFERENCED = frozenset(RANGED_KEYS.values())
# tables copied first, in this order (the rest follow in name order)
_FIRST = ("source", "container", "container_member", "run", "sample")


@dataclass
class MergeOutcome:
    path: str
    number: int
    sources: int = 0  # sources added
    skipped_sources: int = 0  # already in the warehouse
    runs: int = 0
    duplicates: int = 0  # found against the warehouse (or turned so)
    conflicts: int = 0
    rows: int = 0


class ShardMerge:
    """One shard merged into the warehouse whose connection is ``db`` (in a transaction)."""

    def __init__(self, db: sqlite3.Connection, shard: Path, number: int) -> None:
        self.db = db
        self.shard = shard
        self.outcome = MergeOutcome(str(shard), number)
        self.offset = 0  # added to each of the shard's keys (_key_offset)
        self.committed = False

    def run(self, manifest_digest: str) -> MergeOutcome:
        self.db.execute("ATTACH DATABASE ? AS s", (str(self.shard),))
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.offset = self._key_offset()
                self._verdicts()
                self._copy_tables()
                self._conflicts()
                self._judged_again()
                self._counts()
                self._record(manifest_digest)
                with deferred():  # a signal now stops the merge once the shard is known merged
                    self.db.execute("COMMIT")
                    self.committed = True
            except BaseException:
                if not self.committed:
                    self.db.execute("ROLLBACK")
                raise
        finally:
            self._drop_temp()
            self.db.execute("DETACH DATABASE s")
        return self.outcome

    def _key_offset(self) -> int:
        """0 when the warehouse holds no key in the shard's range; otherwise what moves
        the shard's range above every key the warehouse holds (whole ranges apart, so
        the keys of the shard stay in their order and never meet the warehouse's)."""
        low = key_base(self.outcome.number)
        high = low + (1 << KEY_BITS)
        if not any(self.db.execute(f"SELECT EXISTS (SELECT 1 FROM main.{table} WHERE {key} "
                                   "BETWEEN ? AND ?)", (low, high)).fetchone()[0]
                   for table, key in RANGED_KEYS.items()):
            return 0
        top = max(self.db.execute(f"SELECT coalesce(max({key}), 0) FROM main.{table}")
                  .fetchone()[0] for table, key in RANGED_KEYS.items())
        base = ((top >> KEY_BITS) + 1) << KEY_BITS
        if base > key_base(MAX_SHARD):
            raise WarehouseError("no room left in the warehouse for this shard's keys",
                                 str(self.shard))
        return base - low

    # -- what stays out ------------------------------------------------------------
    def _verdicts(self) -> None:
        q = self.db.execute
        q("CREATE TEMP TABLE m_skip_source AS SELECT s.source_id FROM s.source AS s "
          "JOIN main.source AS m ON m.sha256 = s.sha256 AND m.size = s.size")
        q("CREATE TEMP TABLE m_skip_container AS SELECT s.container_id FROM s.container AS s "
          "JOIN main.container AS m ON m.sha256 = s.sha256 AND m.size = s.size")
        q("CREATE TEMP TABLE m_verdict AS SELECT s.run_id, s.simulation_run_id, s.source_id, "
          "CASE WHEN m.run_id IS NULL THEN 'new' "
          "     WHEN m.content_sha256 IS NULL OR s.content_sha256 IS NULL "
          "          OR m.content_sha256 = s.content_sha256 THEN 'duplicate' "
          "     ELSE 'conflict' END AS verdict "
          "FROM s.run AS s LEFT JOIN main.run AS m USING (simulation_run_id) "
          "WHERE s.source_id NOT IN (SELECT source_id FROM temp.m_skip_source)")
        q("CREATE TEMP TABLE m_drop_run AS SELECT run_id FROM s.run WHERE source_id IN "
          "(SELECT source_id FROM temp.m_skip_source) UNION ALL "
          "SELECT run_id FROM temp.m_verdict WHERE verdict <> 'new'")
        q("CREATE TEMP TABLE m_drop_sample AS SELECT sample_id FROM s.sample "
          "WHERE run_id IN (SELECT run_id FROM temp.m_drop_run)")
        self._refuse_changed()
        self.outcome.skipped_sources = self._count("temp.m_skip_source")
        self.dropping = (self._count("temp.m_drop_run") or self.outcome.skipped_sources
                         or self._count("temp.m_skip_container"))

    def _refuse_changed(self) -> None:
        """A file (or container) loaded before from the same path with other content: a
        build leaves it out, exit 1 (or replaces it: --replace). Left out here, the merge
        would not be exact (the shard judged its later files against that file's runs),
        so the shard is refused whole."""
        changed = self.db.execute(
            "SELECT s.path, m.loaded_at FROM s.source AS s JOIN main.source AS m USING (path) "
            "WHERE s.source_id NOT IN (SELECT source_id FROM temp.m_skip_source) UNION ALL "
            "SELECT s.path, m.loaded_at FROM s.container AS s JOIN main.container AS m "
            "USING (path) WHERE s.container_id NOT IN "
            "(SELECT container_id FROM temp.m_skip_container) LIMIT 1").fetchone()
        if changed is not None:
            raise WarehouseError(
                f"shard not merged: {changed[0]} changed since it was loaded on {changed[1]}; "
                "build the shard again without it (`warehouse build --replace` loads it in "
                "place of the old content)", str(self.shard))

    def _count(self, table: str) -> int:
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    # -- copying -------------------------------------------------------------------
    def _copy_tables(self) -> None:
        names = [name for (name,) in self.db.execute(
            "SELECT name FROM s.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            if name not in SHARD_TABLES]
        order = [n for n in _FIRST if n in names] + sorted(set(names) - set(_FIRST))
        for name in order:
            self._copy(name)
            if name == "container_member" and self.dropping:
                self._known_members()

    def _copy(self, table: str) -> None:
        info = self.db.execute(f'PRAGMA s.table_info("{table}")').fetchall()
        columns = [row[1] for row in info]
        # a key of its own that nothing refers to (conflict_id, …): the warehouse gives a new one
        own = _own_key(info)
        kept = [c for c in columns if c != own]
        where = self._filters(table, columns) if self.dropping else []
        listed = ", ".join(f'"{c}"' for c in kept)
        moved = {row[1] for row in info if _is_key(row)} if self.offset else set()
        values = ", ".join(f'"{c}" + {self.offset}' if c in moved else f'"{c}"' for c in kept)
        verb = "INSERT" if table in RANGED_KEYS or _row_keyed(columns) else "INSERT OR IGNORE"
        if not where and kept == columns and not moved:
            sql = f'{verb} INTO main."{table}" SELECT * FROM s."{table}"'
        else:
            sql = (f'{verb} INTO main."{table}" ({listed}) SELECT {values} FROM s."{table}"'
                   + (f" WHERE {' AND '.join(where)}" if where else ""))
        before = self.db.total_changes
        self.db.execute(sql)
        self.outcome.rows += self.db.total_changes - before
        if table == "source":
            self.outcome.sources = self.db.total_changes - before
        elif table == "run":
            self.outcome.runs = self.db.total_changes - before

    def _known_members(self) -> None:
        """Members whose content the warehouse holds already (their source left out): in
        the ledger as one build records them, known, pointing at the warehouse's source."""
        before = self.db.total_changes
        self.db.execute(
            "INSERT INTO main.container_member (container_id, member, size, sha256, status, "
            "source_id, note) SELECT c.container_id + ?, c.member, c.size, c.sha256, 'known', "
            "m.source_id, 'same content as ' || m.path || ', already loaded' "
            "FROM s.container_member AS c JOIN s.source AS f USING (source_id) "
            "JOIN main.source AS m ON m.sha256 = f.sha256 AND m.size = f.size "
            "WHERE c.source_id IN (SELECT source_id FROM temp.m_skip_source) "
            "AND c.container_id NOT IN (SELECT container_id FROM temp.m_skip_container)",
            (self.offset,))
        self.outcome.rows += self.db.total_changes - before

    def _filters(self, table: str, columns: list[str]) -> list[str]:
        where = []
        if "run_id" in columns:
            where.append("run_id NOT IN (SELECT run_id FROM temp.m_drop_run)")
        elif "sample_id" in columns:
            where.append("sample_id NOT IN (SELECT sample_id FROM temp.m_drop_sample)")
        if "source_id" in columns:
            where.append("(source_id IS NULL OR source_id NOT IN "
                         "(SELECT source_id FROM temp.m_skip_source))")
        if "container_id" in columns:
            where.append("container_id NOT IN (SELECT container_id FROM temp.m_skip_container)")
        return where

    # -- the rules of a build, across shards ---------------------------------------
    def _conflicts(self) -> None:
        """Runs held by the warehouse with other content: kept whole in ``conflict``."""
        found = self.db.execute(
            "SELECT r.simulation_run_id, r.source_id + ?, r.node, r.source_line, r.source_offset, "
            "r.content_sha256, d.body FROM temp.m_verdict AS v JOIN s.run AS r USING (run_id) "
            "LEFT JOIN s.shard_document AS d USING (run_id) WHERE v.verdict = 'conflict'",
            (self.offset,))
        self._add_conflicts(found.fetchall())

    def _judged_again(self) -> None:
        """The shard's own duplicates and conflicts, against the version the warehouse keeps
        once the shard's runs are in (which may be another shard's, or come from a file the
        merge left out as held already)."""
        turned = self.db.execute(
            "SELECT d.simulation_run_id, d.source_id + ?, f.node, d.source_line, d.source_offset, "
            "d.content_sha256, doc.body FROM s.shard_duplicate AS d "
            "JOIN main.run AS m USING (simulation_run_id) "
            "JOIN s.source AS f ON f.source_id = d.source_id "
            "JOIN s.run AS r USING (simulation_run_id) "  # its version in the shard: same content
            "LEFT JOIN s.shard_document AS doc ON doc.run_id = r.run_id "
            "WHERE m.content_sha256 <> d.content_sha256 AND d.source_id NOT IN "
            "(SELECT source_id FROM temp.m_skip_source)", (self.offset,)).fetchall()
        self._add_conflicts(turned)
        self._shift(((row[1], -1, +1) for row in turned))
        settled = self.db.execute(
            "SELECT c.conflict_id, c.source_id FROM main.conflict AS c JOIN main.run AS m "
            "USING (simulation_run_id) WHERE c.content_sha256 = m.content_sha256 AND c.source_id "
            "IN (SELECT source_id + ? FROM s.source WHERE source_id NOT IN "
            "(SELECT source_id FROM temp.m_skip_source))", (self.offset,)).fetchall()
        self.db.executemany("DELETE FROM main.conflict WHERE conflict_id = ?",
                            [(conflict_id,) for conflict_id, _ in settled])
        self._conflict_rows([(source_id, -1) for _, source_id in settled])
        self._shift(((source_id, +1, -1) for _, source_id in settled))

    def _add_conflicts(self, rows: list[tuple]) -> None:
        self._conflict_rows([(row[1], +1) for row in rows])
        self.db.executemany(
            "INSERT INTO main.conflict (simulation_run_id, source_id, node, source_line, "
            "source_offset, content_sha256, document) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row[:6] + (None if row[6] is None else unpack_document(row[6]),) for row in rows])

    def _shift(self, changes: Any) -> None:
        """Move counts of sources between duplicates and conflicts."""
        self.db.executemany("UPDATE main.source SET duplicates = duplicates + ?, "
                            "conflicts = conflicts + ? WHERE source_id = ?",
                            [(dup, conflict, source_id) for source_id, dup, conflict in changes])

    def _counts(self) -> None:
        """A shard's source counts the runs it stored, and their rows: those the merge
        left out move to its duplicates or conflicts, their rows are taken off."""
        self._rows_left_out()
        for verdict in ("duplicate", "conflict"):
            self.db.execute(
                f"UPDATE main.source SET runs = runs - n, {verdict}s = {verdict}s + n FROM "
                f"(SELECT source_id + ? AS id, count(*) AS n FROM temp.m_verdict "
                f"WHERE verdict = '{verdict}' GROUP BY source_id) WHERE source_id = id",
                (self.offset,))
            setattr(self.outcome, f"{verdict}s", self.db.execute(
                f"SELECT count(*) FROM temp.m_verdict WHERE verdict = '{verdict}'").fetchone()[0])

    def _rows_left_out(self) -> None:
        """rows_written and values_written of each source, less the rows of its runs the
        merge left out, plus the conflict rows one build would have written."""
        shard_tables = [name for (name,) in self.db.execute(
            "SELECT name FROM s.sqlite_master WHERE type = 'table'") if name not in SHARD_TABLES]
        for table in shard_tables:
            columns = [row[1] for row in self.db.execute(f'PRAGMA s.table_info("{table}")')]
            if "run_id" in columns:
                rows = f's."{table}" AS t JOIN temp.m_verdict AS v ON v.run_id = t.run_id'
            elif "sample_id" in columns:
                rows = (f's."{table}" AS t JOIN s.sample AS p ON p.sample_id = t.sample_id '
                        "JOIN temp.m_verdict AS v ON v.run_id = p.run_id")
            else:
                continue
            self.db.execute(
                f"UPDATE main.source SET rows_written = rows_written - n, values_written = "
                f"values_written - n * {len(columns)} FROM (SELECT v.source_id + ? AS id, "
                f"count(*) AS n FROM {rows} WHERE v.verdict <> 'new' GROUP BY v.source_id) "
                "WHERE source_id = id", (self.offset,))

    def _conflict_rows(self, changes: list[tuple[int, int]]) -> None:
        """A conflict row written (+1) or taken back (-1), in its source's counts."""
        width = len(self.db.execute("PRAGMA main.table_info(conflict)").fetchall())
        self.db.executemany("UPDATE main.source SET rows_written = rows_written + ?, "
                            "values_written = values_written + ? WHERE source_id = ?",
                            [(step, step * width, source_id) for source_id, step in changes])

    def _record(self, digest: str) -> None:
        self.db.execute(
            "INSERT INTO main.merged_shard (number, path, manifest_sha256, sources, runs, "
            "merged_at, tool_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.outcome.number, str(self.shard), digest, self.outcome.sources,
             self.outcome.runs, datetime.now(timezone.utc).isoformat(timespec="seconds"),
             __version__))

    def _drop_temp(self) -> None:
        for table in ("m_skip_source", "m_skip_container", "m_verdict", "m_drop_run",
                      "m_drop_sample"):
            self.db.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _own_key(info: list[tuple]) -> str | None:
    """A table's INTEGER PRIMARY KEY (its rowid) that no other row refers to, if any."""
    keys = [row for row in info if row[5]]
    if len(keys) == 1 and keys[0][2].upper() == "INTEGER" and keys[0][1] not in _REFERENCED:
        return str(keys[0][1])
    return None


def _is_key(info: tuple) -> bool:
    """A column holding one of the keys of RANGED_KEYS (run.document_id is MongoDB's
    _id, text: not the document table's key)."""
    return info[1] in _REFERENCED and info[2].upper() == "INTEGER"


def _row_keyed(columns: list[str]) -> bool:
    """Rows that belong to a run, a sample or a source: copied, never ignored."""
    return bool({"run_id", "sample_id", "source_id"} & set(columns))


def next_shard_number(db_path: str | Path, *, wait: float | None = None) -> int:
    """One above the highest shard number merged into the warehouse at ``db_path`` (made
    if new; 0 when none was): where ``build --dask`` numbers its shards from."""
    from .warehouse import Warehouse

    with Warehouse(db_path, wait=wait) as out:
        _not_a_shard(out)
        return int(out.db.execute("SELECT coalesce(max(number) + 1, 0) FROM merged_shard")
                   .fetchone()[0])


def merge_shards(db_path: str | Path, shards: list[Path], *, wait: float | None = None,
                 notify: Any = None) -> list[MergeOutcome]:
    """Merge ``shards``, in this order, into the warehouse at ``db_path`` (made if new).

    Each shard is checked against its manifest first and merged in one
    transaction: a shard refused or failing leaves the warehouse as it was.
    Ctrl-C (or SIGTERM, where the caller turns it into one) raises
    ``Interrupted``: the outcomes of the shards merged in ``summary``, the shard
    rolled back in ``loading``.
    """
    from .warehouse import Warehouse

    merges: list[ShardMerge] = []
    try:
        with Warehouse(db_path, wait=wait, notify=notify) as out:
            _not_a_shard(out)
            for shard in map(Path, shards):
                manifest, digest = check_shard(shard, out.version())
                merges.append(ShardMerge(out.db, shard, manifest["shard"]))
                with out.storing(str(shard)):
                    merges[-1].run(digest)
    except KeyboardInterrupt as stop:
        interrupted = stop if isinstance(stop, Interrupted) else Interrupted()
        interrupted.summary = [m.outcome for m in merges if m.committed]
        interrupted.loading = next((str(m.shard) for m in merges if not m.committed), None)
        raise interrupted from None
    return [m.outcome for m in merges]


def _not_a_shard(out: Any) -> None:
    """Refuse a shard as the warehouse merged into: it would no longer match its manifest
    (merged into itself, it reads as locked by another program)."""
    if out.shard is not None:
        raise WarehouseError(f"this is shard {out.shard}: merge shards into a warehouse that "
                             "is not one", str(out.path))
