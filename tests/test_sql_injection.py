"""Names from files, collections and fields are data, never SQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import bson

from warehouse.pipeline.build import build
from warehouse.demo import generate
from warehouse.demo.dialects import write_json_lines

NASTY = "x'); DROP TABLE run; --\"; DELETE FROM source;"


def test_nasty_file_node_collection_and_field_names_are_stored_as_text(tmp_path: Path) -> None:
    (record,) = generate(1, seed=4)
    record[NASTY] = {NASTY: 1}  # an unknown field: kept in run_extra
    node = tmp_path / "raw" / f"node{NASTY.replace('/', '')}"
    node.mkdir(parents=True)
    json_path = node / f"{NASTY}.json"
    with open(json_path, "wb") as fh:
        write_json_lines(fh, [record], "3.x")
    dump = tmp_path / "raw" / "node2" / "dump" / f"db{NASTY}"
    dump.mkdir(parents=True)
    bson_path = dump / "coll%27%29%3B%20DROP%20TABLE%20run%3B.bson"
    bson_path.write_bytes(bson.encode({"_id": 1, NASTY: "value"}))
    db = tmp_path / "w.sqlite"
    summary = build(db, [tmp_path / "raw"])
    assert summary.ok, [str(f.error) for f in summary.failed]
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM run").fetchone() == (1,)
    assert con.execute("SELECT node FROM run").fetchone() == (node.name,)
    paths = {p for (p,) in con.execute("SELECT path FROM source")}
    assert paths == {str(json_path), str(bson_path)}
    assert con.execute("SELECT field FROM run_extra").fetchone() == (NASTY,)
    assert con.execute("SELECT database_name, collection FROM document").fetchone() == (
        f"db{NASTY}", "coll'); DROP TABLE run;")
    assert con.execute("SELECT value FROM document, json_each(body) WHERE key = ?",
                       (NASTY,)).fetchone() == ("value",)
