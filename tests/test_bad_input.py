"""Bad input never corrupts the warehouse: clear errors, nothing half-loaded, salvage on request."""

from __future__ import annotations

import gzip
import io
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.pipeline.build import build
from warehouse.cli import main
from warehouse.demo import generate
from warehouse.demo.compressed import SUFFIXES, open_writer
from warehouse.demo.dialects import write_json_lines

DOCS = list(generate(6, seed=41))


def lines(docs: list[dict]) -> bytes:
    out = io.BytesIO()
    write_json_lines(out, docs, "3.x")
    return out.getvalue()


def compressed(path: Path, compression: str, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_writer(path, compression) as fh:
        fh.write(data)
    return path


def runs(db: Path) -> int:
    return sqlite3.connect(db).execute("SELECT count(*) FROM run").fetchone()[0]


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz", "zstd"])
@pytest.mark.parametrize("damage", ["truncated", "corrupted"])
def test_damaged_compressed_streams_fail_alone(tmp_path: Path, compression: str, damage: str) -> None:
    good = compressed(tmp_path / "raw" / "node1" / f"good.json{SUFFIXES[compression]}", compression,
                      lines(DOCS[:2]))
    bad = compressed(tmp_path / "raw" / "node2" / f"bad.json{SUFFIXES[compression]}", compression,
                     lines(DOCS[2:]))
    data = bad.read_bytes()
    if damage == "truncated":
        bad.write_bytes(data[: len(data) * 2 // 3])
    else:  # flip bytes in the middle of the compressed data
        middle = len(data) // 2
        bad.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 16])
                        + data[middle + 16:])
    db = tmp_path / "w.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", str(tmp_path / "raw")])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"{bad}") and ("@" in line or ":" in line[len(str(bad)):])
    assert runs(db) == 2  # the good file loaded, nothing of the damaged one
    assert sqlite3.connect(db).execute("SELECT path FROM source").fetchall() == [(str(good),)]


def test_bson_cut_mid_document_names_its_offset(tmp_path: Path) -> None:
    import bson

    first, second = bson.encode({"a": 1}), bson.encode({"b": "x" * 40})
    path = tmp_path / "raw" / "dump" / "db" / "things.bson"
    path.parent.mkdir(parents=True)
    path.write_bytes(first + second[:20])
    result = CliRunner().invoke(main, ["build", "--db", str(tmp_path / "w.sqlite"), "-q",
                                       str(tmp_path / "raw")])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"{path}@{len(first)}: BSON document cut short: expected {len(second)} bytes, found 20")


def test_not_utf8_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "raw" / "x.json"
    path.parent.mkdir()
    path.write_bytes(lines(DOCS[:1]) + b'{"simulation_run_id": "caf\xe9"}\n')
    result = CliRunner().invoke(main, ["build", "--db", str(tmp_path / "w.sqlite"), "-q", str(path)])
    assert result.exit_code == 1
    assert result.output.strip() == f"{path}:2: not UTF-8 text: byte 0xe9 at column 27"


def test_a_line_without_end_fails_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "raw" / "x.json"
    path.parent.mkdir()
    path.write_bytes(b'{"a": "' + b"x" * (3 << 20))
    result = CliRunner().invoke(main, ["build", "--db", str(tmp_path / "w.sqlite"), "-q",
                                       "--max-document", "1", str(path)])
    assert result.exit_code == 1
    assert result.output.strip() == f"{path}:1: line longer than 1048576 bytes"


def test_a_decompression_bomb_fails_cleanly(tmp_path: Path, monkeypatch) -> None:
    import warehouse.sources.compression as sources

    monkeypatch.setattr(sources, "MAX_RATIO", 20)  # a small bomb for a quick test
    path = tmp_path / "raw" / "bomb.json.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(b'{"a": 1}\n' + b" " * (64 << 20), compresslevel=9))
    result = CliRunner().invoke(main, ["build", "--db", str(tmp_path / "w.sqlite"), "-q", str(path)])
    assert result.exit_code == 1
    assert "gzip stream expands more than 20 times" in result.output
    assert "a decompression bomb?" in result.output


def test_salvage_keeps_intact_lines_and_records_what_it_left_out(tmp_path: Path) -> None:
    bad_doc = dict(DOCS[3], pop_richness=["many"])
    data = (lines(DOCS[:2]) + b'{"simulation_run_id": "urn:uuid:x", "broken": \n'
            + lines([bad_doc]) + lines(DOCS[4:]))
    path = tmp_path / "raw" / "node1" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    db = tmp_path / "w.sqlite"
    plain = CliRunner().invoke(main, ["build", "--db", str(db), "-q", str(tmp_path / "raw")])
    assert plain.exit_code == 1 and runs(db) == 0  # by default: nothing of a damaged file
    result = CliRunner().invoke(main, ["build", "--db", str(db), "-q", "--salvage",
                                       str(tmp_path / "raw")])
    assert result.exit_code == 1  # damage is still reported to scripts
    assert result.output.strip().splitlines() == [
        f"{path}:3: malformed JSON: Expecting value at column 48 (left out, the rest of the file loaded)",
        f"{path}:4: field pop_richness: expected numbers, found 'many' (left out, the rest of the file loaded)",
    ]
    con = sqlite3.connect(db)
    assert runs(db) == 4
    assert con.execute("SELECT source_line, reason, raw IS NOT NULL FROM skipped ORDER BY 1").fetchall() == [
        (3, "malformed JSON: Expecting value at column 48", 1),
        (4, "field pop_richness: expected numbers, found 'many'", 1)]
    assert con.execute("SELECT skipped, runs FROM source").fetchone() == (2, 4)
    # nothing of the rejected record stayed behind
    assert con.execute("SELECT count(*) FROM run WHERE simulation_run_id = ?",
                       (bad_doc["simulation_run_id"],)).fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM census WHERE run_id NOT IN (SELECT run_id FROM run)"
                       ).fetchone() == (0,)


def test_salvage_keeps_what_came_before_a_truncation(tmp_path: Path) -> None:
    whole = gzip.compress(lines(DOCS))
    path = tmp_path / "raw" / "x.json.gz"
    path.parent.mkdir()
    path.write_bytes(whole[: int(len(whole) * 0.6)])
    db = tmp_path / "w.sqlite"
    summary = build(db, [tmp_path / "raw"], salvage=True)
    assert [f.status for f in summary.files] == ["salvaged"]
    assert 0 < runs(db) < len(DOCS)
    reason = sqlite3.connect(db).execute("SELECT reason FROM skipped").fetchone()[0]
    assert reason.startswith("damaged gzip stream")


def test_salvage_never_keeps_an_archive_whose_checksum_fails(tmp_path: Path) -> None:
    from warehouse.demo.dumpwriter import write_archive  # noqa: F401  (the writer the demo uses)

    pytest.importorskip("warehouse.demo.dumpwriter")
    from warehouse.demo import write_demo

    write_demo(tmp_path / "raw", n_runs=8, nodes=1, seed=3, form="archive", compression="none")
    (archive,) = [p for p in (tmp_path / "raw").rglob("*") if p.is_file()]
    data = bytearray(archive.read_bytes())
    position = data.index(DOCS[0]["simulation_run_id"][:9].encode(), 2000)  # inside a document
    data[position + 12] ^= 0x01
    archive.write_bytes(bytes(data))
    db = tmp_path / "w.sqlite"
    summary = build(db, [tmp_path / "raw"], salvage=True)
    assert [f.status for f in summary.files] == ["failed"]
    assert "CRC-64 mismatch" in str(summary.files[0].error)
    assert runs(db) == 0
