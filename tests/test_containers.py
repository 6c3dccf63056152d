"""Tar and zip files read as folders: every compression, every format inside, nested
containers, damage, unsafe members, re-builds and --replace.

Containers are made by the real ``tar`` and ``zip`` programs where the machine
has them, and by Python's ``tarfile``/``zipfile`` for what those cannot make
(members in a chosen order, unsafe members, damage at a known place). The
expected warehouse is the one built from the same files loose.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from conftest import rows
from warehouse.cli import main
from warehouse.demo import dumpwriter, generate
from warehouse.demo.compressed import open_writer
from warehouse.demo.dialects import write_json_array, write_json_lines
from warehouse.pipeline import build as build_module
from warehouse.pipeline.build import build

DB = "equifinality-3_samples_raw"
VIEWS = ("simulation_data", "population_data", "sampled_data", "tasampled_data")
HAS_TAR = shutil.which("tar") is not None
HAS_ZIP = shutil.which("zip") is not None


# -- inputs -------------------------------------------------------------------------------


def node_folder(root: Path, name: str, start: int, runs: int = 6) -> Path:
    """A node's files: gzip JSON lines, and a mongodump folder (.bson.gz + metadata)."""
    folder = root / name
    folder.mkdir(parents=True)
    docs = list(generate(runs, seed=3, start=start))
    with open_writer(folder / "mixture_model_stats.json.gz", "gzip") as fh:
        write_json_lines(fh, docs[: runs // 2], "3.x")
    dumpwriter.write_collection(folder / "dump", DB, "mixture_model_stats", docs[runs // 2:],
                                "gzip")
    return folder


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def views(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    # sorted: the order of the runs is the order files were read in
    found = {view: sorted(con.execute(f"SELECT * FROM {view}").fetchall(), key=repr)
             for view in VIEWS}
    found["sample_trait"] = con.execute("SELECT count(*), sum(count) FROM sample_trait").fetchall()
    con.close()
    return found


def run_build(*args: str):
    return CliRunner().invoke(main, ["build", "-q", *args])


def python_tar(path: Path, members: list[tuple[str, bytes]], mode: str = "w",
               tar_format: int = tarfile.PAX_FORMAT) -> Path:
    with tarfile.open(path, mode, format=tar_format) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_400_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def tree_members(folder: Path) -> list[tuple[str, bytes]]:
    return [(str(p.relative_to(folder.parent)), p.read_bytes()) for p in files_under(folder)]


@pytest.fixture
def loose(tmp_path: Path) -> tuple[Path, dict]:
    """Two node folders, and the views of a build from them loose."""
    raw = tmp_path / "loose"
    node_folder(raw, "node1", 0)
    node_folder(raw, "node2", 6)
    db = tmp_path / "loose.sqlite"
    assert build(db, [raw]).ok
    return raw, views(db)


# -- every compression, made by the real programs -------------------------------------------


TAR_FLAGS = {"none": "cf", "gzip": "czf", "bzip2": "cjf", "xz": "cJf"}


@pytest.mark.skipif(not HAS_TAR, reason="the tar program is not installed")
@pytest.mark.parametrize("compression", ["none", "gzip", "bzip2", "xz", "zstd"])
def test_a_tar_of_each_compression_loads_as_its_files_loose(tmp_path, loose, compression):
    raw, expected = loose
    (tmp_path / "in").mkdir()
    target = tmp_path / "in" / "nodes.tar"
    subprocess.run(["tar", TAR_FLAGS.get(compression, "cf"), str(target), "node1", "node2"],
                   cwd=raw, check=True)
    if compression == "zstd":  # GNU tar needs a zstd program for --zstd: compress it here
        target.write_bytes(zstandard.ZstdCompressor().compress(target.read_bytes()))
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(tmp_path / "in"))
    assert result.exit_code == 0, result.output
    assert views(db) == expected
    (container,) = rows(db, "SELECT path, kind, compression, complete, sha256 FROM container")
    assert container == (str(target), "tar", compression, 1, sha256(target.read_bytes()))
    members = dict(rows(db, "SELECT member, sha256 FROM container_member WHERE status = 'loaded'"))
    loose_files = {str(p.relative_to(raw)): sha256(p.read_bytes()) for p in files_under(raw)
                   if not p.name.endswith(".metadata.json.gz")}
    assert members == loose_files  # every data file, with the sha256 of its bytes
    sources = rows(db, "SELECT path, node, size, sha256 FROM source ORDER BY path")
    assert [s[0] for s in sources] == sorted(f"{target}!{m}" for m in loose_files)
    assert {s[1] for s in sources} == {"nodes"}  # named after the container
    assert {(s[3], s[2]) for s in sources} == {(sha256((raw / m).read_bytes()), (raw / m).stat().st_size)
                                               for m in loose_files}


@pytest.mark.skipif(not HAS_ZIP, reason="the zip program is not installed")
def test_a_zip_made_by_zip_loads_as_its_files_loose(tmp_path, loose):
    raw, expected = loose
    (tmp_path / "in").mkdir()
    subprocess.run(["zip", "-qr", str(tmp_path / "in" / "node1.zip"), "node1"], cwd=raw, check=True)
    subprocess.run(["zip", "-qr0", str(tmp_path / "in" / "node2.zip"), "node2"], cwd=raw,
                   check=True)  # -0: stored, not deflated
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(tmp_path / "in"))
    assert result.exit_code == 0, result.output
    assert views(db) == expected
    assert rows(db, "SELECT node, count(*) FROM run GROUP BY node") == [("node1", 6), ("node2", 6)]


@pytest.mark.parametrize("tar_format", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT,
                                        tarfile.PAX_FORMAT])
def test_python_tar_formats_and_a_zip64_zip(tmp_path, loose, tar_format):
    raw, expected = loose
    (tmp_path / "in").mkdir()
    python_tar(tmp_path / "in" / "a.tar.gz", tree_members(raw / "node1"), "w:gz", tar_format)
    with zipfile.ZipFile(tmp_path / "in" / "b.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in tree_members(raw / "node2"):
            with archive.open(name, "w", force_zip64=True) as fh:
                fh.write(data)
    db = tmp_path / "w.sqlite"
    assert run_build("--db", str(db), str(tmp_path / "in")).exit_code == 0
    assert views(db) == expected


# -- what a container may hold ------------------------------------------------------------


def test_companions_after_their_bson_and_every_format_inside(tmp_path):
    docs = list(generate(8, seed=4))
    bson_gz = io.BytesIO()
    with open_writer(tmp_path / "c.bson.gz", "gzip") as fh:
        dumpwriter.write_bson(fh, docs[:3])
    archive = tmp_path / "d.archive"
    dumpwriter.write_archive(archive, {(DB, "mixture_model_stats"): docs[3:5]})
    lines = io.BytesIO()
    write_json_lines(lines, docs[5:7], "2.4")
    array = io.BytesIO()
    write_json_array(array, docs[7:], "4.2-canonical")
    metadata = dumpwriter.metadata_json(DB, "mixture_model_stats").encode()
    prelude = b'{"ServerVersion":"2.6.12","ToolVersion":"100.9.4"}'
    tar = python_tar(tmp_path / "node7.tar", [
        (f"dump/{DB}/mixture_model_stats.bson.gz", (tmp_path / "c.bson.gz").read_bytes()),
        (f"dump/{DB}/mixture_model_stats.metadata.json", metadata),  # after its .bson
        ("dump/prelude.json", prelude),
        ("exports/all.archive", archive.read_bytes()),
        ("exports/runs.json", lines.getvalue()),
        ("exports/runs-array.json.zst", zstandard.ZstdCompressor().compress(array.getvalue())),
    ])
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(tar))
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT count(*), count(DISTINCT node) FROM run") == [(8, 1)]
    assert rows(db, "SELECT DISTINCT node FROM run") == [("node7",)]
    bson_source = f"{tar}!dump/{DB}/mixture_model_stats.bson.gz"
    assert rows(db, "SELECT format, compression, database_name, collection, dump_header "
                    "FROM source WHERE path = ?", bson_source) == [
        ("mongodump-bson", "gzip", DB, "mixture_model_stats", prelude.decode())]
    assert rows(db, "SELECT n.metadata FROM source_namespace AS n JOIN source USING (source_id) "
                    "WHERE path = ?", bson_source) == [(metadata.decode(),)]
    formats = rows(db, "SELECT format FROM source ORDER BY path")
    assert formats == [("mongodump-bson",), ("mongodump-archive",), ("mongoexport-array",),
                       ("mongoexport-jsonl",)]
    statuses = dict(rows(db, "SELECT member, status FROM container_member"))
    assert statuses["dump/prelude.json"] == "companion"
    assert statuses[f"dump/{DB}/mixture_model_stats.metadata.json"] == "companion"


def test_export_csv_files_inside_a_tar_load_in_the_writing_process(tmp_path, monkeypatch):
    from warehouse.access.export import export

    docs = list(generate(5, seed=9))
    raw = tmp_path / "raw"
    (raw / "n").mkdir(parents=True)
    with open_writer(raw / "n" / "x.json", "none") as fh:
        write_json_lines(fh, docs, "3.x")
    first = tmp_path / "first.sqlite"
    assert build(first, [raw]).ok
    export(first, tmp_path / "csv", "eq")
    with open_writer(tmp_path / "other.json", "none") as fh:  # read by the worker first
        write_json_lines(fh, list(generate(5, seed=9, start=100)), "3.x")
    tar = python_tar(tmp_path / "csvs.tar.bz2", [("a/other.json", (tmp_path / "other.json")
                                                  .read_bytes())] + tree_members(tmp_path / "csv"),
                     "w:bz2")
    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)  # the worker meets CSV members
    db = tmp_path / "w.sqlite"
    summary = build(db, [tar], jobs=2)
    assert summary.ok, [str(f.error) for f in summary.failed]
    assert summary.parallel
    # read again here from the first CSV member on: each member said once, as loaded
    members = [(f.status, f.path.rsplit("!", 1)[1]) for f in summary.files[:-1]]
    assert members == [("loaded", "a/other.json")] + [
        ("loaded", f"csv/eq-{name}-data.csv")
        for name in ("population", "sampled", "simulation", "tasampled")]
    other = tmp_path / "other.sqlite"
    assert build(other, [tmp_path / "other.json"]).ok
    for view in VIEWS:
        count = f"SELECT count(*) FROM {view}"
        assert rows(db, count)[0][0] == rows(first, count)[0][0] + rows(other, count)[0][0]
    assert rows(db, "SELECT count(*) FROM source WHERE format LIKE 'csv-%'") == [(4,)]


def test_a_member_the_writer_refuses_fails_alone_with_two_cores_as_with_one(tmp_path,
                                                                            monkeypatch):
    from bson import Decimal128

    from warehouse.demo import make_timing, timing_rng

    runs = list(generate(6, seed=5))
    timings = [make_timing(run, timing_rng(5, i)) for i, run in enumerate(runs)]
    timings[1]["elapsed_time"] = Decimal128("1234.5")  # no SQLite type stores it
    node = tmp_path / "node3"
    dumpwriter.write_collection(node / "dump", "db", "simulation_timing", timings, "none")
    dumpwriter.write_collection(node / "dump", "db", "mixture_model_stats", runs, "none")
    bad, good = (f"node3/dump/db/{name}.bson" for name in ("simulation_timing",
                                                           "mixture_model_stats"))
    tar = python_tar(tmp_path / "node3.tar", [(name, (tmp_path / name).read_bytes())
                                              for name in (bad, good)])
    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    for jobs in (1, 2):
        db = tmp_path / f"w{jobs}.sqlite"
        summary = build(db, [tar], jobs=jobs)
        assert summary.parallel == (jobs == 2)
        assert [(f.status, f.path) for f in summary.files] == [
            ("failed", f"{tar}!{bad}"), ("loaded", f"{tar}!{good}"), ("incomplete", str(tar))]
        assert "a value SQLite cannot store" in str(summary.files[0].error)
        assert rows(db, "SELECT count(*) FROM run") == [(6,)]
        assert rows(db, "SELECT member, status FROM container_member ORDER BY member") == [
            (good, "loaded"), (bad, "failed")]


def test_nested_containers_and_compressed_members(tmp_path, loose):
    raw, expected = loose
    inner_zip = io.BytesIO()
    with zipfile.ZipFile(inner_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in tree_members(raw / "node2"):
            archive.writestr(name, data)
    inner_tar = python_tar(tmp_path / "inner.tar.xz", tree_members(raw / "node1"), "w:xz")
    outer = python_tar(tmp_path / "outer.tar.gz", [
        ("inner.tar.xz", inner_tar.read_bytes()), ("deeper/node2.zip", inner_zip.getvalue())],
        "w:gz")
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(outer))
    assert result.exit_code == 0, result.output
    assert views(db) == expected
    statuses = dict(rows(db, "SELECT member, status FROM container_member"))
    assert statuses["inner.tar.xz"] == "container"
    assert statuses["deeper/node2.zip"] == "container"
    assert statuses["inner.tar.xz!node1/mixture_model_stats.json.gz"] == "loaded"
    paths = [p for (p,) in rows(db, "SELECT path FROM source")]
    assert f"{outer}!deeper/node2.zip!node2/mixture_model_stats.json.gz" in paths


def test_a_two_core_build_of_containers_equals_a_one_core_build(tmp_path, loose, monkeypatch):
    raw, expected = loose
    tar = python_tar(tmp_path / "all.tar", tree_members(raw / "node1") + tree_members(raw / "node2"))
    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    db = tmp_path / "w.sqlite"
    summary = build(db, [tar], jobs=2)
    assert summary.ok and summary.parallel
    assert views(db) == expected


def test_two_cores_tell_repeated_runs_and_members_as_one_core_does(tmp_path, monkeypatch):
    """The worker reads on past members the writer has not committed yet: a run
    repeated in the next member, and a member repeated whole, are still told."""
    def lines(docs: list[dict]) -> bytes:
        out = io.BytesIO()
        write_json_lines(out, docs, "3.x")
        return out.getvalue()

    docs = list(generate(12, seed=3))
    first, overlapping, last = lines(docs[:6]), lines(docs[3:9]), lines(docs[9:])
    tar = python_tar(tmp_path / "t.tar", [("n/a.json", first), ("n/copy/a.json", first),
                                          ("n/b.json", overlapping), ("n/c.json", last)])
    monkeypatch.setattr(build_module, "PARALLEL_MIN_BYTES", 0)
    found = []
    for jobs in (1, 2):
        db = tmp_path / f"w{jobs}.sqlite"
        summary = build(db, [tar], jobs=jobs)
        assert summary.ok and summary.parallel == (jobs == 2)
        found.append(([(f.status, f.runs, f.duplicates) for f in summary.files],
                      rows(db, "SELECT member, status FROM container_member ORDER BY member"),
                      rows(db, "SELECT count(*) FROM run")))
    # by hand: 6 runs, the copy known, 3 new of 6 (3 repeated), 3 new
    assert found[0][0] == [("loaded", 6, 0), ("known", 0, 0), ("loaded", 3, 3),
                           ("loaded", 3, 0), ("container", 0, 0)]
    assert found[0][2] == [(12,)]
    assert found[1] == found[0]


# -- identity: re-builds, members loaded elsewhere, changed containers ------------------------


def test_building_again_opens_nothing(tmp_path, loose, monkeypatch):
    raw, expected = loose
    tar = python_tar(tmp_path / "n.tar.gz", tree_members(raw / "node1"), "w:gz")
    db = tmp_path / "w.sqlite"
    assert build(db, [tar]).ok
    opened = []
    monkeypatch.setattr("warehouse.pipeline.containers.ContainerWriter",
                        lambda *a, **k: opened.append(a) or pytest.fail("container read again"))
    summary = build(db, [tar])
    assert summary.ok and [f.status for f in summary.files] == ["skipped"]
    assert not opened


def test_members_already_loaded_loose_or_elsewhere_load_nothing_twice(tmp_path, loose):
    raw, _ = loose
    db = tmp_path / "w.sqlite"
    assert build(db, [raw]).ok
    before = rows(db, "SELECT count(*) FROM source"), rows(db, "SELECT count(*) FROM run")
    tar = python_tar(tmp_path / "again.tar", tree_members(raw / "node1") + tree_members(raw / "node2"))
    summary = build(db, [tar])
    assert summary.ok
    assert (rows(db, "SELECT count(*) FROM source"), rows(db, "SELECT count(*) FROM run")) == before
    known = rows(db, "SELECT m.member, s.path FROM container_member AS m JOIN source AS s "
                     "USING (source_id) WHERE m.status = 'known' ORDER BY m.member")
    assert len(known) == 4 and all(path == str(raw / member) for member, path in known)
    assert summary.total("duplicates") == 0 and summary.total("runs") == 0


def test_a_changed_container_is_left_out_then_replaced(tmp_path, loose):
    raw, _ = loose
    tar = tmp_path / "in" / "node1.tar"
    tar.parent.mkdir()
    python_tar(tar, tree_members(raw / "node1"))
    db = tmp_path / "w.sqlite"
    assert run_build("--db", str(db), str(tar.parent)).exit_code == 0
    python_tar(tar, tree_members(raw / "node2"))  # other content, same path
    result = run_build("--db", str(db), str(tar.parent))
    assert result.exit_code == 1 and "content changed" in result.output
    assert rows(db, "SELECT count(*) FROM run WHERE node = 'node1'") == [(6,)]
    result = run_build("--db", str(db), "--replace", str(tar.parent))
    assert result.exit_code == 0, result.output
    first_runs = {doc["simulation_run_id"] for doc in generate(6, seed=3, start=0)}
    stored = {key for (key,) in rows(db, "SELECT simulation_run_id FROM run")}
    assert stored == {doc["simulation_run_id"] for doc in generate(6, seed=3, start=6)}
    assert not stored & first_runs
    assert rows(db, "SELECT count(*) FROM container") == [(1,)]


# -- damage ----------------------------------------------------------------------------------


def three_members(tmp_path: Path) -> list[tuple[str, bytes]]:
    out = []
    for k in range(3):
        buffer = io.BytesIO()
        write_json_lines(buffer, list(generate(4, seed=k + 20)), "3.x")
        out.append((f"node3/part{k}.json", buffer.getvalue()))
    return out


@pytest.mark.parametrize("compression", ["gz", "xz"])
def test_a_cut_tar_gz_keeps_the_members_read_whole_before_the_cut(tmp_path, compression):
    members = three_members(tmp_path)
    tar = python_tar(tmp_path / f"node3.tar.{compression}", members, f"w:{compression}")
    data = tar.read_bytes()
    tar.write_bytes(data[: int(len(data) * 0.75)])
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(tar))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    name = {"gz": "gzip", "xz": "xz"}[compression]
    # one line, the container's damage (it was said twice, the member's as a zip's)
    assert len(lines) == 1 and lines[0].startswith(f"{tar}@"), lines
    assert f"damaged {name} stream" in lines[0] and "zip member" not in lines[0]
    assert rows(db, "SELECT note FROM container_member WHERE status = 'failed'") == [(lines[0],)]
    loaded = [p for (p,) in rows(db, "SELECT path FROM source ORDER BY path")]
    assert loaded and all(p.startswith(f"{tar}!node3/part") for p in loaded) and len(loaded) < 3
    assert rows(db, "SELECT count(*) FROM run") == [(4 * len(loaded),)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db, "SELECT complete FROM container") == [(0,)]


def test_an_intact_copy_fetched_again_replaces_a_cut_one_without_replace(tmp_path):
    members = three_members(tmp_path)
    tar = python_tar(tmp_path / "node3.tar.gz", members, "w:gz")
    whole = tar.read_bytes()
    tar.write_bytes(whole[: int(len(whole) * 0.75)])  # the download was cut
    db = tmp_path / "w.sqlite"
    assert run_build("--db", str(db), str(tar)).exit_code == 1
    tar.write_bytes(whole)  # fetched again
    result = run_build("--db", str(db), str(tar))
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT count(*), count(DISTINCT simulation_run_id) FROM run") == [(12, 12)]
    assert rows(db, "SELECT complete, sha256 FROM container") == [(1, sha256(whole))]
    assert rows(db, "SELECT count(*) FROM container_member WHERE status = 'loaded'") == [(3,)]


def test_a_bad_tar_header_checksum_is_an_error_at_its_offset(tmp_path):
    members = three_members(tmp_path)
    tar = python_tar(tmp_path / "node3.tar", members, tar_format=tarfile.USTAR_FORMAT)
    data = bytearray(tar.read_bytes())
    second = 512 + (len(members[0][1]) + 511) // 512 * 512  # the second member's header
    data[second + 10] ^= 0x20  # a letter of its name
    tar.write_bytes(bytes(data))
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(tar))
    assert result.exit_code == 1
    assert f"{tar}@{second}: bad tar header checksum" in result.output
    assert rows(db, "SELECT path FROM source") == [(f"{tar}!node3/part0.json",)]


@pytest.mark.parametrize("size", ["pax -1", "pax abc", "base-256 -1"])
def test_a_bad_member_size_is_an_error_at_its_offset_never_a_hang(tmp_path, size):
    members = three_members(tmp_path)
    tar = tmp_path / "node3.tar"
    if size.startswith("pax"):
        with tarfile.open(tar, "w", format=tarfile.PAX_FORMAT) as out:
            for k, (name, data) in enumerate(members):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                if k == 1:
                    info.pax_headers = {"size": size.split()[1]}
                out.addfile(info, io.BytesIO(data))
        bad = f"bad size '{size.split()[1]}' in a pax header"
    else:  # GNU's base-256 size field, negative
        python_tar(tar, members, tar_format=tarfile.GNU_FORMAT)
        data = bytearray(tar.read_bytes())
        header = 512 + (len(members[0][1]) + 511) // 512 * 512
        data[header + 124: header + 136] = b"\xff" * 12
        data[header + 148: header + 156] = b" " * 8
        data[header + 148: header + 155] = b"%06o\x00" % sum(data[header: header + 512])
        tar.write_bytes(bytes(data))
        bad = "bad size"
    db = tmp_path / "w.sqlite"
    # a process of its own, with a time limit: a negative size once looped forever
    result = subprocess.run([sys.executable, "-m", "warehouse.cli", "build", "-q", "--db",
                             str(db), str(tar)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    second = 512 + (len(members[0][1]) + 511) // 512 * 512  # the second member's first header
    assert result.stderr.startswith(f"{tar}@{second}: {bad}"), result.stderr
    assert "Traceback" not in result.stderr
    assert rows(db, "SELECT path FROM source") == [(f"{tar}!node3/part0.json",)]


def test_a_zip_crc_mismatch_fails_its_member_alone(tmp_path):
    members = three_members(tmp_path)
    target = tmp_path / "node3.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    data = bytearray(target.read_bytes())
    where = data.find(members[1][1][:40])
    data[where + 20] ^= 0x01  # inside the second member's (stored) bytes
    target.write_bytes(bytes(data))
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(target))
    assert result.exit_code == 1
    (line,) = [x for x in result.output.splitlines() if "part1" in x]
    assert line.startswith(f"{target}!node3/part1.json") and "CRC" in line
    assert [p for (p,) in rows(db, "SELECT path FROM source ORDER BY path")] == [
        f"{target}!node3/part0.json", f"{target}!node3/part2.json"]
    assert rows(db, "SELECT status FROM container_member WHERE member = 'node3/part1.json'") == [
        ("failed",)]


def test_a_bad_member_fails_alone_and_is_retried_alone(tmp_path):
    members = three_members(tmp_path)
    members[1] = (members[1][0], members[1][1].replace(b"}", b"!", 1))
    tar = python_tar(tmp_path / "node3.tar", members)
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(tar))
    assert result.exit_code == 1
    assert f"{tar}!node3/part1.json:1: malformed JSON" in result.output
    assert rows(db, "SELECT count(*) FROM run") == [(8,)]
    summary = build(db, [tar])  # the others are not read again
    assert not summary.ok
    assert [(f.path.rsplit("!", 1)[-1], f.status) for f in summary.files] == [
        ("node3/part0.json", "skipped"), ("node3/part1.json", "failed"),
        ("node3/part2.json", "skipped"), (str(tar), "incomplete")]
    assert rows(db, "SELECT count(*) FROM source") == [(2,)]


def test_salvage_keeps_the_intact_records_of_a_damaged_member(tmp_path):
    members = three_members(tmp_path)
    text = members[1][1].split(b"\n")
    text[2] = text[2][:50]
    members[1] = (members[1][0], b"\n".join(text))
    tar = python_tar(tmp_path / "node3.tar", members)
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), "--salvage", str(tar))
    assert result.exit_code == 1
    assert rows(db, "SELECT count(*) FROM run") == [(11,)]
    assert rows(db, "SELECT source_line FROM skipped") == [(3,)]


# -- safety ----------------------------------------------------------------------------------


def test_unsafe_members_are_reported_and_never_followed(tmp_path):
    good = three_members(tmp_path)[0]
    target = tmp_path / "evil.tar"
    with tarfile.open(target, "w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, link in [("link", tarfile.SYMTYPE, "/etc/passwd"),
                                 ("hard", tarfile.LNKTYPE, "node3/part0.json"),
                                 ("dev", tarfile.CHRTYPE, ""), ("fifo", tarfile.FIFOTYPE, "")]:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            tar.addfile(info)
        for name in ("/abs/x.json", "../up.json", "a/../../b.json", good[0]):
            info = tarfile.TarInfo(name)
            info.size = len(good[1])
            tar.addfile(info, io.BytesIO(good[1]))
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(target))
    assert result.exit_code == 1
    unsafe = dict(rows(db, "SELECT member, note FROM container_member WHERE status = 'unsafe'"))
    assert set(unsafe) == {"link", "hard", "dev", "fifo", "/abs/x.json", "../up.json",
                           "a/../../b.json"}
    for member in unsafe:
        assert f"{target}!{member}: " in result.output
    assert rows(db, "SELECT path FROM source") == [(f"{target}!{good[0]}",)]
    assert not (tmp_path / "up.json").exists() and not Path("/abs").exists()


def test_a_zip_whose_entries_overlap_is_refused(tmp_path):
    data = three_members(tmp_path)[0][1]
    target = tmp_path / "bomb.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.json", data)
        archive.writestr("b.json", data)
    raw = bytearray(target.read_bytes())
    # point the second central directory entry at the first member's local header
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 42:central + 46] = (0).to_bytes(4, "little")
    target.write_bytes(bytes(raw))
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(target))
    assert result.exit_code == 1 and "overlap" in result.output
    assert rows(db, "SELECT count(*) FROM source") == [(0,)]


def test_a_member_over_the_bomb_ratio_fails_alone(tmp_path, monkeypatch):
    import warehouse.sources.compression as compression

    monkeypatch.setattr(compression, "MAX_RATIO", 20)
    with open_writer(tmp_path / "z.json.gz", "gzip") as fh:
        fh.write(b'{"simulation_run_id": "' + b" " * (30 << 20))
    members = three_members(tmp_path)[:1] + [("node3/z.json.gz", (tmp_path / "z.json.gz").read_bytes())]
    tar = python_tar(tmp_path / "node3.tar", members)
    db = tmp_path / "w.sqlite"
    result = run_build("--db", str(db), str(tar))
    assert result.exit_code == 1 and "decompression bomb" in result.output
    assert rows(db, "SELECT count(*) FROM run") == [(4,)]


# -- nodes -----------------------------------------------------------------------------------


def test_the_node_of_a_container(tmp_path):
    members = three_members(tmp_path)[:1]
    (tmp_path / "raw" / "node5").mkdir(parents=True)
    python_tar(tmp_path / "raw" / "node4.tar.gz", members, "w:gz")
    python_tar(tmp_path / "raw" / "node5" / "backup.tar", three_members(tmp_path)[1:2])
    db = tmp_path / "w.sqlite"
    assert build(db, [tmp_path / "raw"]).ok
    assert rows(db, "SELECT node, count(*) FROM run GROUP BY node") == [("node4", 4), ("node5", 4)]
    other = tmp_path / "other.sqlite"
    assert build(other, [tmp_path / "raw"], node="n9").ok
    assert rows(other, "SELECT DISTINCT node FROM run") == [("n9",)]
    assert rows(other, "SELECT DISTINCT node FROM container") == [("n9",)]


@pytest.mark.skipif(not (HAS_TAR and HAS_ZIP), reason="the tar or zip program is not installed")
def test_preallocated_data_files_are_no_decompression_bomb(tmp_path, monkeypatch):
    from warehouse.demo.mmapv1_writer import CollectionSpec, write_mmapv1_dir
    from warehouse.sources import compression, zip as zip_module

    # MMAPv1 preallocates its data files (64 and 128 MiB here, nearly all zeros): they
    # compress beyond the ratio, which a ratio of 10 shows without GBs of test files
    monkeypatch.setattr(compression, "MAX_RATIO", 10)
    monkeypatch.setattr(zip_module, "MAX_RATIO", 10)
    runs = list(generate(5, seed=4))
    write_mmapv1_dir(tmp_path / "node1" / "data", {DB: [CollectionSpec("mixture_model_stats",
                                                                        runs)]})
    (tmp_path / "node2").mkdir()
    (tmp_path / "node2" / "zeros.json").write_bytes(bytes(32 << 20))  # no data file: a bomb
    for node in ("node1", "node2"):
        subprocess.run(["tar", "-czf", f"{node}.tar.gz", node], cwd=tmp_path, check=True)
        subprocess.run(["zip", "-qr", f"{node}.zip", node], cwd=tmp_path, check=True)
    for suffix in ("tar.gz", "zip"):
        db = tmp_path / f"{suffix}.sqlite"
        summary = build(db, [tmp_path / f"node1.{suffix}", tmp_path / f"node2.{suffix}"],
                        jobs=1)
        assert rows(db, "SELECT count(*) FROM run") == [(5,)], suffix
        bombs = {f.path: str(f.error) for f in summary.failed if f.error is not None}
        assert all(path.startswith(f"{tmp_path}/node2.{suffix}") for path in bombs), bombs
        assert any("a decompression bomb?" in error for error in bombs.values()), bombs
