"""The demo experiment: runs split over node folders as the cluster left them.

``write_demo`` splits runs over node folders the way the 8 cluster nodes of
the original experiments were exported, in every mongoexport era and
compression, or dumped (``mongodump`` folders or archives, see
:mod:`.dumpwriter`); optionally with each run's ``simulation_timing``
document. The records themselves come from the ctmixtures profile's
generator (``profiles/ctmixtures/demo_record.py``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from bson import ObjectId

from ..profiles.ctmixtures.demo_record import EXPERIMENT, generate, make_timing, object_id, timing_rng
from . import compressed, dialects, dumpwriter

_COMPRESSION_CYCLE = ("gzip", "zstd", "bzip2", "xz", "none")
_FILE_STEM = "mixture_model_stats.json"
FORMS = ("mongoexport", "dump", "archive")
DATABASE = f"{EXPERIMENT}_samples_raw"  # the database on every node
RUNS = "mixture_model_stats"
TIMING = "simulation_timing"
ARCHIVE_SEGMENT_RUNS = 25  # runs per archive segment: the two collections interleave


def _node_plan(nodes: int, eras: str, compression: str) -> list[tuple[str, str, bool, bool]]:
    """Per node: (era, compression, --jsonArray?, split into two members/frames?)."""
    if eras != "mixed" and eras not in dialects.ERAS:
        raise ValueError(f"eras must be 'mixed' or one of {', '.join(dialects.ERAS)}")
    if compression != "mixed" and compression not in compressed.COMPRESSIONS:
        raise ValueError(f"compression must be 'mixed' or one of {', '.join(compressed.COMPRESSIONS)}")
    array_node = None
    if eras == "mixed" and nodes >= 2:
        array_node = min(6, nodes)  # node6: a 3.x --jsonArray export when there are 8 nodes
    plan = []
    for k in range(1, nodes + 1):
        era = dialects.ERAS[(k - 1) % len(dialects.ERAS)] if eras == "mixed" else eras
        if compression == "mixed":
            comp = _COMPRESSION_CYCLE[(k - 1) % len(_COMPRESSION_CYCLE)]
            # a compression met again later in the cycle is written as two
            # members / streams / frames (cat a.gz b.gz, pbzip2, pzstd)
            split = k > len(_COMPRESSION_CYCLE) and comp != "none"
        else:
            comp, split = compression, False
        plan.append((era, comp, k == array_node, split))
    return plan


def write_demo(out_dir: str | Path, n_runs: int = 2000, nodes: int = 8, seed: int = 0,
               eras: str = "mixed", compression: str = "mixed", config_keys: int | None = None,
               progress: Callable[[int], Any] | None = None, workers: int = 1,
               form: str = "mongoexport", timing: bool = False) -> list[Path]:
    """Write ``n_runs`` records split over ``out_dir/node1 … nodeN``.

    Node k holds the next contiguous block of ``generate(n_runs, seed)``, in
    one file ``mixture_model_stats.json`` plus the compression suffix
    (``.gz``, ``.zst``, ``.bz2``, ``.xz``). ``eras="mixed"`` cycles the nodes
    through ``dialects.ERAS`` and makes node 6 (or the last node) a
    ``--jsonArray`` export; ``compression="mixed"`` cycles gzip, zstd, bzip2,
    xz, none, and writes nodes past the fifth as two gzip members / zstd
    frames / bzip2 streams. ``_id`` values are unique within a node but, as
    on cloned cluster nodes, repeat across nodes. ``progress(k)`` is called
    with the number of runs just written (``tqdm.update`` fits). ``workers``
    > 1 writes nodes in that many processes (same output; progress then
    comes a node at a time).

    ``timing`` adds each run's ``simulation_timing`` document (see
    :func:`make_timing`): in ``simulation_timing.json`` beside the runs.
    ``form`` writes each node as mongoexport JSON (above), as a mongodump
    folder ``nodeK/dump/<DATABASE>/<collection>.bson`` with its
    ``.metadata.json`` (each file compressed: ``.gz`` is ``mongodump --gzip``),
    or as a mongodump archive ``nodeK/<DATABASE>.archive`` (compressed as a
    whole), its collections in interleaved segments. Eras only apply to
    mongoexport, and so do the ``--jsonArray`` node and split members.
    Returns the data files written (not the metadata), in node order.
    """
    if nodes < 1:
        raise ValueError("nodes must be at least 1")
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}")
    out = Path(out_dir)
    plan = _node_plan(nodes, eras, compression)
    base, extra = divmod(n_runs, nodes)
    jobs = []
    start = 0
    for k, (era, comp, as_array, split) in enumerate(plan, start=1):
        count = base + (1 if k <= extra else 0)
        jobs.append(_NodeJob(out / f"node{k}", seed, start, count, config_keys, era, comp,
                             as_array, split, form, timing))
        start += count
    written: list[Path] = []
    if workers <= 1 or nodes == 1:
        for job in jobs:
            written += _write_node(job, progress)
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, nodes)) as pool:
            for job, files in zip(jobs, pool.map(_write_node, jobs)):
                written += files
                if progress is not None:
                    progress(job.runs)
    return written


class _NodeJob(NamedTuple):
    folder: Path  # out/nodeK
    seed: int
    start: int
    runs: int
    config_keys: int | None
    era: str
    compression: str
    as_array: bool
    split: bool
    form: str = "mongoexport"
    timing: bool = False


def _object_ids(seed: int) -> Iterator[ObjectId]:
    """The ``_id`` of each document of a node: the same on every node, as when
    one machine image was cloned onto all (same 5-byte machine id, same
    counter start, inserts at the same pace)."""
    rng = random.Random(f"ctmixtures-demo/{seed}/object-ids")
    machine = rng.getrandbits(40).to_bytes(5, "big")
    first_ts = 1_410_833_235 + rng.randrange(0, 86_400)
    first_counter = rng.randrange(0, 1 << 24)
    for j in itertools.count():
        yield object_id(first_ts + j // 4, machine, first_counter + j)


def _write_node(job: _NodeJob, progress: Callable[[int], Any] | None = None) -> list[Path]:
    """Write one node's data in its form; returns the data files."""
    job.folder.mkdir(parents=True, exist_ok=True)
    pairs = _node_pairs(job, progress)
    if job.form == "dump":
        return _write_dump_node(job, pairs)
    if job.form == "archive":
        return [_write_archive_node(job, pairs)]
    return _write_export_node(job, pairs)


def _write_export_node(job: _NodeJob, pairs: Iterator[tuple[dict, dict | None]]) -> list[Path]:
    path = job.folder / (_FILE_STEM + compressed.SUFFIXES[job.compression])
    timings: list[dict[str, Any]] = []
    docs = _runs_keeping_timings(pairs, timings)
    half = job.runs // 2 if job.split and job.runs >= 2 else None
    with compressed.open_writer(path, job.compression) as fh:
        if job.as_array:  # written a document at a time: split between two of them
            dialects.write_json_array(fh, _split_at(docs, half, fh), job.era)
        elif half is not None:
            dialects.write_json_lines(fh, itertools.islice(docs, half), job.era)
            fh.new_member()
            dialects.write_json_lines(fh, docs, job.era)
        else:
            dialects.write_json_lines(fh, docs, job.era)
    if not job.timing:
        return [path]
    timing_path = job.folder / (f"{TIMING}.json" + compressed.SUFFIXES[job.compression])
    with compressed.open_writer(timing_path, job.compression) as fh:
        dialects.write_json_lines(fh, timings, job.era)
    return [path, timing_path]


def _write_dump_node(job: _NodeJob, pairs: Iterator[tuple[dict, dict | None]]) -> list[Path]:
    out = job.folder / "dump"
    timings: list[dict[str, Any]] = []
    runs = _runs_keeping_timings(pairs, timings)
    written = [dumpwriter.write_collection(out, DATABASE, RUNS, runs, job.compression)]
    if job.timing:
        written.append(dumpwriter.write_collection(out, DATABASE, TIMING, timings,
                                                   job.compression))
    return written


def _write_archive_node(job: _NodeJob, pairs: Iterator[tuple[dict, dict | None]]) -> Path:
    path = job.folder / (f"{DATABASE}.archive" + compressed.SUFFIXES[job.compression])
    collections = [RUNS, TIMING] if job.timing else [RUNS]
    with compressed.open_writer(path, job.compression) as fh:
        writer = dumpwriter.ArchiveWriter(fh, [(DATABASE, c) for c in collections])
        while chunk := list(itertools.islice(pairs, ARCHIVE_SEGMENT_RUNS)):
            writer.segment(DATABASE, RUNS, (run for run, _ in chunk))
            if job.timing:
                writer.segment(DATABASE, TIMING, (timing for _, timing in chunk if timing))
        writer.close()
    return path


def _runs_keeping_timings(pairs: Iterator[tuple[dict, dict | None]],
                          timings: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The run documents; their timing documents (small) collect in ``timings``."""
    for run, timing in pairs:
        if timing is not None:
            timings.append(timing)
        yield run


def _node_pairs(job: _NodeJob, progress: Callable[[int], Any] | None
                ) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each run document of the node with its timing document (None without timing)."""
    for index, run in enumerate(_node_docs(job, progress), start=job.start):
        yield run, make_timing(run, timing_rng(job.seed, index)) if job.timing else None


def _node_docs(job: _NodeJob, progress: Callable[[int], Any] | None) -> Iterator[dict[str, Any]]:
    records = generate(job.runs, job.seed, job.config_keys, start=job.start)
    for doc, oid in zip(records, _object_ids(job.seed)):
        doc["_id"] = oid
        yield doc
        if progress is not None:
            progress(1)


def _split_at(docs: Iterator[dict[str, Any]], half: int | None,
              fh: compressed.CompressedWriter) -> Iterator[dict[str, Any]]:
    for j, doc in enumerate(docs):
        if j == half:
            fh.new_member()
        yield doc
