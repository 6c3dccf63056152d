"""The ctmixtures profile for the exporter's CSV files (docs/csv-eras.md).

Each export row names its run. The first file that names a run creates it
(a ``run`` row: key, label, source); each file then adds what it holds:

=====================  ===========================================================
simulation             ``parameter`` (``kandler_interval`` as
                       ``kandler_interval_generations``: the file has generations)
population             ``census`` (min/max/mean only: no per-locus rows)
sampled, tasampled     ``sample`` (``ta_duration`` NULL for sampled files)
pop-*-locus            ``census_locus``, locus = order of the run's rows in the file
every file             ``model_class_label`` and ``innovation_rate``
=====================  ===========================================================

A value already stored (from a run document or an earlier file) is never
overwritten: an equal one (floats within ``FLOAT_TOLERANCE``, relative) is
left alone, a different one is recorded in ``disagreement``, a missing one is
filled in. A run document read after CSV rows of its run replaces them
(:func:`adopt_document`): documents are the record the exports were computed
from. Values an exporter era is known to have got wrong are withheld or moved,
and recorded in ``csv_correction``.

Speed: rows of a run that has nothing stored in the file's table go to SQLite
as the text the file holds, bound in the file's column order, and SQLite's
column affinity makes them REAL or INTEGER in C (within one unit in the last
place of Python's correctly rounded ``float``). One query per chunk then finds
the fields that were not plain numbers (``nan``, ``inf``, empty, garbage), and
those are converted here, exactly as every other row is: ``float``, ``int``
(never through a float), 'NaN' text for NaN, NULL for an empty field.
"""

from __future__ import annotations

from typing import Callable

from ....formats import Record
from ....formats.csvfile import CsvChunk, CsvFile, paused_gc
from ...interface import LoadContext
from .adoption import adopt_document, csv_only_run
from .headers import CSV_HEADERS
from .loader import Loader
from .locus import LocusLoader
from .simulation import SimulationLoader
from .stats import StatsLoader

__all__ = ["CSV_HEADERS", "adopt_document", "csv_only_run", "load_chunk"]

LOADERS: dict[str, Callable[[CsvFile, LoadContext], Loader]] = {
    "population": StatsLoader,
    "sampled": StatsLoader,
    "tasampled": StatsLoader,
    "pop-slatkin-locus": LocusLoader,
    "pop-richness-locus": LocusLoader,
    "simulation": SimulationLoader,
}


def load_chunk(record: Record, ctx: LoadContext) -> None:
    """Load one chunk of an export file's rows (written to SQLite directly)."""
    chunk: CsvChunk = record.document
    ctx.outcome.documents += len(chunk.rows) - 1  # the build counted the chunk as one record
    loader = chunk.file.state.get("loader")
    if loader is None or loader.ctx is not ctx:
        loader = chunk.file.state["loader"] = LOADERS[chunk.file.kind](chunk.file, ctx)
    with paused_gc():
        loader.load(chunk)
