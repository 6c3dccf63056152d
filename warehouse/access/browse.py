"""Serve a warehouse with Datasette: tables, views and columns described in plain words.

The descriptions, facets and canned queries are in ``datasette/metadata.yml``
under the database key ``warehouse``; Datasette names a database after its
file, so the key is renamed to the file's name when serving. The warehouse is
opened read-only: browsing while a build runs is safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store import open_for_reading
from .datasette import METADATA

TEMPLATE_KEY = "warehouse"

# A warehouse of 100,000 runs needs more than Datasette's default 1 s for the
# canned queries over `parameter` and for counting the views.
SETTINGS = {
    "sql_time_limit_ms": 30_000,
    "facet_time_limit_ms": 2_000,
    "default_facet_size": 30,
}


def database_name(db_path: str | Path) -> str:
    """The name Datasette gives the file (and uses in its URLs): its stem."""
    return Path(db_path).stem


def metadata_for(db_path: str | Path) -> dict[str, Any]:
    """The metadata file, its database section keyed by ``db_path``'s name."""
    import yaml  # a dependency of Datasette

    metadata = yaml.safe_load(METADATA.read_text())
    databases = metadata["databases"]
    databases[database_name(db_path)] = databases.pop(TEMPLATE_KEY)
    return metadata


def make_datasette(db_path: str | Path):
    """A Datasette instance serving ``db_path`` read-only, with the warehouse metadata."""
    from datasette.app import Datasette
    from datasette.database import Database

    class ReadOnly(Database):
        # Datasette reads through mode=ro connections but opens a writing one
        # for plugins and writable queries: here that one is read-only too.
        def connect(self, write: bool = False):
            return super().connect(write=False)

    path = Path(db_path)
    open_for_reading(path).close()  # a warehouse, or one clear error
    datasette = Datasette([str(path)], metadata=metadata_for(path), settings=SETTINGS)
    name = database_name(path)
    datasette.remove_database(name)
    datasette.add_database(ReadOnly(datasette, path=str(path), is_mutable=True), name=name)
    return datasette


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    import uvicorn  # a dependency of Datasette

    app = make_datasette(db_path).app()
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on", workers=1)
