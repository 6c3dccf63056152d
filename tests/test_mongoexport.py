"""mongoexport JSON of every era and compression, read exactly and streamed."""

from __future__ import annotations

import io
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from bson import ObjectId

from warehouse.pipeline.build import build
from warehouse.demo.compressed import COMPRESSIONS, SUFFIXES, open_writer, write_compressed
from warehouse.demo.dialects import ERAS, write_json_array, write_json_lines
from warehouse.errors import WarehouseError
from warehouse.formats import mongoexport
from warehouse.formats.mongoexport import parse_document, read_json_array, read_json_lines
from warehouse.sources import open_source

SEEDS = [2**53 + 1, 2**63 - 1, -(2**63), 4605056590505150188, 7]


def doc(index: int, **extra) -> dict:
    return {"_id": ObjectId(f"{index:024x}"), "simulation_run_id": f"urn:uuid:run-{index}",
            "model_class_label": "allneutral", "random_seed": SEEDS[index % len(SEEDS)],
            "innovation_rate": 0.119495118323, "conformism_strength": 0.0,
            "slatkin_exact": [0.5, float("nan"), float("inf"), -float("inf")], **extra}


def build_one(tmp_path: Path, name: str, data: bytes | None = None) -> sqlite3.Connection:
    db = tmp_path / "w.sqlite"
    summary = build(db, [tmp_path / "raw"])
    assert summary.ok, [str(f.error) for f in summary.failed]
    return sqlite3.connect(db)


@pytest.mark.parametrize("era", ERAS)
def test_exact_seeds_nan_infinity_and_missing_in_every_era(tmp_path: Path, era: str) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    with open(raw / "export.json", "wb") as fh:
        write_json_lines(fh, [doc(i) for i in range(len(SEEDS))], era)
    db = build_one(tmp_path, "x")
    seeds = db.execute("SELECT value, typeof(value) FROM parameter WHERE name = 'random_seed' "
                       "ORDER BY run_id").fetchall()
    assert seeds == [(seed, "integer") for seed in SEEDS]
    rate = db.execute("SELECT value, typeof(value) FROM parameter "
                      "WHERE name = 'conformism_strength' AND run_id = 1").fetchone()
    assert rate == (0.0, "real")  # whole double printed as 0 by some eras: still REAL
    locus = db.execute("SELECT slatkin_exact, typeof(slatkin_exact), shannon_entropy "
                       "FROM census_locus WHERE run_id = 1 ORDER BY locus").fetchall()
    assert locus[0] == (0.5, "real", None)  # shannon_entropy is missing: NULL
    assert locus[1][:2] == ("NaN", "text")  # NaN: distinguishable from missing
    assert locus[2][0] == math.inf and locus[3][0] == -math.inf
    assert db.execute("SELECT document_id FROM run WHERE run_id = 2").fetchone() == (f"{1:024x}",)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_every_compression_is_chosen_by_magic_bytes_not_name(tmp_path: Path, compression: str) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    with open_writer(raw / "misnamed.txt", compression) as fh:  # suffix says nothing
        write_json_lines(fh, [doc(i) for i in range(3)], "3.x")
    db = build_one(tmp_path, "x")
    assert db.execute("SELECT count(*) FROM run").fetchone() == (3,)
    assert db.execute("SELECT compression, format FROM source").fetchone() == (
        compression, "mongoexport-jsonl")


@pytest.mark.parametrize("compression", ["gzip", "zstd", "bzip2", "xz"])
def test_multi_member_streams_are_read_to_the_end(tmp_path: Path, compression: str) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    chunks = []
    for part in range(3):
        out = io.BytesIO()
        write_json_lines(out, [doc(part * 10 + i) for i in range(2)], "4.2-canonical")
        chunks.append(out.getvalue())
    write_compressed(raw / f"x{SUFFIXES[compression]}", compression, chunks)
    db = build_one(tmp_path, "x")
    assert db.execute("SELECT count(*) FROM run").fetchone() == (6,)


@pytest.mark.parametrize("pretty", [False, True])
def test_json_array_loads_like_json_lines(tmp_path: Path, pretty: bool) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    with open(raw / "array.json", "wb") as fh:
        write_json_array(fh, [doc(i) for i in range(5)], "4.2-relaxed", pretty=pretty)
    db = build_one(tmp_path, "x")
    assert db.execute("SELECT format FROM source").fetchone() == ("mongoexport-array",)
    assert db.execute("SELECT count(*), min(source_offset) FROM run").fetchone() == (5, 1)
    seeds = [v for (v,) in db.execute("SELECT value FROM parameter WHERE name = 'random_seed' ORDER BY run_id")]
    assert seeds == SEEDS


class CountingStream(io.RawIOBase):
    """A stream that remembers how much has been read from it."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.data.readinto(buffer)
        self.consumed += n
        return n


def _array_of(count: int) -> bytes:
    out = io.BytesIO()
    write_json_array(out, (doc(i, padding="x" * 20_000) for i in range(count)), "3.x")
    return out.getvalue()


PEAK_SCRIPT = """
import io, sys, tracemalloc
from warehouse.formats import mongoexport
mongoexport.CHUNK = 1 << 16
data = open(sys.argv[1], "rb").read()
tracemalloc.start()
count = sum(1 for _ in mongoexport.read_json_array(io.BufferedReader(io.BytesIO(data)), "a.json"))
print(count, tracemalloc.get_traced_memory()[1])
"""


def _peak_memory_reading(data: bytes, folder: Path) -> tuple[int, int]:
    """Documents read and peak traced memory, in a fresh process (no other test's threads)."""
    path = folder / f"array-{len(data)}.json"
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True,
                          text=True, check=True)
    count, peak = map(int, done.stdout.split())
    return count, peak


def test_json_array_on_one_line_is_streamed_not_loaded_whole(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(mongoexport, "CHUNK", 1 << 16)
    small, large = _array_of(100), _array_of(800)
    assert large.count(b"\n") <= 1 and len(large) > 16_000_000
    stream = CountingStream(large)
    first = next(read_json_array(io.BufferedReader(stream), "a.json"))
    assert first.document["padding"] == "x" * 20_000
    assert stream.consumed < 200_000  # the first document came before the rest was read
    (count_small, peak_small), (count_large, peak_large) = (
        _peak_memory_reading(small, tmp_path), _peak_memory_reading(large, tmp_path))
    assert (count_small, count_large) == (100, 800)
    assert peak_large < len(large) / 4  # far less than the array
    assert peak_large < peak_small * 1.5  # and flat as the input grows 8 times


@pytest.mark.parametrize("text, expected", [
    (b'{"a": NaN, "b": Infinity, "c": -Infinity}', ["nan", math.inf, -math.inf]),  # 2.4
    (b'{"a":NaN,"b":+Infinity,"c":-Infinity}', ["nan", math.inf, -math.inf]),  # 3.x
    (b'{"a":{"$numberDouble":"NaN"},"b":{"$numberDouble":"Infinity"},'
     b'"c":{"$numberDouble":"-Infinity"}}', ["nan", math.inf, -math.inf]),  # 4.2
])
def test_non_finite_doubles_of_every_era(text: bytes, expected: list) -> None:
    values = list(parse_document(text).values())
    assert math.isnan(values[0]) and values[1:] == expected[1:]


def test_plus_infinity_inside_a_string_is_left_alone() -> None:
    parsed = parse_document(b'{"s":"+Infinity \\" +Infinity","v":+Infinity}')
    assert parsed == {"s": '+Infinity " +Infinity', "v": math.inf}


@pytest.mark.parametrize("text, value", [
    (b'{"d":{"$date":1410833651123}}', 1410833651123),  # 2.4: milliseconds
    (b'{"d":{"$date":"2014-09-16T02:14:11.123Z"}}', 1410833651123),  # 3.x / relaxed
    (b'{"d":{"$date":{"$numberLong":"-62135596800001"}}}', -62135596800001),  # canonical, year 0
    (b'{"n":{"$numberLong":"9223372036854775807"}}', 2**63 - 1),
    (b'{"n":{"$numberInt":"-5"}}', -5),
    (b'{"n":9223372036854775807}', 2**63 - 1),
])
def test_wrapped_values_decode_exactly(text: bytes, value: int) -> None:
    (decoded,) = parse_document(text).values()
    assert int(decoded) == value


def test_nested_wrappers_are_decoded_but_strings_are_not() -> None:
    parsed = parse_document(b'{"_id":{"$oid":"54179b53eb0a190a9f6fd757"},'
                            b'"x":{"k":[{"$numberInt":"1"}]},"s":"{\\"$oid\\": 1}"}')
    assert parsed == {"_id": ObjectId("54179b53eb0a190a9f6fd757"), "x": {"k": [1]},
                      "s": '{"$oid": 1}'}


def test_malformed_line_names_file_and_line() -> None:
    stream = io.BytesIO(b'{"a":1}\n{"a":2}\n{"a":\n{"a":4}\n')
    reader = read_json_lines(stream, "node1/x.json")
    assert [r.document["a"] for r in (next(reader), next(reader))] == [1, 2]
    with pytest.raises(WarehouseError) as caught:
        next(reader)
    assert str(caught.value).startswith("node1/x.json:3: malformed JSON")


def test_array_cut_short_names_its_offset() -> None:
    with pytest.raises(WarehouseError, match=r"^a\.json@9: JSON array cut short"):
        list(read_json_array(io.BufferedReader(CountingStream(b'[{"a":1},{"a":[2')), "a.json"))


def test_open_source_reports_compressed_bytes_read(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    with open_writer(path, "gzip") as fh:
        fh.write(b"{}\n" * 1000)
    with open_source(path) as opened:
        assert opened.stream.read() == b"{}\n" * 1000
        assert opened.raw.bytes_read == path.stat().st_size
