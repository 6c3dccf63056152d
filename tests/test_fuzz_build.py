"""Whatever bytes a file holds, a build loads it or fails it with a located error.

Every reader (JSON, BSON, archive, CSV), behind every compression, through
the whole pipeline: never another exception, never a hang, nothing half-loaded.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import bson
from hypothesis import HealthCheck, given, settings, strategies as st

from warehouse.pipeline.build import build
from warehouse.demo.compressed import open_writer
from warehouse.errors import WarehouseError
from warehouse.formats.archive import MAGIC
from warehouse.profiles.ctmixtures.csv.headers import HEADERS, open_export

CSV_HEADER = ",".join(f'"{name}"' for name in next(iter(HEADERS))).encode() + b"\n"
PREFIXES = {
    "json": b'{"simulation_run_id": "urn:uuid:1", "slatkin_exact": [',
    "array": b'[{"simulation_run_id": "urn:uuid:1"},',
    "bson": bson.encode({"simulation_run_id": "urn:uuid:2", "pop_richness": [1, 2]}),
    "archive": MAGIC + bson.encode({"version": "0.1", "server_version": "4.0"}),
    "csv": CSV_HEADER + b'"urn:uuid:3","allneutral",',
}
CSV_CELLS = [b'"urn:uuid:9"', b'"nan"', b'"inf"', b'""', b'"1e400"', b'"x"', b'"-0"', b"1,2", b'"',
             b"\n", b"\r\n", b",", b"\xff"]


def _check_build(tmp_path: Path, name: str, data: bytes, compression: str) -> None:
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    for old in raw.iterdir():
        old.unlink()
    with open_writer(raw / name, compression) as fh:
        fh.write(data)
    db = tmp_path / "w.sqlite"
    db.unlink(missing_ok=True)
    summary = build(db, [raw], jobs=1)  # raises nothing but WarehouseError-based outcomes
    (outcome,) = summary.files
    if outcome.status == "failed":
        assert isinstance(outcome.error, WarehouseError)
        assert outcome.error.path == str(raw / name)
        assert outcome.error.line is not None or outcome.error.offset is not None
        with sqlite3.connect(db) as con:
            assert con.execute("SELECT count(*) FROM source").fetchone() == (0,)
            assert con.execute("SELECT count(*) FROM run").fetchone() == (0,)
    else:
        assert outcome.status in ("loaded", "empty"), outcome


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(PREFIXES)), tail=st.binary(max_size=200),
       cut=st.integers(min_value=0, max_value=400),
       compression=st.sampled_from(["none", "gzip", "zstd", "bzip2", "xz"]))
def test_any_bytes_after_any_format_prefix(tmp_path: Path, kind: str, tail: bytes, cut: int,
                                           compression: str) -> None:
    data = (PREFIXES[kind] + tail)[:cut] if cut else PREFIXES[kind] + tail
    _check_build(tmp_path, f"input.{kind}", data, compression)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(CSV_CELLS), max_size=60).map(b"".join))
def test_csv_reader_raises_only_located_errors(body: bytes) -> None:
    try:
        export, records = open_export(io.BytesIO(CSV_HEADER + body), "f.csv")
        for record in records:
            assert record.line is not None
    except WarehouseError as error:
        assert error.path == "f.csv" and error.line is not None
