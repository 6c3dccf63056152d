"""The yardstick of issue 2: a crude load of the same files, one row per leaf value.

Every run document is read as a build reads it (same decompression, same JSON
reader), flattened into one ``(run, path, value)`` row per leaf value (path:
the keys and list indexes down to it, joined by dots), and inserted with one
``executemany`` per document into a table without keys or indexes, in one
transaction, in one process. It keeps nothing a
user can query by run, sample or locus, checks nothing and computes nothing:
what any loader of these documents must at least spend, in Python and
SQLite, to store every value once.

Run alone (the benchmark runs it in a child process, as it runs a build):
``python -m warehouse.bench.yardstick RAW DB``.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

from ..formats.mongoexport import read_json_lines
from ..sources import find_sources, open_source
from ..store import BUILD_PRAGMAS

CACHE_SIZE = next(p for p in BUILD_PRAGMAS if p.startswith("cache_size"))

_NATIVE = (int, float, str, type(None))


def leaf_rows(run: int, document: dict[str, Any]) -> list[tuple[int, str, Any]]:
    """``(run, path, value)`` for every leaf value of a document."""
    rows: list[tuple[int, str, Any]] = []
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        prefix, node = pending.pop()
        items = node.items() if type(node) is dict else enumerate(node)
        for key, value in items:
            path = f"{prefix}.{key}" if prefix else str(key)
            kind = type(value)
            if kind is dict or kind is list:
                pending.append((path, value))
            else:
                rows.append((run, path, value if isinstance(value, _NATIVE) else str(value)))
    return rows


def crude_load(raw: Path, db: Path) -> tuple[int, int]:
    """Load every document under ``raw`` into ``db``; (documents, rows) written."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(db, isolation_level=None)
    try:
        # The build's page cache, SQLite's default journal: one big transaction
        # goes faster with it than in WAL mode (503 against 389 runs/s on 20,000 runs).
        con.execute(f"PRAGMA {CACHE_SIZE}")
        con.execute("CREATE TABLE value (run INTEGER, path TEXT, value)")
        con.execute("BEGIN")
        documents = rows = 0
        for source in find_sources([raw]):
            with open_source(source.path) as opened:
                stream: Any = opened.stream  # decompressed: a binary stream
                for record in read_json_lines(stream, source.display):
                    documents += 1
                    values = leaf_rows(documents, record.document)
                    con.executemany("INSERT INTO value VALUES (?, ?, ?)", values)
                    rows += len(values)
        con.execute("COMMIT")
    finally:
        con.close()
    return documents, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m warehouse.bench.yardstick",
                                     description=__doc__)
    parser.add_argument("raw", type=Path, help="a folder of JSON-lines files")
    parser.add_argument("db", type=Path, help="the SQLite file to write (replaced)")
    args = parser.parse_args(argv)
    documents, rows = crude_load(args.raw, args.db)
    print(f"{documents} documents, {rows} rows")


if __name__ == "__main__":
    main()
