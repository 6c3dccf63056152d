"""The Parquet export's files: row groups, streaming, replacing an earlier
export and never anything else, interruptions, choosing relations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

from warehouse.access.parquet import export_parquet, writer  # noqa: E402
from warehouse.errors import WarehouseError  # noqa: E402


def make_db(path: Path, rows: int, labels: tuple[str, ...] = ("a", "b")) -> Path:
    """``big`` (id, n, x) with ``rows`` rows; ``labelled`` partitioned by ``labels``."""
    con = sqlite3.connect(path)
    con.executescript("""CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER, x REAL);
                         CREATE TABLE labelled (model_class_label TEXT, n INTEGER);""")
    con.executemany("INSERT INTO big VALUES (?, ?, ?)",
                    ((i, i * 3, "NaN" if i % 1000 == 0 else i / 7) for i in range(rows)))
    con.executemany("INSERT INTO labelled VALUES (?, ?)", [(label, 1) for label in labels])
    con.commit()
    con.close()
    return path


def row_groups(folder: Path) -> list[list[int]]:
    """Rows of each row group, per file, files in name order."""
    return [[pq.ParquetFile(f).metadata.row_group(i).num_rows
             for i in range(pq.ParquetFile(f).metadata.num_row_groups)]
            for f in sorted(folder.glob("*.parquet"))]


def test_row_groups_of_the_size_asked_and_files_of_a_few_row_groups(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(writer, "FILE_ROW_GROUPS", 3)
    monkeypatch.setattr(writer, "CHUNK_VALUES", 3 * 700)  # 700 rows a chunk: groups span chunks
    db = make_db(tmp_path / "w.sqlite", 10_500)
    assert export_parquet(db, tmp_path / "out", ["big"], row_group_rows=1000)["big"] == 10_500
    assert row_groups(tmp_path / "out" / "big") == [[1000] * 3, [1000] * 3, [1000] * 3,
                                                    [1000, 500]]
    ids = duckdb.sql(f"SELECT id FROM read_parquet('{tmp_path}/out/big/**/*.parquet')").fetchall()
    assert [i for (i,) in ids] == list(range(10_500))  # key order, across files
    nan = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/out/big/*.parquet') "
                     "WHERE isnan(x)").fetchall()
    assert nan == [(11,)]  # in 11 row groups whose statistics would have said "no NaN here"
    chunks = pq.ParquetFile(next((tmp_path / "out" / "big").glob("*.parquet"))).metadata.row_group(0)
    assert [chunks.column(i).is_stats_set for i in range(3)] == [True, True, False]  # id, n, x


def test_memory_holds_one_chunk_and_one_row_group(tmp_path, monkeypatch) -> None:
    """Streaming: SQLite is read a chunk at a time, at most a row group (and a chunk) waits."""
    monkeypatch.setattr(writer, "CHUNK_VALUES", 3 * 500)
    fetched, pending = [], []
    add = writer.PartWriter.add

    def watched_add(self, batch):
        fetched.append(batch.num_rows)
        add(self, batch)
        pending.append(self.pending_rows)

    monkeypatch.setattr(writer.PartWriter, "add", watched_add)
    db = make_db(tmp_path / "w.sqlite", 20_000)
    export_parquet(db, tmp_path / "out", ["big"], row_group_rows=2000)
    assert max(fetched) == 500 and sum(fetched) == 20_000
    assert max(pending) < 2000


@pytest.mark.parametrize("row_bytes, rows", [
    (8, 1_000_000),      # narrow rows: capped at a million
    (280, 239_674),      # a wide view's row: 64 MiB // 280
    (10_000, 100_000),   # very wide rows: never under 100,000
])
def test_default_row_groups_hold_about_64_mib(row_bytes: int, rows: int) -> None:
    batch = pa.record_batch([pa.array([b"x" * (row_bytes - 4 - 1)] * 10, pa.binary())], ["b"])
    assert batch.nbytes // 10 in (row_bytes - 1, row_bytes)  # data, a 4-byte offset, validity
    assert abs(writer.group_rows(batch) - rows) <= rows // 100


def test_an_earlier_export_is_replaced_whole(tmp_path) -> None:
    out = tmp_path / "out"
    export_parquet(make_db(tmp_path / "one.sqlite", 10, labels=("a", "b")), out)
    export_parquet(make_db(tmp_path / "two.sqlite", 4, labels=("a", "c")), out)
    assert sorted(p.name for p in (out / "labelled").iterdir()) == [
        "model_class_label=a", "model_class_label=c"]  # b's folder went with the old export
    assert duckdb.sql(f"SELECT count(*) FROM '{out}/big/*.parquet'").fetchall() == [(4,)]
    assert sorted(p.name for p in out.iterdir()) == ["big", "labelled"]  # no .partial left


def test_a_folder_of_other_files_is_never_touched(tmp_path) -> None:
    out = tmp_path / "out"
    (out / "labelled").mkdir(parents=True)
    (out / "labelled" / "notes.txt").write_text("mine")
    with pytest.raises(WarehouseError, match="not replaced"):
        export_parquet(make_db(tmp_path / "w.sqlite", 10), out)
    assert (out / "labelled" / "notes.txt").read_text() == "mine"
    assert not (out / "big").exists()  # refused before anything was written


def test_an_interrupted_export_leaves_the_earlier_one(tmp_path, monkeypatch) -> None:
    db = make_db(tmp_path / "w.sqlite", 5000)
    out = tmp_path / "out"
    export_parquet(db, out, ["big"])
    before = sorted(p.read_bytes() for p in (out / "big").iterdir())

    def broken(self, rows):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.PartWriter, "_write_group", broken)
    with pytest.raises(KeyboardInterrupt):
        export_parquet(db, out, ["big"])
    assert [p.name for p in out.iterdir()] == ["big"]
    assert sorted(p.read_bytes() for p in (out / "big").iterdir()) == before


def test_a_value_its_declared_type_does_not_promise_starts_the_relation_over(
        tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(writer, "CHUNK_VALUES", 1000)  # rows are written before the 'NaN' comes
    db = tmp_path / "w.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (n INTEGER)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(30_000)] + [("NaN",)])
    con.commit()
    con.close()
    seen = []
    written = export_parquet(db, tmp_path / "out", row_group_rows=10_000,
                             progress=lambda rows, total: seen.append((rows, total)))
    assert written == {"t": 30_001}
    assert any(rows < 0 for rows, _ in seen)  # the first attempt taken back
    assert sum(rows for rows, _ in seen) == 30_001 and {total for _, total in seen} == {30_001}
    schema = pq.read_schema(next((tmp_path / "out" / "t").glob("*.parquet")))
    assert schema.field("n").type == pa.float64()


def test_some_relations_only_and_unknown_names_refused(tmp_path) -> None:
    db = make_db(tmp_path / "w.sqlite", 3)
    assert export_parquet(db, tmp_path / "out", ["labelled"]) == {"labelled": 2}
    with pytest.raises(WarehouseError, match="no table or view nope; the file has big, labelled"):
        export_parquet(db, tmp_path / "out", ["nope", "big"])


def test_what_is_not_a_warehouse_is_one_error(tmp_path) -> None:
    (tmp_path / "text.sqlite").write_text("not a database at all, really" * 100)
    with pytest.raises(WarehouseError, match="text.sqlite: cannot be read as a warehouse"):
        export_parquet(tmp_path / "text.sqlite", tmp_path / "out")
    with pytest.raises(WarehouseError, match="missing.sqlite: no such file"):
        export_parquet(tmp_path / "missing.sqlite", tmp_path / "out")
    assert not (tmp_path / "missing.sqlite").exists()  # opened read-only, never created


def test_a_snapshot_while_a_build_writes(tmp_path) -> None:
    """Rows committed by a writer during the export do not enter it: one read transaction."""
    db = make_db(tmp_path / "w.sqlite", 2000)
    sqlite3.connect(db).execute("PRAGMA journal_mode=WAL").close()
    writer_con = sqlite3.connect(db, isolation_level=None)
    calls = []

    def progress(rows, total):
        if not calls:  # the first chunk is written: another process adds rows
            writer_con.execute("INSERT INTO big VALUES (100000, 1, 1.0)")
            writer_con.execute("INSERT INTO labelled VALUES ('z', 1)")
        calls.append(rows)

    written = export_parquet(db, tmp_path / "out", row_group_rows=500, progress=progress)
    assert written == {"big": 2000, "labelled": 2}
    assert not (tmp_path / "out" / "labelled" / "model_class_label=z").exists()
