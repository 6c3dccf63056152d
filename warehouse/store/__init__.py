"""The store: the only code that talks to SQLite (with the SQL in ``schemas/``)."""

from .warehouse import BUILD_PRAGMAS, SCHEMA_DIR, Warehouse, migrations, schema_version

__all__ = ["BUILD_PRAGMAS", "SCHEMA_DIR", "Warehouse", "migrations", "schema_version"]
