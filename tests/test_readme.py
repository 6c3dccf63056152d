"""The README tells the truth: its queries run, its commands exist."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import built_demo
from warehouse.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    return built_demo(tmp_path_factory.mktemp("demo"), n_runs=16, nodes=8, seed=11)


def sql_statements() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", README, re.S)
    return [s.strip() for block in blocks for s in block.split(";") if s.strip()]


def test_readme_has_queries() -> None:
    assert len(sql_statements()) >= 5


@pytest.mark.parametrize("statement", sql_statements())
def test_every_readme_query_runs_and_returns_rows(demo_db: Path, statement: str) -> None:
    rows = sqlite3.connect(demo_db).execute(statement).fetchall()
    assert rows, statement


def test_every_command_is_documented() -> None:
    commands = sorted(main.commands)
    assert commands
    for name in commands:
        assert f"warehouse {name}" in README, name
        assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0


def test_the_two_setup_commands_come_first() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.S)[1]
    assert first_block.splitlines()[0].startswith("make warehouse")
    assert first_block.splitlines()[1].startswith("make test")
