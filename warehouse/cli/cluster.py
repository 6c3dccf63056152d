"""``warehouse merge``, and ``warehouse build --dask``: builds beyond one machine."""

from __future__ import annotations

import signal
import sys
import traceback
from pathlib import Path

import click

from ..errors import WarehouseError
from ..pipeline.interrupt import Interrupted, stop_on_signals
from .common import fail, fail_on


@click.command()
@click.option("--db", "db_path", required=True, type=click.Path(),
              help="Warehouse to merge into (made if new, in a folder that exists).")
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="While another build holds DB, wait at most this long [default: as long "
                   "as it takes].")
@click.option("-q", "--quiet", is_flag=True, help="No summary; errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on errors.")
def merge(db_path: str, shards: tuple[str, ...], wait: float | None, quiet: bool,
          verbose: bool) -> None:
    """Merge SHARDS (built with `warehouse build --shard K`) into DB, in the order given.

    The result is what one build over the shards' inputs, in that order, would
    give: the same runs, first versions, duplicates and conflicts. Each shard is
    checked against its manifest first and merged whole or not at all; what DB
    already holds is not added again. Exit codes 130 and 143 when stopped by
    Ctrl-C or SIGTERM (the shard being merged rolls back; those before it stay).
    """
    from ..store.merge import merge_shards

    with stop_on_signals():
        try:
            outcomes = merge_shards(db_path, [Path(s) for s in shards], wait=wait,
                                    notify=lambda line: click.echo(line, err=True))
        except WarehouseError as error:
            fail_on(error, verbose)
        except Interrupted as stop:
            if verbose:
                traceback.print_exception(stop)
            fail(_interrupted(db_path, len(shards), stop), stop.exit_code)
    if not quiet:
        for o in outcomes:
            click.echo(f"{o.path}: shard {o.number}: {o.sources} files added "
                       f"({o.skipped_sources} already there), {o.runs} runs, "
                       f"{o.duplicates} duplicates, {o.conflicts} conflicts, {o.rows} rows",
                       err=True)


def _interrupted(db_path: str, shards: int, stop: Interrupted) -> str:
    """What a signal left: the shard being merged rolled back, those before it merged."""
    where = f" while merging {stop.loading}: nothing of it was merged" if stop.loading else ""
    return (f"{db_path}: interrupted by {signal.Signals(stop.signum).name}{where}; "
            f"{len(stop.summary or [])} of {shards} shards merged; merge again to merge the rest")


def build_on_dask(db_path: str, paths: list[str], address: str, *, node: str | None,
                  max_document: int, salvage: bool, wait: float | None, quiet: bool,
                  verbose: bool) -> None:
    """``warehouse build --dask``: shards on the cluster, merged into DB."""
    try:  # the one check that Dask is installed: before DB or the inputs are touched
        import distributed  # noqa: F401
    except ImportError:
        fail("--dask needs Dask: pip install 'ctwarehouse[dask]'", 2)
    from ..cluster.dask import build_on_cluster, local_workers, shard_lines

    try:
        local_workers(address)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    with stop_on_signals():
        try:
            outcome = build_on_cluster(db_path, paths, address, node=node,
                                       max_document=max_document << 20, salvage=salvage,
                                       wait=wait)
        except WarehouseError as error:
            fail_on(error, verbose)
        except Interrupted as stop:
            if verbose:
                traceback.print_exception(stop)
            fail(f"{db_path}: interrupted by {signal.Signals(stop.signum).name}; the shards "
                 "merged before stay, each whole or not at all; build again to load the rest",
                 stop.exit_code)
    if not quiet:
        for line in shard_lines(outcome):
            click.echo(line, err=True)
    if outcome.failed:
        for line in outcome.failed:
            click.echo(line, err=True)
        fail(f"{db_path}: nothing merged; the shards built are kept in {outcome.kept}: build "
             "the failed ones with `warehouse build --shard K`, then `warehouse merge`")
    runs = sum(o.runs for o in outcome.merged)
    if not quiet:
        click.echo(f"{db_path}: {len(outcome.shards)} shards built and merged: {runs} runs in "
                   f"{outcome.seconds:.1f} s (Dask started in {outcome.startup_seconds:.1f} s)",
                   err=True)
    if any(shard.failed for shard in outcome.shards):
        sys.exit(1)
