"""What passes from the reading side of a build to its writing side.

The reading side (``loading``, ``unpack``) emits events in order, in this
process or from the worker process; the writing side (``build``,
``containers``) applies them: one transaction per source (a file, or a
member of a container).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import WarehouseError
from ..formats.dumpdir import DumpNamespace
from ..profiles.interface import LoadCounts

# Events a worker may have sent that the writer has not applied yet (the
# queue between them is this long): enough to go on through a commit (~0.3 s).
EVENTS_IN_FLIGHT = 16


@dataclass
class FileOutcome(LoadCounts):
    """What became of one input file."""

    path: str
    status: str  # loaded, skipped (already in the ledger), companion, empty, changed, failed
    node: str | None = None
    format: str | None = None
    compression: str | None = None
    input_bytes: int = 0  # on disk
    raw_bytes: int = 0  # decompressed
    error: WarehouseError | None = None
    warnings: list[str] = field(default_factory=list)  # said, but nothing was left out


@dataclass(frozen=True)
class FileJob:
    """One file to read, with the keys its rows start from."""

    path: Path  # on disk; for a container's member, its path inside the container
    display: str  # as messages and the ledger name it: path, or container!member
    node: str | None
    source_id: int
    ids: Any  # the profile's next keys
    max_document: int
    salvage: bool = False  # keep the intact records of a damaged file
    container: tuple[int, str] | None = None  # a container's identity (size, sha256)
    # a collection of the MongoDB data directory at ``path``: (database, collection)
    collection: tuple[str, str] | None = None
    # read while the file before it commits: the runs that file stored count as stored
    carry_runs: bool = False


@dataclass
class Opened:
    format: str
    compression: str
    database: str | None
    collection: str | None


@dataclass
class Batch:
    rows: Any  # the profile's pending rows per table
    bytes_read: int  # of the file on disk, for progress


@dataclass
class Finished:
    counts: FileOutcome
    header: str | None
    namespaces: list[DumpNamespace]
    raw_bytes: int
    bytes_read: int
    # a member's identity, known once it is read whole: (size, sha256) of its stored bytes
    identity: tuple[int, str] | None = None


# -- containers: each member is a source of its own ---------------------------------------


@dataclass
class ContainerStarted:
    """A container (or a container inside one, ``member`` naming it) is being read."""

    kind: str  # tar, zip
    compression: str
    member: str | None = None  # its path in the container holding it, when nested


@dataclass
class MemberStarted:
    """A member is about to be read as a source: ``job`` names and numbers it."""

    job: FileJob
    member: str  # path inside the top container (nested: "inner.tar!path")
    stored_size: int  # as the container says
    identity: tuple[int, str] | None = None  # (size, sha256) where known before reading
    note: str = ""  # for the ledger: a collection's files


@dataclass
class MemberDone:
    """A member that loads nothing: not a file, unsafe, a companion, already loaded, failed."""

    display: str
    member: str
    status: str  # unsafe, companion, known, failed, salvaged, empty, container
    note: str = ""
    error: WarehouseError | None = None
    identity: tuple[int, str] | None = None  # (size, sha256), where it was read
    source_id: int | None = None  # known: the source that loaded the same content


@dataclass
class CompanionLate:
    """A dump's metadata file or prelude met after the .bson it describes was loaded."""

    bson_display: str  # the source it describes
    kind: str  # metadata, prelude
    text: str


@dataclass
class ContainerFinished:
    """The end of a container (or of one inside it, or of a data directory in it)."""

    identity: tuple[int, str] | None = None  # of a nested container's stored bytes
    member: str | None = None
    warnings: list[str] = field(default_factory=list)  # a data directory's, say


Emit = Callable[[Any], None]


class NeedsWriter(Exception):
    """Raised in a worker for a file only the writing process can load."""
