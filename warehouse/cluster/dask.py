"""Shard builds on a Dask cluster, merged here: ``warehouse build --dask ADDRESS``.

``ADDRESS`` is a scheduler (``tcp://host:8786``, e.g. of a dask-jobqueue
``SLURMCluster``) or ``local:N`` for a ``LocalCluster`` of N worker processes.
Each task builds one shard with the ordinary build, into a temporary folder
on its worker's local disk (SQLite never works on a network filesystem
here), and hands the shard and its manifest back; a task whose worker dies
is run again once (Dask's ``retries``). The shards are numbered on from the
highest the warehouse has merged, and merged in the order of their inputs.
Workers must read the inputs at the same paths as this process (a shared
filesystem, or the same machine).

Dask is an optional extra (``pip install ctwarehouse[dask]``): nothing else
imports this module.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import WarehouseError
from ..pipeline.build import build, input_sources
from ..sources import SourceFile
from ..store.merge import MergeOutcome, merge_shards, next_shard_number
from ..store.shards import manifest_path
from .plan import plan_shards

SHARDS_PER_WORKER = 2  # a few shards per worker even out unequal inputs


@dataclass
class ShardResult:
    """What a task hands back: the shard file and its manifest, and what its build said."""

    number: int
    database: bytes  # until written here (``write``): then empty
    manifest: bytes
    files: int
    runs: int
    failed: list[str]
    seconds: float
    size: int = 0  # bytes of the shard file
    path: Path | None = None  # where it is written here

    def write(self, folder: Path) -> None:
        """The shard and its manifest into ``folder``; their bytes are let go."""
        self.path = folder / f"shard-{self.number}.sqlite"
        self.path.write_bytes(self.database)
        manifest_path(self.path).write_bytes(self.manifest)
        self.database = self.manifest = b""


def build_shard(number: int, sources: list[SourceFile], max_document: int,
                salvage: bool) -> ShardResult:
    """One shard, built on the worker's local disk and read back (a Dask task)."""
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix=f"warehouse-shard-{number}-"))
    try:
        db = folder / f"shard-{number}.sqlite"
        # jobs=1: a worker process of Dask may not start processes of its own
        summary = build(db, [], sources=sources, shard=number, jobs=1,
                        max_document=max_document, salvage=salvage)
        database = db.read_bytes()
        return ShardResult(number, database, manifest_path(db).read_bytes(),
                           summary.count("loaded"), summary.total("runs"),
                           [str(f.error) for f in summary.failed],
                           time.perf_counter() - started, len(database))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def local_workers(address: str) -> int | None:
    """N of ``local:N`` (None for a scheduler's address); ValueError unless N is 1 or more
    (a LocalCluster of no workers waits for ever)."""
    if not address.startswith("local:"):
        return None
    count = address.removeprefix("local:")
    if not (count.isdecimal() and int(count) >= 1):
        raise ValueError(f"--dask {address}: expected local:N, N workers (1 or more)")
    return int(count)


def connect(address: str) -> Any:
    """A Dask client for ``address`` (``local:N`` starts a LocalCluster of N workers).
    Needs Dask installed: ``warehouse build --dask`` says so first (cli/cluster.py)."""
    from distributed import Client, LocalCluster

    workers = local_workers(address)
    if workers is not None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout="30s")
    except (OSError, TimeoutError) as error:
        raise WarehouseError(f"--dask {address}: no scheduler answers: {error}") from None


@dataclass
class ClusterBuild:
    """The outcome of a build on a cluster: its shards, then their merge."""

    shards: list[ShardResult]
    merged: list[MergeOutcome]
    startup_seconds: float
    seconds: float
    kept: Path | None = None  # where the shards were kept, when some failed
    failed: list[str] | None = None  # the shards whose task failed, why


def build_on_cluster(db_path: str | Path, paths: Sequence[str | Path], address: str, *,
                     node: str | None = None, max_document: int = 64 << 20,
                     salvage: bool = False, shards: int | None = None,
                     wait: float | None = None) -> ClusterBuild:
    """Build the inputs under ``paths`` as shards on the cluster, then merge them into
    ``db_path`` (waiting for another build of it ``wait`` seconds at most, None: as
    long as it takes). A shard whose task failed twice stops the merge: the shards built
    are kept (``kept``) for ``warehouse merge`` once it is built again; so are they
    when the merge fails (the error says where)."""
    started = time.perf_counter()
    sources = input_sources(list(paths), node)
    first = next_shard_number(db_path, wait=wait)
    client = connect(address)
    startup = time.perf_counter() - started
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        groups = plan_shards(sources, shards or workers * SHARDS_PER_WORKER)
        futures = {number: client.submit(build_shard, number, group, max_document, salvage,
                                         retries=1, pure=False, key=f"warehouse-shard-{number}")
                   for number, group in enumerate(groups, start=first)}
        folder = Path(tempfile.mkdtemp(prefix="warehouse-shards-"))
        results, failed = _gather(futures, folder)
    finally:
        client.close()
        cluster = getattr(client, "cluster", None)
        if cluster is not None:
            cluster.close()
    if failed:
        return ClusterBuild(results, [], startup, time.perf_counter() - started, folder, failed)
    try:
        merged = merge_shards(db_path, [r.path for r in results if r.path], wait=wait)
    except WarehouseError as error:
        error.message += (f"; the shards are kept in {folder}: `warehouse merge` them in "
                          "their numbers' order (what is merged already is not added twice)")
        raise
    shutil.rmtree(folder, ignore_errors=True)
    return ClusterBuild(results, merged, startup, time.perf_counter() - started)


def _gather(futures: dict[int, Any], folder: Path) -> tuple[list[ShardResult], list[str]]:
    """Each shard written to ``folder`` as it comes back, and let go by its worker and
    here (only its path is kept); in the shards' order, with the errors of those that
    failed."""
    from distributed import as_completed

    numbers = {future.key: number for number, future in futures.items()}
    results: list[ShardResult] = []
    failed: list[tuple[int, str]] = []
    for future in as_completed(list(futures.values())):
        number = numbers[future.key]
        try:
            result: ShardResult = future.result()
        except Exception as error:  # the task failed twice: its worker died, or a bug
            failed.append((number, f"shard {number}: {error!r}"))
        else:
            result.write(folder)
            results.append(result)
        future.release()
    return sorted(results, key=lambda r: r.number), [why for _, why in sorted(failed)]


def shard_lines(outcome: ClusterBuild) -> Iterator[str]:
    """A line per shard, for people."""
    for shard in outcome.shards:
        yield (f"shard {shard.number}: {shard.files} files, {shard.runs} runs in "
               f"{shard.seconds:.1f} s, {shard.size / 1e6:.1f} MB")
        yield from shard.failed
