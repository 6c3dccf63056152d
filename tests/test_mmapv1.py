"""The MMAPv1 reader on directories written by warehouse.demo.mmapv1_writer.

Golden values are the documents given to the writer and the offsets where it
put them, never the reader's own output.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import bson
import pytest

from warehouse.errors import WarehouseError
from warehouse.formats.bsonfile import CODEC_OPTIONS
from warehouse.formats.mmapv1 import (
    Collection,
    DataDirectory,
    is_mmapv1_dir,
    read_mmapv1_dir,
)
from warehouse.demo.mmapv1_writer import (
    SMALLFILES,
    CollectionSpec,
    WriterOptions,
    Written,
    write_mmapv1_dir,
)

RUNS = [{"_id": i, "model": f"m{i % 3}", "values": [i * 0.5, -i], "seed": 2**62 + i}
        for i in range(120)]
SMALL_FILES = WriterOptions(file_size=32 * 1024, max_file_size=64 * 1024, ns_size=64 * 1024)


def by_name(directory: DataDirectory) -> dict[tuple[str, str], Collection]:
    return {(c.database, c.name): c for c in directory.collections}


def read_all(path: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {key: [r.document for r in c.records()]
            for key, c in by_name(read_mmapv1_dir(path)).items()}


def assert_golden(path: Path, written: Written, expected: dict[tuple[str, str], list]) -> None:
    """Documents equal the writer's input; offsets equal where the writer put them."""
    collections = by_name(read_mmapv1_dir(path))
    for key, docs in expected.items():
        records = list(collections[key].records())
        assert [r.document for r in records] == docs
        assert [r.offset for r in records] == [o for _, o, _ in written.documents[key]]
        assert {(r.database, r.collection, r.line) for r in records} <= {key + (None,)}


def test_round_trip_and_offsets(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS)]})
    assert is_mmapv1_dir(tmp_path)
    directory = read_mmapv1_dir(tmp_path)
    assert directory.engine == "mmapv1" and directory.warnings == []
    assert_golden(tmp_path, written, {("sim", "runs"): RUNS})
    runs = by_name(directory)[("sim", "runs")]
    assert runs.path == tmp_path / "sim.ns" and runs.files == [tmp_path / "sim.0"]
    assert not runs.system and runs.metadata["nrecords"] == len(RUNS)
    assert runs.metadata["capped"] is False and "options" not in runs.metadata


def test_collections_only_never_index_namespaces(tmp_path: Path) -> None:
    """Index extents hold BSON-looking bytes: a scanning reader would yield them."""
    write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS),
                                        CollectionSpec("other", RUNS[:3])]})
    names = {c.name for c in read_mmapv1_dir(tmp_path).collections}
    assert names == {"runs", "other", "system.indexes", "system.namespaces"}
    assert b"not_a_document" in (tmp_path / "sim.0").read_bytes()
    for docs in read_all(tmp_path).values():
        assert all("not_a_document" not in d for d in docs)


def test_system_collections_flagged_and_read(tmp_path: Path) -> None:
    write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS),
                                        CollectionSpec("cap", RUNS[:5], capped_size=8192)]})
    collections = by_name(read_mmapv1_dir(tmp_path))
    assert collections[("sim", "system.indexes")].system
    assert collections[("sim", "system.namespaces")].system
    indexes = [r.document for r in collections[("sim", "system.indexes")].records()]
    assert indexes == [{"v": 1, "key": {"_id": 1}, "name": "_id_", "ns": "sim.runs"},
                       {"v": 1, "key": {"_id": 1}, "name": "_id_", "ns": "sim.cap"}]
    names = {r.document["name"] for r in collections[("sim", "system.namespaces")].records()}
    assert names == {"sim.system.indexes", "sim.runs", "sim.runs.$_id_", "sim.cap",
                     "sim.cap.$_id_"}


@pytest.mark.parametrize("minor", [5, 6, 0x16], ids=["4.5", "4.6", "3.0"])
def test_versions(tmp_path: Path, minor: int) -> None:
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS)]},
                               WriterOptions(minor=minor))
    assert is_mmapv1_dir(tmp_path)
    assert_golden(tmp_path, written, {("sim", "runs"): RUNS})


@pytest.mark.parametrize("version", [(4, 7), (5, 6), (0, 0), (4, 0x17)])
def test_other_versions_are_not_recognised(tmp_path: Path, version: tuple[int, int]) -> None:
    write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS)]})
    with open(tmp_path / "sim.0", "r+b") as file:
        file.write(struct.pack("<ii", *version))
    assert not is_mmapv1_dir(tmp_path)
    with pytest.raises(WarehouseError, match="not a MongoDB MMAPv1 data directory"):
        read_mmapv1_dir(tmp_path)


def test_not_mmapv1(tmp_path: Path) -> None:
    (tmp_path / "WiredTiger").write_text("WiredTiger\n")
    (tmp_path / "x.ns").write_bytes(bytes(628))  # no x.0 beside it
    assert not is_mmapv1_dir(tmp_path) and not is_mmapv1_dir(tmp_path / "missing")
    with pytest.raises(WarehouseError):
        read_mmapv1_dir(tmp_path)


def test_padded_records(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS,
                                                                 padding_factor=1.8)]})
    data = (tmp_path / "sim.0").read_bytes()
    for (_, offset, length), _doc in zip(written.documents[("sim", "runs")], RUNS):
        (record_length,) = struct.unpack_from("<i", data, offset - 16)
        assert record_length - 16 >= 1.7 * length  # padding after each document
    assert_golden(tmp_path, written, {("sim", "runs"): RUNS})
    runs = by_name(read_mmapv1_dir(tmp_path))[("sim", "runs")]
    assert runs.metadata["padding_factor"] == 1.8


def test_power_of_2_records(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS, power_of_2=True)]})
    data = (tmp_path / "sim.0").read_bytes()
    for _, offset, _ in written.documents[("sim", "runs")]:
        (record_length,) = struct.unpack_from("<i", data, offset - 16)
        assert record_length & (record_length - 1) == 0
    assert_golden(tmp_path, written, {("sim", "runs"): RUNS})
    runs = by_name(read_mmapv1_dir(tmp_path))[("sim", "runs")]
    assert runs.metadata["power_of_2_sizes"] and runs.metadata["options"] == {"flags": 1}


def test_extents_cross_data_files(tmp_path: Path) -> None:
    docs = [{"_id": i, "text": "x" * (500 + i * 7)} for i in range(300)]
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("a", docs),
                                                  CollectionSpec("b", RUNS)]}, SMALL_FILES)
    used = {path.name for path, _, _ in written.documents[("sim", "a")]}
    assert len(used) >= 4  # sim.0, sim.1, ...
    assert_golden(tmp_path, written, {("sim", "a"): docs, ("sim", "b"): RUNS})
    a = by_name(read_mmapv1_dir(tmp_path))[("sim", "a")]
    assert a.files == sorted(a.files, key=lambda p: int(p.suffix[1:])) and len(a.files) >= 4


def test_smallfiles(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS)]},
                               SMALLFILES)
    assert (tmp_path / "sim.0").stat().st_size == 16 * 1024 * 1024
    assert_golden(tmp_path, written, {("sim", "runs"): RUNS})


def test_deleted_documents_never_come_back(tmp_path: Path) -> None:
    removed = [0, 5, 6, 7, 119]
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS, delete=removed)]})
    data = (tmp_path / "sim.0").read_bytes()
    for i in removed:  # whole documents stay on disk, on the deleted lists
        assert bson.encode(RUNS[i]) in data
    kept = [d for i, d in enumerate(RUNS) if i not in removed]
    assert_golden(tmp_path, written, {("sim", "runs"): kept})
    runs = by_name(read_mmapv1_dir(tmp_path))[("sim", "runs")]
    assert runs.metadata["nrecords"] == len(kept)


def test_dropped_collection_on_freelist_is_not_read(tmp_path: Path) -> None:
    gone = [{"_id": i, "dropped": True} for i in range(30)]
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("old", gone, dropped=True),
                                                  CollectionSpec("runs", RUNS)]})
    assert bson.encode(gone[3]) in (tmp_path / "sim.0").read_bytes()
    found = read_all(tmp_path)
    assert set(found) == {("sim", "runs"), ("sim", "system.indexes"), ("sim", "system.namespaces")}
    assert_golden(tmp_path, written, {("sim", "runs"): RUNS})


def test_capped(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"sim": [
        CollectionSpec("log", RUNS, capped_size=20000, capped_max=40),
        CollectionSpec("all", RUNS[:10], capped_size=5000)]})
    assert_golden(tmp_path, written, {("sim", "log"): RUNS[-40:], ("sim", "all"): RUNS[:10]})
    log = by_name(read_mmapv1_dir(tmp_path))[("sim", "log")]
    assert log.metadata["capped"] and log.metadata["max_docs"] == 40
    assert log.metadata["options"] == {"create": "log", "capped": True, "size": 20000, "max": 40}
    assert bson.encode(RUNS[0]) in (tmp_path / "sim.0").read_bytes()  # removed, bytes kept


def test_directory_per_db(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"one": [CollectionSpec("runs", RUNS)],
                                          "two": [CollectionSpec("runs", RUNS[:7])]},
                               WriterOptions(directory_per_db=True))
    assert (tmp_path / "one" / "one.ns").is_file() and (tmp_path / "two" / "two.0").is_file()
    assert is_mmapv1_dir(tmp_path)
    assert_golden(tmp_path, written, {("one", "runs"): RUNS, ("two", "runs"): RUNS[:7]})
    assert by_name(read_mmapv1_dir(tmp_path))[("two", "runs")].files == [tmp_path / "two" / "two.0"]


def test_preallocated_file_is_ignored(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS)]},
                               WriterOptions(preallocate=True))
    assert (tmp_path / "sim.1").read_bytes()[:8] == bytes(8)
    assert_golden(tmp_path, written, {("sim", "runs"): RUNS})


def test_quantized_and_scribbled_as_2_6_wrote(tmp_path: Path) -> None:
    """2.6 rounds record sizes to 1/16 of their bucket and marks deleted records 0xeeeeeeee."""
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS, delete=[2, 9])]},
                               WriterOptions(quantize=True, scribble=True))
    kept = [d for i, d in enumerate(RUNS) if i not in (2, 9)]
    assert_golden(tmp_path, written, {("sim", "runs"): kept})


def test_a_real_servers_layout_reads(tmp_path: Path) -> None:
    """The layout of a 2.6 server's test.0 (see test_mmapv1_writer), documents with undefined."""
    from test_mmapv1_writer import _test_js_document

    raws = [_test_js_document(k) for k in range(10)]
    written = write_mmapv1_dir(tmp_path, {"test": [CollectionSpec("small", raws)]},
                               replace(SMALLFILES, quantize=True, scribble=True))
    assert_golden(tmp_path, written, {("test", "small"): [bson.decode(r, CODEC_OPTIONS)
                                                          for r in raws]})
    assert [o for _, o, _ in written.documents[("test", "small")]][:2] == [0x20C0, 0x3EC0]


def test_several_databases_in_one_directory(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"a": [CollectionSpec("x", RUNS[:3])],
                                          "b": [CollectionSpec("x", RUNS[3:9])]})
    assert_golden(tmp_path, written, {("a", "x"): RUNS[:3], ("b", "x"): RUNS[3:9]})


def test_unclean_copy_warns_and_still_reads(tmp_path: Path) -> None:
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", RUNS)]},
                               WriterOptions(unclean=True))
    directory = read_mmapv1_dir(tmp_path)
    assert len(directory.warnings) == 1
    warning = directory.warnings[0]
    assert warning.startswith("unclean copy") and "mongod.lock is not empty" in warning
    assert "j._0" in warning and "recent writes may be missing" in warning
    assert_golden(tmp_path, written, {("sim", "runs"): RUNS})


def test_torn_document_is_a_located_error(tmp_path: Path) -> None:
    docs = [{"_id": i, "text": "y" * 200, "n": list(range(20))} for i in range(10)]
    written = write_mmapv1_dir(tmp_path, {"sim": [CollectionSpec("runs", docs),
                                                  CollectionSpec("ok", RUNS)]},
                               WriterOptions(unclean=True, torn=("sim", "runs")))
    path, offset, _ = written.documents[("sim", "runs")][-1]
    collections = by_name(read_mmapv1_dir(tmp_path))
    got: list[dict[str, Any]] = []
    with pytest.raises(WarehouseError) as caught:
        got.extend(r.document for r in collections[("sim", "runs")].records())
    assert got == docs[:-1]
    assert (caught.value.path, caught.value.offset) == (str(path), offset)
    assert str(caught.value).startswith(f"{path}@{offset}: invalid BSON document")
    assert [r.document for r in collections[("sim", "ok")].records()] == RUNS
