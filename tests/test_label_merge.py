"""Label ids across warehouses: they shift with run and sample ids, as a block.

Label ids are given in reading order, like run and sample ids (see
schemas/010_configuration_labels.sql): two warehouses built apart from one
experiment's nodes, joined with ``INSERT … SELECT`` by adding the target's
largest ids to the other's, give exactly what one build of both would have
given; another reading order gives each run the same labels, numbered alike
from the run's first. (``warehouse merge`` copies a shard's keys as they are,
from the shard's own range, and moves them all by one offset only where the
warehouse holds keys in that range: store/merge.py.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from test_label_migration import every_row
from test_labels import rows
from warehouse.demo import write_demo
from warehouse.pipeline.build import build
from warehouse.profiles.ctmixtures import TABLES


# Keys a merge shifts by the target's largest, and the table each belongs to.
MERGED_KEYS = {"run_id": "run", "sample_id": "sample", "label_id": "configuration_label",
               "source_id": "source"}


def merge(target: Path, shard: Path) -> None:
    """Copy a warehouse's rows into another with ``INSERT … SELECT``, ids shifted past its own."""
    with sqlite3.connect(target) as con:
        con.execute("ATTACH ? AS shard", (str(shard),))
        offsets = {column: con.execute(f"SELECT coalesce(max({column}), 0) FROM main.{table}")
                   .fetchone()[0] for column, table in MERGED_KEYS.items()}
        for table in [*TABLES, "source"]:
            names = [row[1] for row in con.execute(f"PRAGMA main.table_info({table})")]
            select = ", ".join(f"{n} + {offsets[n]}" if n in offsets else n for n in names)
            con.execute(f"INSERT INTO main.{table} SELECT {select} FROM shard.{table}")


def test_warehouses_joined_by_shifting_ids_equal_one_build(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_demo(raw, n_runs=30, nodes=2, seed=22, eras="3.x", compression="gzip")
    node1, node2 = sorted(raw.iterdir())
    single, first, second = (tmp_path / f"{name}.sqlite" for name in ("single", "a", "b"))
    assert build(single, [raw]).ok
    assert build(first, [node1]).ok and build(second, [node2]).ok

    merge(first, second)

    assert every_row(first) == every_row(single)


def run_labels(db: Path) -> set[tuple]:
    """(run, label id counted from the run's first, label): what reading order cannot change."""
    return set(rows(db, """
        SELECT r.simulation_run_id, l.label_id - first.id, l.label
        FROM configuration_label AS l JOIN run AS r USING (run_id)
        JOIN (SELECT run_id, min(label_id) AS id FROM configuration_label GROUP BY run_id)
             AS first USING (run_id)"""))


def test_reading_order_shifts_label_ids_by_whole_runs(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_demo(raw, n_runs=30, nodes=2, seed=23, eras="3.x", compression="gzip")
    node1, node2 = sorted(raw.iterdir())
    forward, backward = tmp_path / "forward.sqlite", tmp_path / "backward.sqlite"
    assert build(forward, [node1]).ok and build(forward, [node2]).ok
    assert build(backward, [node2]).ok and build(backward, [node1]).ok
    ids = "SELECT label_id FROM configuration_label ORDER BY label_id"
    assert rows(forward, ids) == rows(backward, ids)  # the same ids, to other runs
    assert run_labels(forward) == run_labels(backward)
    assert len(run_labels(forward)) == rows(forward, "SELECT count(*) FROM configuration_label")[0][0]
