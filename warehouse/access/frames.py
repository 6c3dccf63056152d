"""The warehouse as pandas DataFrames, with the dtypes the values deserve.

``pd.read_sql`` gives an object column wherever a NaN is stored as the text
``'NaN'`` and a float column wherever an integer column has a NULL, which
silently rounds 64-bit seeds. Here each column gets its dtype from the values
SQLite holds:

* integers only: ``int64``, exact; with NULLs, pandas' nullable ``Int64``;
* numbers and ``'NaN'`` texts: ``float64``, ``'NaN'`` -> nan, infinities kept
  (a NULL is nan too: in a float column missing and NaN look alike);
* labels (model class, node, class names, formats): ``category``;
* other text: pandas' string dtype; anything else mixed stays ``object``
  (``parameter.value``: exact Python ints, floats and texts side by side).

pandas is imported here only: ``import warehouse`` and ``warehouse build``
never load it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from ..store import open_for_reading

NAN_TEXT = "NaN"

# Text columns holding a handful of distinct labels.
CATEGORICAL = frozenset({
    "model_class_label", "node", "network_class", "network_class:1", "pop_class",
    "trait_class", "innovation_class", "interaction_rule_classes", "script_filename",
    "format", "compression", "database_name", "collection", "experiment_name",
    "rule_class", "name", "field", "type",
})

# Tables keyed by run_id, sample_id or simulation_run_id, in reading order; and
# sample_configuration, the view that gives sample_config_count's rows with
# their label's text (the table of that name before schema 10).
RUN_TABLES = ("parameter", "run_extra", "census", "census_locus", "census_trait",
              "census_configuration")
SAMPLE_TABLES = ("sample_locus", "sample_trait", "sample_config_count", "sample_configuration")
# A run's labels, found through its samples' rows: configuration_label has no
# index on run_id (it would cost a tenth of the table's size).
_BY_SAMPLE = "sample_id IN (SELECT sample_id FROM sample WHERE run_id = ?)"
_RUN_LABELS = f"label_id IN (SELECT label_id FROM sample_config_count WHERE {_BY_SAMPLE})"


def connect(db: str | Path) -> sqlite3.Connection:
    """Open a warehouse read-only (FileNotFoundError, or WarehouseFileError when it is none)."""
    return open_for_reading(db)


def read_view(db: str | Path, name: str) -> pd.DataFrame:
    """A view (or table) of the warehouse as a DataFrame with proper dtypes.

    >>> ta = read_view("data/warehouse.sqlite", "tasampled_data")
    """
    with closing(connect(db)) as con:
        if name not in _relations(con):
            known = ", ".join(sorted(_relations(con)))
            raise ValueError(f"no view or table {name!r}; the warehouse has: {known}")
        return query(con, f'SELECT * FROM "{name}"', declared=_declared_types(con, name))


def run_record(db: str | Path, simulation_run_id: str) -> dict[str, pd.DataFrame]:
    """Everything the warehouse holds on one run: a DataFrame per table.

    Keys: ``run``, ``source`` (the file it came from), ``run_parameters``
    (one row, one column per parameter), then every table with rows of the
    run (``parameter``, ``census``, ``sample``, ``sample_locus``, …,
    ``sample_config_count`` with the run's ``configuration_label`` rows,
    ``simulation_timing``), and ``sample_configuration`` (the configuration
    rows with their label as text); tables the warehouse does not have are
    left out.
    Raises KeyError when the run is not in the warehouse.
    """
    with closing(connect(db)) as con:
        run = _table_rows(con, "run", "simulation_run_id = ?", (simulation_run_id,))
        if run.empty:
            raise KeyError(f"no run {simulation_run_id!r} in {db}")
        run_id, source_id = int(run["run_id"].iloc[0]), int(run["source_id"].iloc[0])
        record = {"run": run,
                  "source": _table_rows(con, "source", "source_id = ?", (source_id,)),
                  "run_parameters": _table_rows(con, "run_parameters", "run_id = ?", (run_id,))}
        record.update(_run_tables(con, run_id, simulation_run_id))
        return record


def query(con: sqlite3.Connection, sql: str, params: Sequence[Any] = (),
          declared: dict[str, str] | None = None) -> pd.DataFrame:
    """Run ``sql`` and type each column of the result from its values."""
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    values = list(zip(*rows)) if rows else [()] * len(names)
    declared = declared or {}
    columns = {name: typed_column(name, column, declared.get(name, ""))
               for name, column in zip(names, values)}
    return pd.DataFrame(columns, columns=names, index=pd.RangeIndex(len(rows)))


def typed_column(name: str, values: Sequence[Any], declared: str = "") -> Any:
    """One column's values (as SQLite returned them) as an array of the right dtype."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    kind = infer_dtype(array, skipna=True)
    if kind in ("string", "mixed", "mixed-integer") and _only_nan_texts(array):
        array[array == NAN_TEXT] = np.nan
        kind = "floating"
    if kind == "empty":
        return _all_missing(array, declared)
    if kind == "integer":
        return pd.array(array, dtype="Int64") if pd.isna(array).any() else array.astype(np.int64)
    if kind in ("floating", "mixed-integer-float"):
        return array.astype(np.float64)  # None -> nan
    if kind == "string":
        return pd.Categorical(array) if name in CATEGORICAL else pd.array(array, dtype="string")
    return array


def _only_nan_texts(array: np.ndarray) -> bool:
    """True when every text of a column is 'NaN' (the stored form of a float NaN)."""
    texts = {v for v in array if isinstance(v, str)}
    return texts == {NAN_TEXT}


def _all_missing(array: np.ndarray, declared: str) -> Any:
    declared = declared.upper()
    if "INT" in declared:
        return pd.array([None] * len(array), dtype="Int64")
    if "REAL" in declared or "FLOA" in declared or "DOUB" in declared:
        return np.full(len(array), np.nan)
    return array


def _relations(con: sqlite3.Connection) -> set[str]:
    rows = con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    return {name for (name,) in rows}


def _declared_types(con: sqlite3.Connection, name: str) -> dict[str, str]:
    return {row[1]: row[2] or "" for row in con.execute(f'PRAGMA table_info("{name}")')}


def _table_rows(con: sqlite3.Connection, table: str, where: str, params: Sequence[Any]) -> pd.DataFrame:
    return query(con, f'SELECT * FROM "{table}" WHERE {where}', params,
                 declared=_declared_types(con, table))


def _run_tables(con: sqlite3.Connection, run_id: int, simulation_run_id: str) -> dict[str, pd.DataFrame]:
    present = _relations(con)
    wanted: list[tuple[str, str, Any]] = [(t, "run_id = ?", run_id) for t in RUN_TABLES]
    wanted += [("sample", "run_id = ?", run_id)]
    wanted += [(t, _BY_SAMPLE, run_id) for t in SAMPLE_TABLES]
    wanted += [("configuration_label", _RUN_LABELS, run_id)]
    wanted += [("simulation_timing", "simulation_run_id = ?", simulation_run_id)]
    return {table: _table_rows(con, table, where, (key,))
            for table, where, key in wanted if table in present}
