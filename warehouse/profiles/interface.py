"""What a profile offers the pipeline, and what it is given while a file loads.

The pipeline decides what happens to a record (loaded, a duplicate, a
conflict, skipped); the profile says what the record is and what rows it
makes. Document mapping is a pure function of the record; CSV export rows are
reconciled with what the warehouse holds, so their handler writes itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, MutableMapping, Protocol

from ..errors import WarehouseError
from ..formats import Record
from ..formats.csvfile import CsvHeaders
from ..store import Warehouse


@dataclass(kw_only=True)
class LoadCounts:
    """What loading one file did, counted as it goes."""

    documents: int = 0
    runs: int = 0
    duplicates: int = 0  # runs already stored with the same content
    conflicts: int = 0  # runs already stored with other content
    skipped: int = 0  # damaged parts left out by a salvaging build (table `skipped`)
    disagreements: int = 0  # CSV values that differ from what another source stored
    rows: int = 0
    values: int = 0
    note: str = ""
    # documents kept in the generic `document` table, per collection
    unknown_collections: Counter = field(default_factory=Counter)
    errors: list[WarehouseError] = field(default_factory=list)  # damage a salvaging build left out


@dataclass
class LoadContext:
    """What a record handler is given while one file loads."""

    path: str  # the file, as errors name it
    warehouse: Warehouse
    source_id: int
    node: str | None
    ids: Any  # the profile's next keys (Profile.new_ids)
    rows: Any  # the profile's pending rows per table (Profile.new_rows)
    outcome: LoadCounts
    database: str | None
    # run key -> content fingerprint, for the runs this file stored so far (and
    # those of the file before, when it is not committed yet)
    seen_runs: MutableMapping[str, str | None] = field(default_factory=dict)
    # whether some stored run is known only from CSV rows (checked once per file)
    csv_runs: bool = True
    # a shard keeps each stored run's document and each duplicate (for the merge)
    keep_documents: bool = False


Handler = Callable[[Record, LoadContext], None]


class Profile(Protocol):
    """A simulator's profile: its records and its rows."""

    csv_headers: CsvHeaders  # the CSV files it knows, told by their header

    def new_rows(self) -> Any:
        """An empty batch of pending rows per table (tables by name, rows iterable)."""

    def new_ids(self, next_key: Callable[[str, str], int]) -> Any:
        """The next surrogate keys; ``next_key(table, column)`` gives the first free one."""

    def kind(self, document: Any, collection: str | None) -> str:
        """"run", "timing", "other" (kept whole), or "csv" (a chunk of export rows)."""

    def run_key(self, document: Any) -> Any:
        """The key that names a run across nodes and tools (None if it has none)."""

    def fingerprint(self, document: Any) -> str:
        """A digest of a run's content, the same whichever tool exported it."""

    def map_run(self, record: Record, ctx: LoadContext, fingerprint: str | None) -> None:
        """Append a new run's rows to ``ctx.rows``; WarehouseError if the record is bad."""

    def map_timing(self, record: Record, ctx: LoadContext) -> None: ...

    def map_other(self, record: Record, ctx: LoadContext) -> None:
        """A document of a collection the profile does not know, kept whole."""

    def load_csv(self, record: Record, ctx: LoadContext) -> None:
        """Reconcile a chunk of export rows with the warehouse and write them."""

    def csv_only_run(self, warehouse: Warehouse, run_key: Any) -> int | None:
        """The run_id of a run known so far only from CSV rows."""

    def adopt(self, record: Record, ctx: LoadContext, run_id: int) -> None:
        """A run's document after its CSV rows: its rows replace theirs."""
