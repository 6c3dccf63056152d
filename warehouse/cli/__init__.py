"""The ``warehouse`` command: a thin layer over the library.

Output is for people (stderr for progress and errors, stdout for results);
exit codes are for scripts: 0 success, 1 some input failed, 2 usage error,
3 to 9 the warehouse file cannot be used (``common.EXIT_CODES``), 130 and
143 a build stopped by Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import click

from . import commands
from .build import build
from .cluster import merge


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ctwarehouse")
def main() -> None:
    """Stream simulation outputs into one normalized SQLite warehouse."""


main.add_command(build)
main.add_command(merge)
for command in (commands.export, commands.status, commands.verify, commands.demo,
                commands.browse, commands.report):
    main.add_command(command)
