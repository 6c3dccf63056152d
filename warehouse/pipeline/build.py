"""The build pipeline: sources -> formats -> profile -> store.

Each file is loaded in its own transaction: a damaged file contributes
nothing, the files beside it still load, and what the warehouse already held
is never touched. A file whose content (size and sha256) is already in the
ledger is skipped, so building again over the same inputs loads nothing; a
file whose content changed under the same path is reported, and replaced
only when asked.

A container (tar or zip) is read member by member, each member a source of
its own (``containers.py``).

Reading and mapping (``reading.read_file``) can run in a worker process while
this process writes: SQLite has one writer, and on two cores the writer is the
bottleneck, so one worker is all that helps.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import WarehouseError
from ..formats.dumpdir import is_bson_name, is_companion
from ..formats.mongoexport import DEFAULT_MAX_DOCUMENT
from ..sources import SourceFile, file_identity, find_sources
from ..store import Warehouse, WarehouseFileError
from ..store.shards import manifest_path
from .containers import is_container, load_container
from .datadirs import is_data_directory, load_data_directory
from .events import FileJob, FileOutcome, NeedsWriter
from .interrupt import Interrupted
from .loading import looks_written_directly
from .reading import read_file
from .records import profile
from .writing import FileWriter, NullProgress, Progress, through_worker

__all__ = ["BuildSummary", "FileOutcome", "Interrupted", "build", "load_file"]

# Below this much input a worker process costs more than it saves.
PARALLEL_MIN_BYTES = 4 << 20


@dataclass
class BuildSummary:
    files: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    parallel: bool = False

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def warnings(self) -> list[tuple[str, str]]:
        """(path, what was said): nothing was left out, but the user should know."""
        return [(f.path, warning) for f in self.files for warning in f.warnings]

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def left_out(self) -> list[FileOutcome]:
        """Left out, with a reason in their note: a file whose content changed, a
        container's unsafe member, a container not read to its end."""
        return [f for f in self.files if f.status in ("changed", "unsafe", "incomplete")]

    @property
    def salvaged(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "salvaged"]

    @property
    def ok(self) -> bool:
        """No damaged input (failed or salvaged) and nothing left out."""
        return not self.failed and not self.left_out and not self.salvaged


def default_jobs() -> int:
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def build(db_path: str | Path, paths: list[str | Path], *, node: str | None = None,
          progress: Progress | None = None, max_document: int = DEFAULT_MAX_DOCUMENT,
          replace: bool = False, jobs: int | None = None, salvage: bool = False,
          wait: float | None = None, notify: Callable[[str], None] | None = None,
          shard: int | None = None, sources: list[SourceFile] | None = None) -> BuildSummary:
    """Load every file under ``paths`` into the warehouse at ``db_path``.

    ``replace``: a file whose content changed since it was loaded from the same
    path replaces its old rows (otherwise it is reported and left out).
    ``jobs``: processes to use (default: 2 where there are 2 cores).
    ``salvage``: keep the intact records of a damaged file (default: load
    nothing of it); the parts left out go to the ``skipped`` table.
    ``wait``: seconds to wait for another build of the same warehouse (None:
    as long as it takes); ``notify`` hears one line about that, and about a
    network filesystem.
    ``shard``: build shard K (a new file; store.shards), its manifest written
    beside it once the build is complete. ``sources``: the inputs, as found
    (nodes named) by ``input_sources``, instead of ``paths``.

    Raises ``WarehouseFileError`` when the warehouse file cannot be used or
    fails (the file being loaded rolls back), and ``Interrupted`` on Ctrl-C
    (or SIGTERM, where the caller turns it into one), with what was complete.
    """
    started = time.perf_counter()
    progress = progress or NullProgress()
    summary = BuildSummary()
    sources = input_sources(paths, node) if sources is None else sources
    if shard is not None:
        manifest_path(Path(db_path)).unlink(missing_ok=True)  # written again when complete
    jobs = default_jobs() if jobs is None else jobs
    big = sum(s.size() for s in sources) >= PARALLEL_MIN_BYTES
    loading: str | None = None
    first_free = 0
    try:
        with Warehouse(db_path, wait=wait, notify=notify, shard=shard) as warehouse:
            # the worker reads the file SQLite works on (a local copy on a network filesystem)
            workers = _Workers(warehouse.file) if jobs > 1 and big else None
            try:
                for index, source in enumerate(sources):
                    loading, first_free = source.display, warehouse.next_source_id()
                    summary.files += _load_source(warehouse, source, progress, max_document,
                                                  replace, workers, salvage,
                                                  sources[index + 1:index + 2])
                    loading = None
            except KeyboardInterrupt:
                loading = _unless_stored(warehouse, summary, loading, first_free)
                raise
            finally:
                if workers is not None:
                    summary.parallel = workers.started
                    workers.close()
            if shard is not None:  # complete: what a merge will check the shard against
                warehouse.write_manifest(Path(db_path))
    except KeyboardInterrupt as stop:
        raise _interrupted(stop, summary, loading) from None
    summary.seconds = time.perf_counter() - started
    return summary


def _load_source(warehouse: Warehouse, source: SourceFile, progress: Progress,
                 max_document: int, replace: bool, workers: Any, salvage: bool,
                 following: list[SourceFile]) -> list[FileOutcome]:
    """One source found under the paths: a data directory, a container or a file."""
    if source.path.is_dir():
        return load_data_directory(warehouse, source, progress, max_document,
                                   replace_changed=replace, worker=workers, salvage=salvage)
    if is_companion(source.path):
        return [FileOutcome(source.display, "companion", source.node)]
    if is_container(source.path):
        return load_container(warehouse, source, progress, max_document,
                              replace_changed=replace, worker=workers, salvage=salvage)
    return [load_file(warehouse, source, progress, max_document, replace=replace,
                      worker=workers, salvage=salvage, following=following)]


def input_sources(paths: list[str | Path], node: str | None = None) -> list[SourceFile]:
    """What a build reads under ``paths``: files, and MongoDB data directories whole."""
    return find_sources(paths, node, is_data_directory)


def _unless_stored(warehouse: Warehouse, summary: BuildSummary, loading: str | None,
                   first_free: int) -> str | None:
    """The file a signal interrupted, unless the signal came just after its commit:
    then the ledger has it, and so does the summary."""
    if loading is None or not first_free:
        return loading
    row = warehouse.query("SELECT runs FROM source WHERE source_id >= ?", (first_free,)).fetchone()
    if row is None:
        return loading
    summary.files.append(FileOutcome(loading, "loaded", runs=row[0] or 0))
    return None


def _interrupted(stop: KeyboardInterrupt, summary: BuildSummary,
                 loading: str | None) -> Interrupted:
    interrupted = stop if isinstance(stop, Interrupted) else Interrupted()
    interrupted.summary, interrupted.loading = summary, loading
    return interrupted


class _Workers:
    """The worker process, started when the first file is to be loaded.

    While the writer commits a file (with a WAL checkpoint, a third of a second
    at times), the worker would wait for its next job: so the job of the next
    file goes to it before that commit (``prepare``), to be read as if the file
    before were committed already (``FileJob.carry_runs``). Should that file
    fail after all, the job's events are thrown away and the file read again.
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.worker: Any = None
        self.prepared: _Prepared | None = None

    @property
    def started(self) -> bool:
        return self.worker is not None

    def _started(self) -> Any:
        if self.worker is None:
            from .worker import MappingWorker

            self.worker = MappingWorker(self.db_path)
        return self.worker

    def read(self, job: FileJob, sent: bool = False):
        return self._started().read(job, sent)

    def send(self, job: FileJob) -> None:
        """Give the worker a job to begin now; ``read(job, sent=True)`` or ``drop(job)``
        must follow, before any other job."""
        self._started().send(job)

    def prepare(self, warehouse: Warehouse, source: SourceFile, replace: bool,
                max_document: int, salvage: bool) -> None:
        """Hand the worker the job of ``source``, the file after the one about to commit."""
        if not _for_worker(warehouse, source):
            return
        outcome = FileOutcome(source.display, "loaded", source.node)
        try:
            size, sha256 = file_identity(source.path)
        except OSError:
            return  # its turn will tell what is wrong with it
        job, replacing = _job(warehouse, source, outcome, size, sha256, replace, max_document,
                              salvage)
        if job is not None:
            job = dataclasses.replace(job, carry_runs=True)
            self.send(job)
            self.prepared = _Prepared(source, outcome, size, sha256, job, replacing)

    def take(self, source: SourceFile) -> _Prepared | None:
        """The job prepared for ``source``, if any."""
        if self.prepared is not None and self.prepared.source is not source:
            self.discard()  # prepared for another file: build() never does that
        prepared, self.prepared = self.prepared, None
        return prepared

    def discard(self) -> None:
        """Throw away the events of the prepared job: the file before it did not commit."""
        prepared, self.prepared = self.prepared, None
        if prepared is not None:
            self.drop(prepared.job)

    def drop(self, job: FileJob) -> None:
        """Throw away the events of a job sent and not read."""
        events = self.read(job, sent=True)
        try:
            for _ in events:
                break
        except (WarehouseError, NeedsWriter):
            pass  # it failed: nothing more of it to skip
        finally:
            events.close()  # what the worker still sends of it is skipped

    def abandon(self) -> None:
        if self.worker is not None:
            self.worker.abandon()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


@dataclass
class _Prepared:
    """A file whose job the worker has, and what was found before the job was made."""

    source: SourceFile
    outcome: FileOutcome
    size: int
    sha256: str
    job: FileJob
    replacing: int | None


def _for_worker(warehouse: Warehouse, source: SourceFile) -> bool:
    """Whether the worker may read a file: not when the main process must."""
    return not warehouse.has_csv_only_runs() and not looks_written_directly(source.path)


def load_file(warehouse: Warehouse, source: SourceFile, progress: Progress,
              max_document: int = DEFAULT_MAX_DOCUMENT, *, replace: bool = False,
              worker: Any = None, salvage: bool = False,
              following: list[SourceFile] | None = None) -> FileOutcome:
    """Load one file in one transaction; on any input error, load nothing of it.

    A failure of the warehouse file itself (``WarehouseFileError``: disk full,
    I/O error) or an interruption rolls the file back too, and stops the build.
    ``following``: the file after it, if any, which the worker may begin
    while this one commits.
    """
    prepared = worker.take(source) if worker is not None else None
    if prepared is not None:
        outcome, size, sha256 = prepared.outcome, prepared.size, prepared.sha256
    else:
        outcome = FileOutcome(source.display, "loaded", source.node)
        size, sha256 = file_identity(source.path)
    outcome.input_bytes = size
    progress.file_started(source, size)
    try:
        with warehouse.storing(source.display):
            try:
                _load(warehouse, source, outcome, size, sha256, progress, max_document,
                      replace, worker, salvage, prepared, following or [])
            except WarehouseFileError:
                raise
            except WarehouseError as error:
                warehouse.rollback()
                if worker is not None:
                    worker.discard()
                outcome.status = "failed"
                outcome.error = error.located(source.display)
                warehouse.record_failure(source.display, size, sha256, source.node,
                                         str(outcome.error))
                outcome.runs = outcome.rows = outcome.values = outcome.duplicates = 0
                outcome.conflicts = outcome.disagreements = 0
    except BaseException:
        warehouse.rollback()
        raise
    finally:
        progress.file_done()
    return outcome


def _load(warehouse: Warehouse, source: SourceFile, outcome: FileOutcome, size: int,
          sha256: str, progress: Progress, max_document: int, replace: bool, worker: Any,
          salvage: bool, prepared: "_Prepared | None", following: list[SourceFile]) -> None:
    """The load itself: ask the ledger, then read (in the worker where there is one) and
    write; while it commits, the worker may begin the file after it."""
    if prepared is not None:
        job, replacing = prepared.job, prepared.replacing
    else:
        found, replacing = _job(warehouse, source, outcome, size, sha256, replace, max_document,
                                salvage)
        if found is None:
            return
        job = found
    writer = FileWriter(warehouse, job, outcome, size, sha256, progress)
    writer.replacing = replacing
    if worker is not None and (prepared is not None or _for_worker(warehouse, source)):
        if following and _plain_file(following[0]):
            writer.before_commit = lambda: worker.prepare(warehouse, following[0], replace,
                                                          max_document, salvage)
        if through_worker(worker, job, writer, sent=prepared is not None):
            return
        # read here, its runs are not among those the worker would carry over
        writer.before_commit = lambda: None
    read_file(job, warehouse, writer)


def _plain_file(source: SourceFile) -> bool:
    """A file loaded alone (not a companion, a container or a data directory)."""
    return not (source.path.is_dir() or is_companion(source.path)
                or is_container(source.path))


def _job(warehouse: Warehouse, source: SourceFile, outcome: FileOutcome, size: int,
         sha256: str, replace: bool, max_document: int,
         salvage: bool) -> tuple[FileJob | None, int | None]:
    """The job of a file to load (None if not: ``outcome`` says why), and the ledger
    id of the old content of its path that it replaces, if any."""
    wanted, replacing = _wanted(warehouse, source, outcome, size, sha256, replace)
    if not wanted:
        return None, None
    return FileJob(source.path, source.display, source.node, warehouse.next_source_id(),
                   profile.new_ids(warehouse.next_key), max_document, salvage), replacing


def _wanted(warehouse: Warehouse, source: SourceFile, outcome: FileOutcome, size: int,
            sha256: str, replace: bool) -> tuple[bool, int | None]:
    """Whether the file must be loaded (if not, why goes in ``outcome``), and the
    ledger id of the old content of its path that it replaces, if any."""
    if size == 0 and is_bson_name(source.path):
        # mongodump writes an empty collection as an empty file: nothing to
        # load, and no ledger row (all empty files share one sha256)
        outcome.status, outcome.note = "empty", "empty collection"
        return False, None
    known = warehouse.loaded_source(sha256, size)
    if known is not None:
        outcome.status = "skipped"
        outcome.note = f"same content as {known[1]}, already loaded"
        return False, None
    previous = warehouse.source_at_path(source.display)  # loaded before, other content
    if previous is None:
        return True, None
    if replace:
        return True, int(previous[0])
    outcome.status = "changed"
    outcome.note = (f"content changed since it was loaded on {previous[3]}: "
                    "left out; build with --replace to load it instead of the old content")
    return False, None
