"""What a table or view and its columns mean, for the metadata of its Parquet files.

The words are Datasette's (``access/datasette/metadata.yml``), written once
for every table, view and column of the warehouse; a relation or column it
does not describe (a table another version added) simply has no description.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..browse import TEMPLATE_KEY
from ..datasette import METADATA


@dataclass(frozen=True)
class Description:
    text: str = ""
    columns: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _described() -> dict[str, Description]:
    import yaml  # a dependency of Datasette

    tables = yaml.safe_load(METADATA.read_text())["databases"][TEMPLATE_KEY]["tables"]
    return {name: Description(" ".join(str(table.get("description", "")).split()),
                              {str(k): str(v) for k, v in (table.get("columns") or {}).items()})
            for name, table in tables.items()}


def describe(relation: str) -> Description:
    return _described().get(relation, Description())


def schema_metadata(relation: str, kind: str, columns: list[tuple[str, str, str]],
                    partition: str | None) -> dict[bytes, bytes]:
    """Key-value metadata of every file of a relation.

    ``description``: the relation's, in words; ``ctwarehouse``: JSON with the
    relation, whether it is a table or a view, its Hive partition column and
    every column (partition column included, though the files leave it to
    their folder names) with its SQLite declared type, its kind (see
    ``columns.py``) and its description.
    """
    described = describe(relation)
    about: dict[str, Any] = {
        "relation": relation, "type": kind,
        "hive_partitioning": [partition] if partition else [],
        "columns": [{"name": name, "sqlite_type": declared, "kind": column_kind,
                     "description": described.columns.get(name, "")}
                    for name, declared, column_kind in columns],
    }
    return {b"description": described.text.encode(),
            b"ctwarehouse": json.dumps(about, ensure_ascii=False).encode()}


def field_metadata(relation: str, column: str) -> dict[bytes, bytes] | None:
    """``{b"description": …}`` for a described column, kept by pyarrow with the field."""
    text = describe(relation).columns.get(column)
    return {b"description": text.encode()} if text else None
