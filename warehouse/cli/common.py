"""What every command shares: one line and an exit code per failure."""

from __future__ import annotations

import sys
import traceback
from typing import NoReturn

import click

from ..errors import WarehouseError
from ..store import Problem, WarehouseFileError

# Exit codes for scripts (the README's table): 0 success, 1 some input failed,
# 2 usage error; a warehouse file that cannot be used, one code per cause.
# Disk full and I/O errors are 1: the build stopped before some input was
# stored, and building again (once fixed) completes it.
EXIT_CODES = {
    Problem.BUSY: 3,
    Problem.NOT_SQLITE: 4,
    Problem.NOT_WAREHOUSE: 5,
    Problem.NEWER_SCHEMA: 6,
    Problem.READ_ONLY: 7,
    Problem.FOLDER: 8,
    Problem.NO_PARENT: 9,
    Problem.DISK_FULL: 1,
    Problem.IO_ERROR: 1,
}


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    click.echo(f"warehouse: {message}", err=True)
    sys.exit(code)


def exit_code(error: WarehouseError) -> int:
    return EXIT_CODES[error.problem] if isinstance(error, WarehouseFileError) else 1


def fail_on(error: WarehouseError, verbose: bool = False) -> NoReturn:
    """The error as one line (with its traceback first when asked), and its exit code."""
    if verbose:
        traceback.print_exception(error)
    fail(str(error), exit_code(error))
