"""A warehouse (or a shard: any warehouse file) as Parquet datasets, one folder per table or view.

>>> export_parquet("data/warehouse.sqlite", "parquet/")
{'census': 2000, ..., 'tasampled_data': 16000}

``parquet/tasampled_data/model_class_label=allneutral/part-00000.parquet``,
read back with ``read_parquet('parquet/tasampled_data/**/*.parquet',
hive_partitioning=true)`` in DuckDB (docs/parquet.md: Polars, Spark).

* Every table and view the file holds, found in ``sqlite_master``.
* Types from the values (``columns.py``): 64-bit integers exact, NaN, the
  infinities and NULL kept apart in float columns, integer columns nullable
  without a float, ``parameter.value`` as a struct of its storage classes.
* ``run`` and the export views Hive-partitioned by ``model_class_label``
  (``plan.py`` says why).
* Streamed (``writer.py``): row groups of 100,000 to 1,000,000 rows, memory
  flat whatever the size of the warehouse.
* The words of ``access/datasette/metadata.yml`` in each file's metadata.
* One read transaction for the whole export: tables and views agree even
  while a build writes to the file.

pyarrow is an optional extra (``pip install 'ctwarehouse[parquet]'``); this
module imports it only inside :func:`export_parquet`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote

from ...errors import WarehouseError
from .plan import PARTITION_COLUMNS, Plan, make_plan, relations as all_relations

__all__ = ["MISSING", "PARTITION_COLUMNS", "available", "export_parquet", "folder_name"]

MISSING = "Parquet needs pyarrow, an optional extra: pip install 'ctwarehouse[parquet]'"


def available() -> bool:
    """True when pyarrow (with its Parquet module) can be imported."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def export_parquet(db_path: str | Path, out_dir: str | Path,
                   relations: Iterable[str] | None = None, *, compression: str = "zstd",
                   row_group_rows: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Write each table and view of ``db_path`` to ``out_dir/<name>/``; return rows per name.

    ``relations`` limits the export to those tables and views. A folder of
    an earlier export is replaced, each only once its new version is
    complete (written beside it as ``.<name>.partial``); a folder holding
    anything else is never touched. ``row_group_rows`` fixes the rows per row
    group (by default 100,000 to 1,000,000, by row size). ``progress(rows,
    total)`` is called as rows are written (``rows`` negative when a relation
    starts over), ``total`` being the rows of the whole export.
    Raises :class:`WarehouseError`.
    """
    if not available():
        raise WarehouseError(MISSING)
    db = Path(db_path)
    try:
        with closing(_open(db)) as con:
            con.execute("BEGIN")  # one snapshot for every table and view
            plans = _plans(con, relations)
            out = Path(out_dir)
            targets = {plan.name: out / folder_name(plan.name) for plan in plans}
            for target in targets.values():
                _check_replaceable(target)
            total = sum(plan.rows for plan in plans)
            report = (lambda rows: progress(rows, total)) if progress else (lambda rows: None)
            _mkdir(out)
            return {plan.name: _export_one(con, plan, targets[plan.name], compression,
                                           row_group_rows, report)
                    for plan in plans}
    except sqlite3.DatabaseError as error:
        raise WarehouseError(f"cannot be read as a warehouse: {error}", path=str(db)) from None
    except WarehouseError as error:
        raise error.located(path=str(db))


def folder_name(relation: str) -> str:
    """The folder of a relation: its name, percent-encoded where a path needs it."""
    name = quote(relation, safe="")
    return "%2E" + name[1:] if name.startswith(".") else name


def _open(db: Path) -> sqlite3.Connection:
    if not db.is_file():
        raise WarehouseError("no such file", path=str(db))
    return sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)


def _plans(con: sqlite3.Connection, wanted: Iterable[str] | None) -> list[Plan]:
    found = all_relations(con)
    if wanted is not None:
        names = set(wanted)
        unknown = names - {name for name, _ in found}
        if unknown:
            raise WarehouseError(f"no table or view {', '.join(sorted(unknown))}; the file has "
                                 f"{', '.join(name for name, _ in found)}")
        found = [(name, kind) for name, kind in found if name in names]
    return [make_plan(con, name, kind) for name, kind in found]


def _export_one(con: sqlite3.Connection, plan: Plan, target: Path, compression: str,
                row_group_rows: int | None, report: Callable[[int], None]) -> int:
    """One relation into ``.<name>.partial`` beside ``target``, then renamed to it."""
    from .arrays import Unfit
    from .writer import write_relation

    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted export
    done = 0

    def count(rows: int) -> None:
        nonlocal done
        done += rows
        report(rows)

    try:
        try:
            rows = write_relation(con, plan, partial, compression, row_group_rows, count)
        except Unfit:  # a value its declared type did not promise: scan, start over
            shutil.rmtree(partial)
            report(-done)
            plan = make_plan(con, plan.name, plan.type, scan_all=True)
            rows = write_relation(con, plan, partial, compression, row_group_rows, report)
        if rows != plan.rows:
            raise WarehouseError(f"{plan.type} {plan.name}: wrote {rows} rows of {plan.rows}")
        if target.exists():
            shutil.rmtree(target)
        os.replace(partial, target)
    except BaseException as error:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(error, (Unfit, sqlite3.Error)):
            raise WarehouseError(f"{plan.type} {plan.name}: {error}") from None
        if isinstance(error, OSError):
            raise WarehouseError(f"cannot write: {error}", path=str(target)) from None
        raise
    return rows


def _check_replaceable(target: Path) -> None:
    """Refuse a folder that is not an earlier export's before anything is written."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_dir() and not target.is_symlink() and _export_folder(target):
        return
    raise WarehouseError("exists and holds other than an export's Parquet files: "
                         "not replaced (choose another output folder)", path=str(target))


def _export_folder(folder: Path) -> bool:
    """Only ``*.parquet`` files, in folders of ``column=value`` names: what an export writes."""
    for root, folders, files in os.walk(folder):
        if any("=" not in name for name in folders):
            return False
        if any(not name.endswith(".parquet") for name in files):
            return False
        if any(Path(root, name).is_symlink() for name in folders + files):
            return False
    return True


def _mkdir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WarehouseError(f"cannot make the output folder: {error}", path=str(out)) from None
