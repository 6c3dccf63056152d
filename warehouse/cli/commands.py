"""The commands on a built warehouse (export, status, verify, browse, report) and ``demo``."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from ..errors import WarehouseError
from .common import fail, fail_on


@click.command()
@click.option("--db", "db_path", required=True, type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--format", "file_format", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True,
              help="csv: the four export files; parquet: every table and view, a folder each.")
@click.option("--basename", help="B in B-simulation-data.csv and its siblings (--format csv).")
def export(db_path: str, out_dir: str, file_format: str, basename: str | None) -> None:
    """Write the four export files (simulation, population, sampled, tasampled), or every
    table and view as Parquet for DuckDB, Polars and Spark (docs/parquet.md)."""
    if file_format == "parquet":
        if basename is not None:
            raise click.UsageError("--basename names CSV files: not with --format parquet")
        _export_parquet(db_path, out_dir)
        return
    if basename is None:
        raise click.UsageError("--format csv needs --basename")
    from ..access.export import export as export_files

    try:
        written = export_files(db_path, out_dir, basename)
    except FileNotFoundError as error:
        fail(str(error))
    except WarehouseError as error:
        fail_on(error)
    for path, count in written.items():
        click.echo(f"{path}: {count} rows")


def _export_parquet(db_path: str, out_dir: str) -> None:
    from ..access import parquet
    from ..errors import WarehouseError

    if not parquet.available():
        fail(parquet.MISSING, code=2)
    with tqdm(unit="row", unit_scale=True, disable=None, leave=False) as bar:
        def progress(rows: int, total: int) -> None:
            bar.total = total
            bar.update(rows)

        try:
            written = parquet.export_parquet(db_path, out_dir, progress=progress)
        except WarehouseError as error:
            fail(str(error))
    for name, count in written.items():
        click.echo(f"{Path(out_dir) / parquet.folder_name(name)}: {count} rows")


@click.command()
@click.option("--db", "db_path", required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(db_path: str, as_json: bool) -> None:
    """What is loaded, per node and format: files, runs, rows, duplicates, conflicts."""
    import json

    from ..access.status import render, status as status_report

    try:
        report = status_report(db_path)
    except FileNotFoundError as error:
        fail(str(error))
    except WarehouseError as error:
        fail_on(error)
    click.echo(json.dumps(report, indent=2) if as_json else render(report))


@click.command()
@click.option("--db", "db_path", required=True, type=click.Path())
def verify(db_path: str) -> None:
    """Check integrity and invariants; exit code 1 and one line per problem when any fails.

    SQLite's integrity and foreign key checks; aggregates in census and sample
    equal to what their per-locus rows give; parameters for every run read
    from a document; ledger run counts equal to the run table.
    """
    from ..access.verify import problems

    found = 0
    try:
        for problem in problems(db_path):
            click.echo(str(problem))
            found += 1
    except FileNotFoundError as error:
        fail(str(error))
    except WarehouseError as error:
        fail_on(error)
    if found:
        fail(f"{found} problems in {db_path}")
    click.echo(f"{db_path}: ok")


@click.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--runs", default=2000, show_default=True, type=click.IntRange(1))
@click.option("--nodes", default=8, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--eras", default="mixed", show_default=True,
              help="mixed, or one of 2.4, 3.x, 4.2-relaxed, 4.2-canonical.")
@click.option("--compression", default="mixed", show_default=True,
              help="mixed, or one of none, gzip, bzip2, xz, zstd.")
@click.option("--config-keys", type=click.IntRange(1), default=None,
              help="Labeled configurations per TA sample (large records: e.g. 5000).")
@click.option("--form", default="mongoexport", show_default=True,
              type=click.Choice(["mongoexport", "dump", "archive"]),
              help="Each node as mongoexport JSON, a mongodump folder (nodeK/dump/<db>/*.bson) "
                   "or a mongodump --archive file.")
@click.option("--timing", is_flag=True,
              help="Also write the simulation_timing collection (one document per run).")
@click.option("-q", "--quiet", is_flag=True)
def demo(out_dir: str, runs: int, nodes: int, seed: int, eras: str, compression: str,
         config_keys: int | None, form: str, timing: bool, quiet: bool) -> None:
    """Write a realistic demo experiment: run records split over nodes."""
    from ..demo import write_demo

    with tqdm(total=runs, unit="run", disable=None if not quiet else True, leave=False) as bar:
        try:
            files = write_demo(Path(out_dir), n_runs=runs, nodes=nodes, seed=seed, eras=eras,
                               compression=compression, config_keys=config_keys,
                               progress=bar.update, form=form, timing=timing)
        except ValueError as error:
            fail(str(error), code=2)
    if not quiet:
        click.echo(f"{out_dir}: {runs} runs in {len(files)} files", err=True)


@click.command()
@click.option("--db", "db_path", required=True, type=click.Path(exists=True))
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default serves this machine only.")
def browse(db_path: str, port: int, host: str) -> None:
    """Serve DB with Datasette: every table, view and column described, canned queries, facets."""
    from ..access.browse import database_name, serve
    from ..store import open_for_reading

    try:
        open_for_reading(db_path).close()
    except WarehouseError as error:
        fail_on(error)
    click.echo(f"Serving {db_path} on http://{host}:{port}/{database_name(db_path)} "
               "(Ctrl-C to stop)", err=True)
    serve(db_path, host=host, port=port)


@click.command()
@click.option("--db", "db_path", required=True, type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for index.html and its figures (PNG).")
def report(db_path: str, out_dir: str) -> None:
    """Write a self-contained HTML report: runs, parameter coverage, census statistics, problems."""
    from ..access.report import report as write_report

    try:
        index = write_report(db_path, out_dir)
    except WarehouseError as error:
        fail_on(error)
    click.echo(str(index))
