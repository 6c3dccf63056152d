"""Shared test helpers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from warehouse.pipeline.build import build
from warehouse.demo import write_demo


def built_demo(folder: Path, **demo_options) -> Path:
    """A warehouse built from a demo experiment written under ``folder``."""
    write_demo(folder / "raw", **demo_options)
    db = folder / "w.sqlite"
    summary = build(db, [folder / "raw"])
    assert summary.ok, [str(f.error) for f in summary.failed]
    return db


def rows(db: Path, sql: str, *params) -> list[tuple]:
    """The rows of one query on a warehouse file."""
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
