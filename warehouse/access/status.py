"""``warehouse status``: what is loaded, per node and format."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..store import open_for_reading


def _tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                      "AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [name for (name,) in rows]


def status(db_path: str | Path) -> dict[str, Any]:
    """Files, runs and rows per node and format, rows per table, conflicts."""
    path = Path(db_path)
    db = open_for_reading(path)
    db.row_factory = sqlite3.Row
    try:
        by_source = db.execute("""
            SELECT coalesce(node, '') AS node, format, count(*) AS files, sum(size) AS bytes,
                   sum(documents) AS documents, sum(runs) AS runs, sum(duplicates) AS duplicates,
                   sum(rows_written) AS rows, max(loaded_at) AS last_loaded
            FROM source GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
        failing = db.execute("""
            SELECT path, error, failed_at FROM failure AS f
            WHERE NOT EXISTS (SELECT 1 FROM source AS s WHERE s.path = f.path
                                                          AND s.loaded_at >= f.failed_at)
            ORDER BY path""").fetchall()
        tables = _tables(db)
        containers = db.execute("""
            SELECT c.path, c.kind, c.compression, c.node, c.complete, c.error,
                   count(m.member) AS members,
                   sum(m.status IN ('loaded', 'salvaged')) AS loaded,
                   sum(m.status = 'known') AS known,
                   sum(m.status IN ('failed', 'unsafe')) AS problems
            FROM container AS c LEFT JOIN container_member AS m USING (container_id)
            GROUP BY c.container_id ORDER BY c.path""").fetchall() if "container" in tables else []
        counts = {name: db.execute(f"SELECT count(*) FROM \"{name}\"").fetchone()[0]
                  for name in tables}
        return {
            "warehouse": str(path),
            "schema_version": db.execute("PRAGMA user_version").fetchone()[0],
            "files": sum(row["files"] for row in by_source),
            "runs": counts.get("run", 0),
            "duplicates": sum(row["duplicates"] or 0 for row in by_source),
            "conflicts": counts.get("conflict", 0),
            "last_build": max((row["last_loaded"] for row in by_source), default=None),
            "sources": [dict(row) for row in by_source],
            # tar and zip files: their members are sources of their own ("container!member")
            "containers": [dict(row) for row in containers],
            # files whose last attempt failed and that have not loaded since
            "failing_files": [dict(row) for row in failing],
            "rows_per_table": counts,
        }
    finally:
        db.close()


def render(report: dict[str, Any]) -> str:
    """The status report as a person reads it."""
    lines = [
        f"{report['warehouse']} (schema {report['schema_version']}): {report['files']} files, "
        f"{report['runs']} runs, {report['duplicates']} duplicates skipped, "
        f"{report['conflicts']} conflicts; last build {report['last_build'] or 'never'}",
        "",
        f"{'node':<18} {'format':<32} {'files':>6} {'MB':>9} {'runs':>8} {'dups':>6} {'rows':>11}",
    ]
    for row in report["sources"]:
        lines.append(f"{row['node']:<18} {row['format']:<32} {row['files']:>6} "
                     f"{row['bytes'] / 1e6:>9.1f} {row['runs']:>8} {row['duplicates']:>6} "
                     f"{row['rows']:>11}")
    if report.get("containers"):
        lines += ["", f"{len(report['containers'])} containers (members holding data are "
                      "sources above, named container!member):"]
        for row in report["containers"]:
            state = "complete" if row["complete"] else "incomplete: " + (row["error"] or "")
            lines.append(f"  {row['path']} ({row['kind']}, {row['compression']}, node "
                         f"{row['node']}): {row['members']} members, {row['loaded'] or 0} loaded, "
                         f"{row['known'] or 0} already loaded elsewhere, "
                         f"{row['problems'] or 0} failed or unsafe; {state}")
    if report["failing_files"]:
        lines += ["", f"{len(report['failing_files'])} files failed to load and have not loaded since:"]
        lines += [f"  {row['error']}" for row in report["failing_files"]]
    lines += ["", "rows per table:"]
    lines += [f"  {name:<24} {count:>12}" for name, count in report["rows_per_table"].items()]
    return "\n".join(lines)
