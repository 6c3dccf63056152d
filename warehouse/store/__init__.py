"""The store: the only code that talks to SQLite (with the SQL in ``schemas/``).

It alone answers for the warehouse file: what it is (``identity``), one
build at a time (``lock``), network filesystems (``filesystem``,
``localcopy``), and the file's own failures as one error type (``errors``).
"""

from .errors import Problem, WarehouseFileError
from .identity import APPLICATION_ID, open_for_reading
from .warehouse import BUILD_PRAGMAS, SCHEMA_DIR, Warehouse, migrations, schema_version

__all__ = ["APPLICATION_ID", "BUILD_PRAGMAS", "SCHEMA_DIR", "Problem", "Warehouse",
           "WarehouseFileError", "migrations", "open_for_reading", "schema_version"]
