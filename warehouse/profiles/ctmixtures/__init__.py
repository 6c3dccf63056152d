"""The ctmixtures profile: run records of ctmixtures and its exporter's CSV files.

``shared/ctmixtures/FORMAT.md`` describes the run record and the four export
files. :data:`PROFILE` is what the pipeline uses (see ``..interface``).
"""

from __future__ import annotations

from typing import Any, Callable

from ...formats import Record
from ...formats.csvfile import CsvChunk, CsvHeaders
from ...store import Warehouse
from ..interface import LoadContext
from . import csv, document
from .fingerprint import fingerprint
from .tables import TABLES, Ids, Rows, new_rows

__all__ = ["PROFILE", "TABLES"]

_KINDS = {"mixture_model_stats": "run", "simulation_timing": "timing", "other": "other"}


class CtMixtures:
    """The profile object: each method is one thing the pipeline may ask."""

    csv_headers: CsvHeaders = csv.CSV_HEADERS

    def new_rows(self) -> Rows:
        return new_rows()

    def new_ids(self, next_key: Callable[[str, str], int]) -> Ids:
        return Ids.following(next_key)

    def kind(self, doc: Any, collection: str | None) -> str:
        if isinstance(doc, CsvChunk):
            return "csv"
        return _KINDS[document.document_kind(doc, collection)]

    def run_key(self, doc: Any) -> Any:
        return doc.get("simulation_run_id")

    def fingerprint(self, doc: Any) -> str:
        return fingerprint(doc)

    def map_run(self, record: Record, ctx: LoadContext, content: str | None) -> None:
        document.map_run(record, ctx.source_id, ctx.node, ctx.ids, ctx.rows, content)

    def map_timing(self, record: Record, ctx: LoadContext) -> None:
        document.map_timing(record, ctx.source_id, ctx.ids, ctx.rows)

    def map_other(self, record: Record, ctx: LoadContext) -> None:
        document.map_other(record, ctx.source_id, ctx.ids, ctx.rows)

    def load_csv(self, record: Record, ctx: LoadContext) -> None:
        csv.load_chunk(record, ctx)

    def csv_only_run(self, warehouse: Warehouse, run_key: Any) -> int | None:
        return csv.csv_only_run(warehouse, run_key)

    def adopt(self, record: Record, ctx: LoadContext, run_id: int) -> None:
        csv.adopt_document(record, ctx, run_id)


PROFILE = CtMixtures()
