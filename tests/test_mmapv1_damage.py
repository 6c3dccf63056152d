"""Damaged MMAPv1 directories: located errors, bounded time, nothing made up.

Each kind of damage is made by hand in a directory from the writer; the
reader must raise ``WarehouseError`` at the right ``path@offset`` when the
damaged collection is read, and still read the other collection. A fuzz test
flips and truncates bytes anywhere but inside live documents (MMAPv1 has no
checksums: a flipped byte inside a string is undetectable) and checks that
only ``WarehouseError`` or the written documents, at their offsets, come out,
and that a collection read without an error gave all of its documents.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.errors import WarehouseError
from warehouse.formats.mmapv1 import read_mmapv1_dir
from warehouse.demo.mmapv1_writer import CollectionSpec, WriterOptions, Written, write_mmapv1_dir

A_DOCS = [{"_id": i, "text": "a" * (300 + 11 * i)} for i in range(60)]
B_DOCS = [{"_id": i, "b": [i, str(i)]} for i in range(15)]
OPTIONS = WriterOptions(file_size=24 * 1024, max_file_size=24 * 1024, extent_size=8192,
                        ns_size=64 * 1024, quantize=True, scribble=True)


@dataclass
class Site:
    """The written directory, and where things of collection ``a`` are."""

    root: Path
    written: Written

    def records(self) -> list[tuple[Path, int]]:  # (data file, record offset), chain order
        return [(p, o - 16) for p, o, _ in self.written.documents[("sim", "a")]]

    def extents(self) -> list[tuple[Path, int]]:
        found: list[tuple[Path, int]] = []
        for path, ofs in self.records():
            extent = (path, peek(path, ofs + 4, "<i")[0])
            if extent not in found:
                found.append(extent)
        return found

    def node(self, name: bytes) -> int:
        data = (self.root / "sim.ns").read_bytes()  # nodes: int32 hash, then the name
        return next(i for i in range(0, len(data), 628) if data[i + 4:].startswith(name + b"\0"))


def peek(path: Path, offset: int, fmt: str) -> tuple[int, ...]:
    with open(path, "rb") as file:
        file.seek(offset)
        return struct.unpack(fmt, file.read(struct.calcsize(fmt)))


def poke(path: Path, offset: int, fmt: str, *values: int) -> None:
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(struct.pack(fmt, *values))


@pytest.fixture
def site(tmp_path: Path) -> Site:
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("a", A_DOCS),
                                                  CollectionSpec("b", B_DOCS)]}, OPTIONS)
    made = Site(tmp_path, written)
    assert len({p for p, _ in made.extents()}) >= 3  # a's extents span sim.0 .. sim.2
    return made


def read(site: Site, name: str) -> tuple[list[dict], WarehouseError | None]:
    collection = {c.name: c for c in read_mmapv1_dir(site.root).collections}[name]
    docs: list[dict] = []
    try:
        docs.extend(r.document for r in collection.records())
    except WarehouseError as exc:
        return docs, exc
    return docs, None


def expect(site: Site, where: tuple[Path, int], message: str, before: int = 0) -> None:
    """Reading ``a`` yields its first ``before`` documents, then fails at ``where``."""
    start = time.monotonic()
    docs, error = read(site, "a")
    assert time.monotonic() - start < 5
    assert error is not None, "the damage went unnoticed"
    assert (error.path, error.offset) == (str(where[0]), where[1]), str(error)
    assert message in error.message, str(error)
    assert str(error).startswith(f"{where[0]}@{where[1]}: ")
    assert docs == A_DOCS[:before]
    assert read(site, "b") == (B_DOCS, None)


def test_bad_extent_magic(site: Site) -> None:
    path, ofs = site.extents()[1]
    poke(path, ofs, "<I", 0x41424345)
    expect(site, (path, ofs), "bad magic 0x41424345")


def test_extent_pointer_to_missing_file(site: Site) -> None:
    path, ofs = site.extents()[0]
    poke(path, ofs + 12, "<ii", 77, 0x2000)
    expect(site, (path, ofs + 12), "extent 77:2000 points to sim.77, which does not exist")


def test_extent_pointer_outside_its_file(site: Site) -> None:
    path, ofs = site.extents()[0]
    poke(path, ofs + 12, "<ii", 0, 0x7FFF0000)
    expect(site, (path, ofs + 12), "runs past the end of sim.0 (24576 bytes; outside the file)")


def test_extent_pointer_into_file_header(site: Site) -> None:
    path, ofs = site.extents()[0]
    poke(path, ofs + 12, "<ii", 1, 64)
    expect(site, (path, ofs + 12), "extent 1:40 points into the header of sim.1")


def test_truncated_data_file(site: Site) -> None:
    extents = site.extents()
    index = next(i for i, (p, _) in enumerate(extents) if p.name == "sim.2")
    target = extents[index][0]
    os.truncate(target, 8192 + 100)
    before, before_ofs = extents[index - 1]
    expect(site, (before, before_ofs + 12), "runs past the end of sim.2 (8292 bytes; the file is"
           " truncated: its header says 24576 bytes)")


def test_data_file_shorter_than_its_header(site: Site) -> None:
    os.truncate(site.root / "sim.1", 100)
    expect(site, (site.root / "sim.1", 0), "shorter than its 8192-byte header")


def test_cyclic_extent_chain(site: Site) -> None:
    extents = site.extents()
    last_path, last_ofs = extents[-1]
    first_path, first_ofs = extents[0]
    poke(last_path, last_ofs + 12, "<ii", int(first_path.suffix[1:]), first_ofs)
    expect(site, (last_path, last_ofs + 12), "loops back to extent 0:2000")


def test_cyclic_record_chain(site: Site) -> None:
    (p0, r0), (_, r1), _, (p3, r3) = site.records()[:4]
    poke(p3, r3 + 8, "<i", r1)
    expect(site, (p3, r3 + 8), f"record chain of extent 0:2000 loops back to 0:{r1:x}", before=4)


def test_record_pointer_leaves_its_extent(site: Site) -> None:
    path, r1 = site.records()[1]
    poke(path, r1 + 8, "<i", 0x2000 + 100)  # into the extent's own header
    expect(site, (path, r1 + 8), "record pointer 0:2064 leaves extent 0:2000", before=2)


def test_bson_length_runs_past_its_record(site: Site) -> None:
    path, r2 = site.records()[2]
    (length,) = peek(path, r2, "<i")
    poke(path, r2 + 16, "<i", length - 16 + 4)
    expect(site, (path, r2 + 16), f"runs past its record (record 0:{r2:x}, {length - 16} bytes",
           before=2)


def test_record_length_runs_past_its_extent(site: Site) -> None:
    path, r2 = site.records()[2]
    poke(path, r2, "<i", 1 << 20)
    expect(site, (path, r2), "of length 1048576 does not fit in extent 0:2000", before=2)


def test_record_of_another_extent(site: Site) -> None:
    path, r2 = site.records()[2]
    poke(path, r2 + 4, "<i", 0x4000)
    expect(site, (path, r2), "says its extent is at 4000", before=2)


def test_record_chain_cut_short(site: Site) -> None:
    extent_path, extent_ofs = site.extents()[0]
    path, r2 = site.records()[2]
    poke(path, r2 + 8, "<i", -1)  # the chain ends early: the rest of the extent is lost
    expect(site, (extent_path, extent_ofs + 168), "but the extent's last record is", before=3)


def test_first_extent_pointing_at_another_collection(site: Site) -> None:
    """A pointer into b's extents fails before any of b's documents comes out as a's."""
    b_path, b_bson, _ = site.written.documents[("sim", "b")][0]
    (b_extent,) = peek(b_path, b_bson - 16 + 4, "<i")
    node = site.node(b"sim.a")
    poke(site.root / "sim.ns", node + 132, "<ii", int(b_path.suffix[1:]), b_extent)
    expect(site, (site.root / "sim.ns", node + 132 + 8), "but the namespace's last extent is")


def test_record_count_differs_from_the_namespace(site: Site) -> None:
    node = site.node(b"sim.a")
    poke(site.root / "sim.ns", node + 132 + 176, "<q", len(A_DOCS) + 1)
    expect(site, (site.root / "sim.ns", node + 132 + 176),
           f"the record chains hold {len(A_DOCS)} documents, but the namespace says 61",
           before=len(A_DOCS))


def test_damaged_namespace_name_is_a_warning(site: Site) -> None:
    node = site.node(b"sim.a")
    poke(site.root / "sim.ns", node + 4 + 4, "<B", ord("x"))  # sim.a -> sim.x, hash unchanged
    directory = read_mmapv1_dir(site.root)
    assert "a" not in {c.name for c in directory.collections}
    assert any(w.startswith(f"{site.root / 'sim.ns'}@{node}: namespace node skipped")
               for w in directory.warnings)
    assert read(site, "b") == (B_DOCS, None)


# -- fuzz -----------------------------------------------------------------------

_PRISTINE: dict[str, object] = {}


def _pristine() -> tuple[Path, dict[str, bytes], dict[tuple[str, str], set], dict[str, list[int]]]:
    """One written directory (made once), its bytes, the live documents, the positions to damage."""
    if not _PRISTINE:
        root = Path(tempfile.mkdtemp(prefix="mmapv1-fuzz-"))
        written = write_mmapv1_dir(root, {"sim": [
            CollectionSpec("a", A_DOCS, delete=[3, 4, 30]), CollectionSpec("b", B_DOCS),
            CollectionSpec("c", B_DOCS, capped_size=4096, capped_max=9),
            CollectionSpec("d", B_DOCS[:4], dropped=True)]}, OPTIONS)
        files = {p.name: p.read_bytes() for p in written.files if p.name.startswith("sim.")}
        live = {key: {(o, files[p.name][o:o + n]) for p, o, n in docs}
                for key, docs in written.documents.items()}
        inside = {(p.name, o + i) for docs in written.documents.values() for p, o, n in docs
                  for i in range(n)}
        positions = {name: [i for i in range(len(data.rstrip(b"\0")) + 16)
                            if (name, i) not in inside
                            and (not name.endswith(".ns") or any(data[i - i % 628:][:4]))]
                     for name, data in files.items()}
        _PRISTINE.update(root=root, files=files, live=live, positions=positions)
    return (_PRISTINE["root"], _PRISTINE["files"], _PRISTINE["live"],  # type: ignore[return-value]
            _PRISTINE["positions"])


@st.composite
def damage(draw: Callable) -> tuple[list[tuple[str, int, int]], tuple[str, int] | None]:
    _, files, _, positions = _pristine()
    names = sorted(files)
    flips = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(names))
        position = positions[name][draw(st.integers(0, len(positions[name]) - 1))]
        flips.append((name, position, draw(st.integers(0, 255))))
    cut = None
    if draw(st.booleans()):
        name = draw(st.sampled_from(names))
        cut = (name, draw(st.integers(0, len(files[name].rstrip(b"\0")))))
    return flips, cut


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damage())
def test_fuzz_only_errors_or_written_documents(change: tuple[list, tuple | None]) -> None:
    root, files, live, _ = _pristine()
    flips, cut = change
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, data in files.items():
            changed = bytearray(data)
            for flipped, position, value in flips:
                if flipped == name:
                    changed[position] = value
            if cut is not None and cut[0] == name:
                del changed[cut[1]:]
            (folder / name).write_bytes(bytes(changed))
        start = time.monotonic()
        try:
            directory = read_mmapv1_dir(folder)
        except WarehouseError:
            return
        for collection in directory.collections:
            key = (collection.database, collection.name)
            assert key in live
            seen = set()
            try:
                for record in collection.records():
                    found = (record.offset, _encode(record.document))
                    assert found in live[key] and found not in seen, (key, record.offset)
                    seen.add(found)
            except WarehouseError as exc:
                assert exc.path is not None and exc.offset is not None
            else:  # read through without an error: then nothing was lost either
                assert seen == live[key], key
        assert time.monotonic() - start < 10


def _encode(document: dict) -> bytes:
    import bson
    return bson.encode(document)


def teardown_module() -> None:
    if _PRISTINE:
        shutil.rmtree(_PRISTINE["root"], ignore_errors=True)  # type: ignore[arg-type]
