"""Shared test helpers."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

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
# -- the machine: mounts and file attributes, for the warehouse-file tests ---------

def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


@pytest.fixture
def tmpfs(tmp_path: Path):
    """``mount(name, size)``: a small tmpfs under tmp_path (root only: skipped otherwise),
    unmounted at the end."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        point = tmp_path / name
        point.mkdir()
        done = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point))
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        if _run("umount", str(point)).returncode:
            _run("umount", "-l", str(point))


def remount(point: Path, options: str) -> None:
    done = _run("mount", "-o", f"remount,{options}", str(point))
    assert done.returncode == 0, done.stderr


@pytest.fixture
def immutable():
    """``make(path)``: chattr +i (root and a filesystem that has it: skipped otherwise),
    undone at the end so the folder can be removed."""
    made: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0 or shutil.which("chattr") is None:
            pytest.skip("chattr +i needs root and chattr")
        done = _run("chattr", "+i", str(path))
        if done.returncode:
            pytest.skip(f"no immutable files here: {done.stderr.strip()}")
        made.append(path)

    yield make
    for path in made:
        _run("chattr", "-i", str(path))


def fingerprint(path: Path) -> tuple[bytes, int]:
    """The file's bytes and modification time: what 'untouched' means."""
    return path.read_bytes(), path.stat().st_mtime_ns
