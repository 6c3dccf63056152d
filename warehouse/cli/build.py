"""``warehouse build``: load files into a warehouse, with a progress bar and a summary."""

from __future__ import annotations

import signal
import sys
import traceback
from collections import Counter
from typing import NoReturn

import click
from tqdm import tqdm

from ..errors import WarehouseError
from ..pipeline.build import BuildSummary, Interrupted, build as build_warehouse, input_sources
from ..pipeline.interrupt import stop_on_signals
from ..sources import SourceFile
from .cluster import build_on_dask
from .common import fail, fail_on


class TqdmProgress:
    """One bar over the bytes of all files, named after the file being read."""

    def __init__(self, sources: list[SourceFile], enabled: bool) -> None:
        # disable=None: no bar when stderr is not a terminal (pipes, CI logs).
        total = sum(source.size() for source in sources)
        self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                        disable=None if enabled else True, leave=False, dynamic_ncols=True)
        self.total_files = len(sources)
        self.started = 0
        self.expected = 0  # bytes the files started so far should have reported

    def file_started(self, source: SourceFile, size: int) -> None:
        self.started += 1
        self.bar.set_description(f"[{self.started}/{self.total_files}] {source.path.name}")
        self.expected += size
        self.bar.refresh()

    def advance(self, nbytes: int) -> None:
        self.bar.update(nbytes)

    def file_done(self) -> None:
        # A file skipped, failed or read only in part still counts as done.
        if self.bar.n < self.expected:
            self.bar.update(self.expected - self.bar.n)

    def write(self, line: str) -> None:
        """A line for people, above the bar."""
        tqdm.write(line, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


@click.command()
@click.option("--db", "db_path", required=True, type=click.Path(),
              help="Warehouse file to create or add to (in a folder that exists).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--node", help="Node name for every file (default: the first folder below each PATH).")
@click.option("--max-document", default=64, show_default=True, type=click.IntRange(1),
              help="Largest single document or line accepted, in MiB.")
@click.option("--replace", is_flag=True,
              help="Load a file whose content changed since it was loaded from the same path, "
                   "removing the rows of its old content.")
@click.option("--salvage", is_flag=True,
              help="Keep the intact records of a damaged file (default: load nothing of it); "
                   "what is left out is listed and recorded in the skipped table.")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None,
              help="Processes: 2 reads and maps in a worker while this one writes "
                   "[default: 2 on a machine with 2 cores or more].")
@click.option("--wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="While another build holds DB, wait at most this long, then exit with "
                   "code 3 [default: as long as it takes].")
@click.option("--shard", type=click.IntRange(0), default=None, metavar="K",
              help="Build shard K into a new DB, to be merged later (warehouse merge).")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Build shards on a Dask cluster (tcp://host:8786, or local:N for N "
                   "local workers) and merge them into DB. Needs ctwarehouse[dask].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary; errors only.")
@click.option("-v", "--verbose", is_flag=True, help="A line per file; tracebacks on errors.")
def build(db_path: str, paths: tuple[str, ...], node: str | None, max_document: int,
          replace: bool, salvage: bool, jobs: int | None, wait: float | None,
          shard: int | None, dask_address: str | None, quiet: bool, verbose: bool) -> None:
    """Load every file under PATHS (files or folders, any compression) into DB.

    Tar and zip files are read as folders, without unpacking: each member is
    loaded like a file (named container!member). Files already loaded (same
    size and sha256) are skipped. A damaged file loads nothing and is
    reported; the others still load. A run already stored is counted as a
    duplicate when its content is the same, and kept in the `conflict` table
    when it differs. Exit code 1 when any file failed or changed since it was
    loaded (see --replace), had parts left out (see --salvage), or was a
    container member never read (a link, a device, a path leaving the
    container). Another build of DB is waited for (see --wait). Exit codes 3
    to 9 when DB cannot be used; 130 and 143 when stopped by Ctrl-C or SIGTERM
    (the file being loaded rolls back; the files before it stay).
    """
    if dask_address is not None:
        if shard is not None:
            raise click.UsageError("--dask builds shards itself: leave out --shard")
        if replace:  # a merge refuses a shard holding a changed file
            raise click.UsageError("--dask cannot --replace: load changed files with "
                                   "`warehouse build --replace` without --dask")
        build_on_dask(db_path, list(paths), dask_address, node=node, max_document=max_document,
                      salvage=salvage, wait=wait, quiet=quiet, verbose=verbose)
        return
    progress = None
    with stop_on_signals():
        try:
            sources = input_sources(list(paths), node)
            progress = TqdmProgress(sources, enabled=not quiet)
            summary = build_warehouse(db_path, list(paths), node=node, progress=progress,
                                      max_document=max_document << 20, replace=replace,
                                      jobs=jobs, salvage=salvage, wait=wait,
                                      notify=progress.write, shard=shard)
        except (WarehouseError, Interrupted) as error:
            if progress is not None:
                progress.close()
            _fail(db_path, error, verbose)
    progress.close()
    # damage inside a member is the member's failure and its container's: said once
    for message in dict.fromkeys(str(outcome.error) for outcome in summary.failed):
        click.echo(message, err=True)
    for outcome in summary.salvaged:
        for damage in outcome.errors:
            click.echo(f"{damage} (left out, the rest of the file loaded)", err=True)
    for outcome in summary.left_out:
        click.echo(f"{outcome.path}: {outcome.note}", err=True)
    for path, warning in summary.warnings:
        click.echo(f"{path}: {warning}", err=True)
    if not quiet:
        _print_summary(summary, db_path, verbose)
    if not summary.ok:
        sys.exit(1)


def _fail(db_path: str, error: WarehouseError | Interrupted, verbose: bool) -> NoReturn:
    if isinstance(error, WarehouseError):
        fail_on(error, verbose)
    if verbose:
        traceback.print_exception(error)
    fail(_interrupted(db_path, error), error.exit_code)


def _interrupted(db_path: str, stop: Interrupted) -> str:
    """What a signal left: the file being loaded rolled back, the files before it whole."""
    summary: BuildSummary = stop.summary or BuildSummary()
    where = f" while loading {stop.loading}: nothing of it was stored" if stop.loading else ""
    loaded = summary.count("loaded") + summary.count("salvaged")
    complete = (f"{loaded} files loaded in full ({summary.total('runs')} runs)" if loaded
                else "no file was loaded")
    already = summary.count("skipped")
    return (f"{db_path}: interrupted by {signal.Signals(stop.signum).name}{where}; {complete}"
            f"{f', {already} already there' if already else ''}; build again to load the rest")


def _print_summary(summary: BuildSummary, db_path: str, verbose: bool) -> None:
    if verbose:
        for f in summary.files:
            detail = f"{f.runs} runs, {f.rows} rows" if f.status == "loaded" else f.note
            click.echo(f"  {f.status:<9} {f.path} ({f.format or '-'}, {f.compression or '-'}) {detail}",
                       err=True)
    runs, rows, values = summary.total("runs"), summary.total("rows"), summary.total("values")
    seconds = max(summary.seconds, 1e-9)
    empty = summary.count("empty")
    click.echo(
        f"{db_path}: loaded {summary.count('loaded')} files "
        f"({summary.count('skipped')} already loaded, {len(summary.failed)} failed"
        f"{f', {empty} empty collections' if empty else ''}): "
        f"{runs} runs, {summary.total('duplicates')} duplicates skipped, {rows} rows, "
        f"{values} values in {summary.seconds:.1f} s "
        f"({runs / seconds:.0f} runs/s, {values / seconds / 1e6:.2f} M values/s"
        f"{', 2 processes' if summary.parallel else ''})", err=True)
    conflicts, disagreements = summary.total("conflicts"), summary.total("disagreements")
    if conflicts:
        click.echo(f"{db_path}: {conflicts} runs read again with other content: the first "
                   "version stays in the tables and views, the others are in the conflict table",
                   err=True)
    if disagreements:
        click.echo(f"{db_path}: {disagreements} CSV values differ from what another source "
                   "stored: see the disagreement table", err=True)
    unknown = _unknown_collections(summary)
    if unknown:
        click.echo(f"{db_path}: {unknown}", err=True)


def _unknown_collections(summary: BuildSummary, shown: int = 8) -> str:
    """Collections the profile does not know: loaded whole into `document`, never dropped."""
    counts: Counter = Counter()
    for f in summary.files:
        if f.status == "loaded":
            counts.update(f.unknown_collections)
    if not counts:
        return ""
    names = [f"{'(unnamed)' if name == '?' else name} {n}" for name, n in counts.most_common(shown)]
    if len(counts) > shown:
        names.append(f"and {len(counts) - shown} more")
    return (f"{counts.total()} documents of collections the profile does not know, "
            f"kept whole in the document table: {', '.join(names)}")
