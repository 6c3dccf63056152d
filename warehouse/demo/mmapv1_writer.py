"""Write MongoDB MMAPv1 data directories (the 2.0 to 3.0 layouts), for tests and benchmarks.

No public MMAPv1 files with a license exist, so tests need a writer. This one
is built from ``/work/shared/mongodb-files/LAYOUT.md`` alone and shares no
code with the reader (``warehouse.formats.mmapv1``): each checks the other.
It lays files out as a 2.x server did: ``<db>.ns`` (a hash table of 628-byte
nodes), data files ``<db>.0``, ``<db>.1``... of growing sizes with 8 KB
headers, extents chained per namespace, records chained per extent, free
space and removed documents on the deleted lists (their bytes kept), and the
catalog collections ``system.namespaces`` and ``system.indexes``. Files are
sparse: a 64 MB data file costs only the bytes written.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import bson

from .mmapv1_layout import (MB, NODE_SIZE, HEADER_SIZE, EXTENT_HEADER, RECORD_HEADER, MAGIC,
                            MIN_EXTENT, NO_LIMIT, NULL, INVALID, FILE_SIZE, MAX_FILE_SIZE,
                            FILE_HEADER, EXTENT_STRUCT, RECORD_STRUCT, DETAILS_STRUCT,
                            namespace_hash, bucket, record_size, quantized)

@dataclass
class CollectionSpec:
    """A collection to write: its documents in insertion order, and how to store them."""

    name: str
    documents: Sequence[Mapping[str, Any] | bytes]  # bytes: BSON written as is
    delete: Sequence[int] = ()  # positions removed after the inserts (bytes stay on disk)
    padding_factor: float = 1.0  # record = (BSON + 16) * factor
    power_of_2: bool = False  # record sizes rounded up to a bucket size (usePowerOf2Sizes)
    capped_size: int | None = None  # a capped collection: extents of this many bytes in all
    capped_max: int | None = None  # capped: keep the newest N documents, remove the others
    dropped: bool = False  # dropped after the inserts: its extents go to $freelist


@dataclass
class WriterOptions:
    minor: int = 6  # 5: 4.5 (2.2 and earlier), 6: 4.6, 0x16: 3.0
    ns_size: int = 16 * MB  # --nssize
    file_size: int = FILE_SIZE  # <db>.0; each next file doubles, up to max_file_size
    max_file_size: int = MAX_FILE_SIZE
    extent_size: int | None = None  # every extent this size; None: mongod's growth rule
    directory_per_db: bool = False
    preallocate: bool = False  # one more data file, all zeros, as mongod preallocates
    unclean: bool = False  # a lock file holding a pid, and a journal file
    torn: tuple[str, str] | None = None  # (db, coll): zero the end of its last live document
    quantize: bool = False  # 2.6: record sizes rounded up to 1/16 of their bucket
    scribble: bool = False  # 2.6: 0xeeeeeeee over the first 4 data bytes of deleted records


SMALLFILES = WriterOptions(file_size=16 * MB, max_file_size=512 * MB)  # --smallfiles


@dataclass
class Written:
    """What was written: every file, and where each live document's BSON lies."""

    files: list[Path]
    documents: dict[tuple[str, str], list[tuple[Path, int, int]]]  # (path, offset, length)


@dataclass
class _Rec:
    file: int
    ofs: int
    length: int
    raw: bytes
    live: bool = True


@dataclass
class _Extent:
    file: int
    ofs: int
    length: int
    ns: str
    recs: list[_Rec] = field(default_factory=list)

    @property
    def free(self) -> int:
        return self.recs[-1].ofs + self.recs[-1].length if self.recs else self.ofs + EXTENT_HEADER


@dataclass
class _Ns:
    name: str
    spec: CollectionSpec | None = None
    extents: list[_Extent] = field(default_factory=list)
    current: int = -1  # extent receiving inserts
    indexes: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    killed: bool = False

    @property
    def capped(self) -> bool:
        return self.spec is not None and self.spec.capped_size is not None

    def live(self) -> list[_Rec]:
        return [r for e in self.extents for r in e.recs if r.live]


class _Database:
    """Space allocation and the namespaces of one database, before anything is written."""

    def __init__(self, name: str, folder: Path, options: WriterOptions) -> None:
        self.name, self.folder, self.options = name, folder, options
        self.sizes: list[int] = []
        self.unused: list[int] = []
        self.namespaces: list[_Ns] = []

    def add(self, name: str, spec: CollectionSpec | None = None) -> _Ns:
        ns = _Ns(f"{self.name}.{name}", spec)
        self.namespaces.append(ns)
        return ns

    def _new_extent(self, ns: _Ns, length: int) -> _Extent:
        if not self.sizes or self.unused[-1] + length > self.sizes[-1] - 16:
            size = min(self.options.file_size << len(self.sizes), self.options.max_file_size)
            size = max(size, HEADER_SIZE + length + 16 + 0xFFF & ~0xFFF)  # grown to fit, as mongod
            self.sizes.append(size)
            self.unused.append(HEADER_SIZE)
        extent = _Extent(len(self.sizes) - 1, self.unused[-1], length, ns.name)
        self.unused[-1] += length
        ns.extents.append(extent)
        return extent

    def _extent_size(self, ns: _Ns, need: int) -> int:
        """Extent::initialSize / followupSize, rounded up to 4 KB."""
        if self.options.extent_size is not None:
            size = self.options.extent_size
        else:
            size = need * 64 if need < 1000 else need * 16
            if ns.extents:
                last = ns.extents[-1].length
                size = max(size, int(last * 4 if last < 4_000_000 else last * 1.35))
        limit = self.options.max_file_size - HEADER_SIZE - 16
        size = min((max(size, MIN_EXTENT, need + EXTENT_HEADER) + 0xFFF) & ~0xFFF, limit & ~0xFFF)
        if size < need + EXTENT_HEADER:
            raise ValueError(f"a record of {need} bytes does not fit an extent of {size}")
        return size

    def insert(self, ns: _Ns, raw: bytes, length: int) -> _Rec:
        while ns.current < 0 or ns.extents[ns.current].free + length > (
                ns.extents[ns.current].ofs + ns.extents[ns.current].length):
            if ns.current + 1 < len(ns.extents):
                ns.current += 1  # capped: the next preallocated extent
            elif ns.capped:
                raise ValueError(f"capped {ns.name} is full (the writer does not wrap around)")
            else:
                self._new_extent(ns, self._extent_size(ns, length))
                ns.current = len(ns.extents) - 1
        extent = ns.extents[ns.current]
        region = extent.ofs + extent.length - extent.free  # the free end, a deleted record
        if region - length < 24 or (not ns.capped and region - length < length >> 3):
            length = region  # too little left to split off: the record takes it all
        elif self.options.quantize and not ns.capped and "$" not in ns.name:
            length = quantized(length) if region - quantized(length) >= 24 else region
        rec = _Rec(extent.file, extent.free, length, raw)
        extent.recs.append(rec)
        return rec

    def fill(self, ns: _Ns, documents: Sequence[Mapping[str, Any] | bytes],
             padding_factor: float = 1.0, power_of_2: bool = False) -> list[_Rec]:
        if ns.capped and not ns.extents:
            assert ns.spec is not None and ns.spec.capped_size is not None
            left = ns.spec.capped_size
            limit = self.options.max_file_size - HEADER_SIZE - 16
            while left > 0 or not ns.extents:
                self._new_extent(ns, min(max(left, MIN_EXTENT), limit) + 0xFFF & ~0xFFF)
                left -= ns.extents[-1].length
        raws = [d if isinstance(d, bytes) else bson.encode(d) for d in documents]
        return [self.insert(ns, r, record_size(len(r), padding_factor, power_of_2)) for r in raws]


def _user_collection(db: _Database, spec: CollectionSpec) -> _Ns:
    ns = db.add(spec.name, spec)
    recs = db.fill(ns, spec.documents, spec.padding_factor, spec.power_of_2)
    gone = list(spec.delete)
    if spec.capped_max is not None:
        if gone:
            raise ValueError("documents cannot be removed from a capped collection")
        gone = list(range(max(0, len(recs) - spec.capped_max)))  # the oldest go first
    for position in gone:
        recs[position].live = False
    ns.killed = spec.dropped
    return ns


def _options(ns: _Ns) -> dict[str, Any]:
    """The options system.namespaces stores for a collection (none when created by an insert)."""
    assert ns.spec is not None
    if ns.capped:
        options = {"create": ns.spec.name, "capped": True, "size": ns.spec.capped_size}
        return options | ({"max": ns.spec.capped_max} if ns.spec.capped_max is not None else {})
    return {"flags": 1} if ns.spec.power_of_2 else {}


def _catalog(db: _Database, users: list[_Ns]) -> None:
    """system.indexes, system.namespaces, an _id index per collection, then $freelist.

    The order of a 2.6 server's first insert: its extents follow the
    collection's (0x20000, 0x21000, 0x22000 after a first extent of 0x1e000).
    """
    kept = [ns for ns in users if not ns.killed]
    specs = db.add("system.indexes")
    infos = db.fill(specs, [{"v": 1, "key": {"_id": 1}, "name": "_id_", "ns": ns.name}
                            for ns in kept])
    entries: list[dict[str, Any]] = [{"name": specs.name}]
    for ns in kept:
        options = _options(ns)
        entries += [{"name": ns.name, **({"options": options} if options else {})},
                    {"name": f"{ns.name}.$_id_"}]
    db.fill(db.add("system.namespaces"), entries)
    for ns, info in zip(kept, infos):
        index = db.add(ns.name[len(db.name) + 1:] + ".$_id_")
        # A B-tree bucket's bytes here: they parse as BSON, so a scan would "find" them.
        (head,) = db.fill(index, [{"not_a_document": f"B-tree bucket of {index.name}"}])
        ns.indexes.append(((head.file, head.ofs), (info.file, info.ofs)))
    dropped = [ns for ns in users if ns.killed]
    if dropped:  # dropped extents keep their records, chained on $freelist
        db.add("$freelist").extents = [e for ns in dropped for e in ns.extents]


def _free(ns: _Ns) -> dict[int, list[tuple[_Extent, int, int]]]:
    """The deleted lists: removed documents and each extent's free end, by size bucket.

    A capped collection keeps them all on list 0; $freelist keeps none.
    """
    lists: dict[int, list[tuple[_Extent, int, int]]] = {}
    if ns.name.endswith(".$freelist"):
        return lists
    for extent in ns.extents:
        spaces = [(r.ofs, r.length) for r in extent.recs if not r.live]
        tail = extent.ofs + extent.length - extent.free
        if tail:
            spaces.append((extent.free, tail))
        for ofs, length in spaces:
            lists.setdefault(0 if ns.capped else bucket(length), []).append((extent, ofs, length))
    return lists


def _details(ns: _Ns) -> bytes:
    """The 496-byte NamespaceDetails."""
    ends = [(e.file, e.ofs) for e in ns.extents] or [NULL]
    live = [] if ns.name.endswith(".$freelist") else ns.live()
    spec = ns.spec or CollectionSpec("", [])
    indexes = [x for head, info in ns.indexes for x in head + info]
    deleted = [NULL] * 19
    for b, chain in _free(ns).items():
        deleted[b] = (chain[0][0].file, chain[0][1])
    cap_extent = ends[0]
    if ns.capped:
        deleted[1] = INVALID  # cappedLastDelRecLastExtent: not computed yet
        cap_extent = next(((e.file, e.ofs) for e in reversed(ns.extents)
                           if any(r.live for r in e.recs)), ends[0])
    return DETAILS_STRUCT.pack(
        *ends[0], *ends[-1], *[x for loc in deleted for x in loc],
        sum(r.length - RECORD_HEADER for r in live), len(live),
        ns.extents[-1].length if ns.extents else 0, len(ns.indexes),
        *indexes, *[0] * (40 - len(indexes)),
        int(ns.capped), spec.capped_max or NO_LIMIT, spec.padding_factor,
        1 if ns.indexes else 0, *cap_extent, *INVALID,  # systemFlags 1: has an _id index
        0, 0, 0, 0, 0, 0, 1 if spec.power_of_2 else 0)


class _Out:
    """Sparse files written at offsets."""

    def __init__(self) -> None:
        self.fds: dict[Path, int] = {}

    def create(self, path: Path, size: int) -> None:
        fd = self.fds[path] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.ftruncate(fd, size)

    def put(self, path: Path, offset: int, data: bytes) -> None:
        os.pwrite(self.fds[path], data, offset)

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)


def _write_extents(ns: _Ns, paths: list[Path], out: _Out, options: WriterOptions) -> None:
    """Extent headers, live record chains, removed documents' bytes, deleted records."""
    chain = ns.extents
    for i, extent in enumerate(chain):
        path, live = paths[extent.file], [r for r in extent.recs if r.live]
        first = (extent.file, live[0].ofs) if live else NULL
        last = (extent.file, live[-1].ofs) if live else NULL
        xnext = (chain[i + 1].file, chain[i + 1].ofs) if i + 1 < len(chain) else NULL
        xprev = (chain[i - 1].file, chain[i - 1].ofs) if i else NULL
        out.put(path, extent.ofs, EXTENT_STRUCT.pack(MAGIC, extent.file, extent.ofs, *xnext, *xprev,
                                               extent.ns.encode(), extent.length, *first, *last))
        for j, rec in enumerate(live):
            links = (live[j + 1].ofs if j + 1 < len(live) else -1, live[j - 1].ofs if j else -1)
            out.put(path, rec.ofs, RECORD_STRUCT.pack(rec.length, extent.ofs, *links) + rec.raw)
        for rec in extent.recs:
            if not rec.live:
                out.put(path, rec.ofs + RECORD_HEADER, rec.raw)
    for deleted in _free(ns).values():
        for k, (extent, ofs, length) in enumerate(deleted):
            following = deleted[k + 1] if k + 1 < len(deleted) else None
            link = NULL if following is None else (following[0].file, following[1])
            scribble = b"\xee" * 4 if options.scribble else b""
            out.put(paths[extent.file], ofs, RECORD_STRUCT.pack(length, extent.ofs, *link) + scribble)


def _write_namespace_file(db: _Database, out: _Out) -> Path:
    """Nodes at their hash slot, probing linearly; a dropped namespace's node is killed."""
    path = db.folder / f"{db.name}.ns"
    out.create(path, db.options.ns_size)
    n = db.options.ns_size // NODE_SIZE
    n -= 1 if n % 2 == 0 else 0
    used: set[int] = set()
    for ns in db.namespaces:
        name = ns.name.encode()
        if len(name) >= 128:
            raise ValueError(f"namespace {ns.name!r} is longer than 127 bytes")
        h = namespace_hash(name)
        slot = h % n
        while slot in used:
            slot = (slot + 1) % n
        used.add(slot)
        if ns.killed:  # Namespace::kill() and setUnused()
            h, name = 0, b"\x7f" + name[1:]
        out.put(path, slot * NODE_SIZE, struct.pack("<i128s", h, name) + _details(ns))
    return path


def _write_database(db: _Database, out: _Out) -> list[Path]:
    options = db.options
    paths = [db.folder / f"{db.name}.{n}" for n in range(len(db.sizes) + options.preallocate)]
    for n, size in enumerate(db.sizes):
        out.create(paths[n], size)
        header = FILE_HEADER.pack(4, options.minor, size, n, db.unused[n], size - db.unused[n] - 16)
        if options.minor & 0x10:  # 3.0: the free list DiskLocs of the header
            header += struct.pack("<4i", *NULL, *NULL)
        out.put(paths[n], 0, header)
    if options.preallocate:
        out.create(paths[-1], min(options.file_size << len(db.sizes), options.max_file_size))
    for ns in db.namespaces:
        if not ns.killed:
            _write_extents(ns, paths, out, options)
    return [_write_namespace_file(db, out)] + paths


def _mark_copy(directory: Path, options: WriterOptions) -> list[Path]:
    """mongod.lock (empty after a clean shutdown) and, when unclean, journal/j._0."""
    lock = directory / "mongod.lock"
    lock.write_bytes(b"4242\n" if options.unclean else b"")
    if not options.unclean:
        return [lock]
    (directory / "journal").mkdir(exist_ok=True)
    journal = directory / "journal" / "j._0"
    journal.write_bytes(b"j\n" + bytes(8190))  # a placeholder: readers only see that it exists
    return [lock, journal]


def _tear(documents: list[tuple[Path, int, int]], out: _Out) -> None:
    """Zero the second half of the last document, as a page written only in part."""
    path, offset, length = documents[-1]
    out.put(path, offset + length // 2, bytes(length - length // 2))


def write_mmapv1_dir(directory: Path, databases: Mapping[str, Sequence[CollectionSpec]],
                     options: WriterOptions | None = None) -> Written:
    """Write a data directory holding these databases and collections."""
    options = options or WriterOptions()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = Written(_mark_copy(directory, options), {})
    out = _Out()
    try:
        for name, specs in databases.items():
            folder = directory / name if options.directory_per_db else directory
            folder.mkdir(exist_ok=True)
            db = _Database(name, folder, options)
            users = [_user_collection(db, spec) for spec in specs]
            _catalog(db, users)
            paths = _write_database(db, out)
            written.files += paths
            for ns in db.namespaces:
                if not ns.killed and "$" not in ns.name:
                    written.documents[(name, ns.name[len(name) + 1:])] = [
                        (paths[1 + r.file], r.ofs + RECORD_HEADER, len(r.raw))
                        for r in ns.live()]
            if options.torn is not None and options.torn[0] == name:
                _tear(written.documents[options.torn], out)
    finally:
        out.close()
    return written
