"""`warehouse build` output: a progress bar on a terminal only; pipes and -q stay clean."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from warehouse.demo import write_demo

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"^.+\.sqlite: loaded \d+ files \(\d+ already loaded, \d+ failed.*\): \d+ runs")


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("progress") / "raw"
    write_demo(folder, n_runs=16, nodes=2, seed=3)
    return folder


def build_piped(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warehouse.cli", "build", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def build_on_terminal(*args: str, timeout: float = 300) -> str:
    """Run a build with stderr on a pseudo-terminal of 120 columns; return what it showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "warehouse.cli", "build", *args], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    shown, deadline = bytearray(), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace")


def test_piped_build_prints_the_summary_line_only(raw: Path, tmp_path: Path) -> None:
    done = build_piped("--db", str(tmp_path / "w.sqlite"), str(raw))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "\r" not in done.stderr and "\x1b" not in done.stderr and "%|" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and SUMMARY.match(lines[0]), done.stderr


def test_quiet_build_prints_nothing(raw: Path, tmp_path: Path) -> None:
    done = build_piped("-q", "--db", str(tmp_path / "w.sqlite"), str(raw))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_quiet_build_prints_errors_only(raw: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad" / "node9" / "broken.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b'{"simulation_run_id": "urn:uuid:x", "slatkin_exact": [0.1,\n')
    done = build_piped("-q", "--db", str(tmp_path / "w.sqlite"), str(raw), str(bad.parent.parent))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [f"{bad}:1: malformed JSON: Expecting value at column 60"]


def test_verbose_piped_build_prints_a_line_per_file(raw: Path, tmp_path: Path) -> None:
    done = build_piped("-v", "--db", str(tmp_path / "w.sqlite"), str(raw))
    files = [p for p in raw.rglob("*") if p.is_file()]
    lines = done.stderr.splitlines()
    assert done.returncode == 0 and "\r" not in done.stderr
    assert len(lines) == len(files) + 1 and SUMMARY.match(lines[-1])
    assert all(line.startswith("  loaded ") for line in lines[:-1])


def test_a_terminal_gets_the_bar_and_quiet_silences_it(raw: Path, tmp_path: Path) -> None:
    shown = build_on_terminal("--db", str(tmp_path / "a.sqlite"), str(raw))
    assert "\r" in shown and "B/s" in shown and re.search(r"\[1/\d+\] ", shown), shown
    final = shown.replace("\r\n", "\n").split("\r")[-1]  # the terminal's last overwrite
    assert SUMMARY.match(final) and final.count("\n") == 1, shown  # the bar is gone at the end
    assert build_on_terminal("-q", "--db", str(tmp_path / "b.sqlite"), str(raw)) == ""
