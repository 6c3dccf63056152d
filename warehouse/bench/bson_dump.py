"""Benchmark: the same runs loaded from mongoexport JSON and from mongodump output.

``bench_bson(workdir, runs)`` writes the runs of one demo node once in each
form: gzip JSON lines (mongoexport of tools 3.x), a ``mongodump --gzip``
folder, the same folder uncompressed, and a gzipped ``--archive``; then builds
each into a fresh warehouse and returns runs per second for each. Every form
holds the same documents (same ``_id``), so the warehouses are alike and only
the reading differs.

Run alone: ``python -m warehouse.bench.bson_dump [RUNS] [WORKDIR]``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..demo import DATABASE, RUNS, compressed, dialects, dumpwriter, generate
from ..pipeline.build import build

JSON_ERA = "3.x"  # the mongoexport of the ctmixtures years
CHUNK = 200  # runs held in memory at once while writing


def _chunks(runs: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    docs = generate(runs, seed)
    while chunk := [doc for _, doc in zip(range(CHUNK), docs)]:
        yield chunk


def write_inputs(workdir: Path, runs: int, seed: int = 0) -> dict[str, Path]:
    """The runs in every form, each under its own folder; generated once."""
    paths = {
        "json_gzip": workdir / "json_gzip" / "mixture_model_stats.json.gz",
        "dump_gzip": workdir / "dump_gzip" / DATABASE / f"{RUNS}.bson.gz",
        "dump": workdir / "dump" / DATABASE / f"{RUNS}.bson",
        "archive_gzip": workdir / "archive_gzip" / f"{DATABASE}.archive.gz",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    for name in ("dump_gzip", "dump"):
        metadata = paths[name].parent / f"{RUNS}.metadata.json"
        metadata.write_text(dumpwriter.metadata_json(DATABASE, RUNS))
    with compressed.open_writer(paths["json_gzip"], "gzip") as json_fh, \
            compressed.open_writer(paths["dump_gzip"], "gzip") as bson_gz, \
            open(paths["dump"], "wb") as bson_fh, \
            compressed.open_writer(paths["archive_gzip"], "gzip") as archive_fh:
        archive = dumpwriter.ArchiveWriter(archive_fh, [(DATABASE, RUNS)])
        for chunk in _chunks(runs, seed):
            dialects.write_json_lines(json_fh, chunk, JSON_ERA)
            dumpwriter.write_bson(bson_gz, chunk)
            dumpwriter.write_bson(bson_fh, chunk)
            archive.segment(DATABASE, RUNS, chunk)
        archive.close()
    return {name: path.parent for name, path in paths.items()}


def _build_rates(folder: Path, db: Path, expected: int) -> tuple[float, float]:
    """Runs per second of wall time and of CPU time for one fresh build."""
    cpu = time.process_time()
    summary = build(db, [folder])
    cpu = time.process_time() - cpu
    loaded = summary.total("runs")
    if not summary.ok or loaded != expected:
        raise RuntimeError(f"{folder}: loaded {loaded} of {expected} runs, "
                           f"{len(summary.failed)} file(s) failed")
    return loaded / max(summary.seconds, 1e-9), loaded / max(cpu, 1e-9)


def bench_bson(workdir: Path, runs: int, repeat: int = 1, seed: int = 0) -> dict[str, Any]:
    """Runs per second of a build from each form (best of ``repeat`` builds).

    Top-level keys are the forms, valued in runs per second of wall time;
    ``"cpu"`` holds the same in runs per CPU second, the steadier figure on a
    machine shared with other work. The forms take turns, so that a slow
    spell does not fall on one form only.
    """
    workdir = Path(workdir)
    inputs = write_inputs(workdir / "inputs", runs, seed)
    wall = dict.fromkeys(inputs, 0.0)
    cpu = dict.fromkeys(inputs, 0.0)
    for attempt in range(repeat):
        for name, folder in inputs.items():
            db = workdir / f"{name}.sqlite"
            rates = _build_rates(folder, db, runs)
            for built in workdir.glob(db.name + "*"):  # 60 KB a run: do not keep them
                built.unlink()
            wall[name], cpu[name] = max(wall[name], rates[0]), max(cpu[name], rates[1])
    return ({"runs": runs} | {name: round(rate, 1) for name, rate in wall.items()}
            | {"cpu": {name: round(rate, 1) for name, rate in cpu.items()}})


def main(argv: list[str]) -> None:
    runs = int(argv[0]) if argv else 2000
    if len(argv) > 1:
        workdir = Path(argv[1])
        print(bench_bson(workdir, runs, repeat=2))
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-bson-"))
    try:
        print(bench_bson(workdir, runs, repeat=2))
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main(sys.argv[1:])
