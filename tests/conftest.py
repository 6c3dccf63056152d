"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse import build as build_module
from warehouse import worker as worker_module
from warehouse.build import build
from warehouse.demo import write_demo


def built_demo(folder: Path, **demo_options) -> Path:
    """A warehouse built from a demo experiment written under ``folder``."""
    write_demo(folder / "raw", **demo_options)
    db = folder / "w.sqlite"
    summary = build(db, [folder / "raw"])
    assert summary.ok, [str(f.error) for f in summary.failed]
    return db


@pytest.fixture(params=["writer reads", "worker stages", "worker passes on"])
def csv_reader(request, monkeypatch):
    """Export CSV files read by the writing process; or by a worker process that
    stages every chunk it can (warehouse/staging.py); or by one that passes every
    chunk on as it is. Every path must store the same rows."""
    if request.param != "writer reads":
        monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(build_module, "default_jobs", lambda: 2)
        idle = request.param == "worker passes on"
        monkeypatch.setattr(worker_module, "_writer_idle", lambda _: idle)
    return request.param
