"""Merges off the happy path: shard numbers used twice, builds between merges, a merge
that fails under `build --dask`. Golden values: one build over the same inputs in the
same order (test_shards.natural, ids aside)."""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import rows
from test_shards import inputs, natural, one_build, shards_of, write_node  # noqa: F401
from warehouse.cli import main
from warehouse.demo import generate
from warehouse.errors import WarehouseError
from warehouse.pipeline.build import build, input_sources
from warehouse.store.lock import BuildLock
from warehouse.store.merge import ShardMerge, merge_shards


def merge(db: Path, *shards: Path) -> str:
    result = CliRunner().invoke(main, ["merge", "-q", "--db", str(db), *map(str, shards)])
    assert result.exit_code == 0, result.output
    return result.output


def test_two_shards_of_one_number_merge_as_one_build(inputs, one_build, tmp_path):
    sources = input_sources([inputs])
    shards = []
    for name, group in (("a", sources[:3]), ("b", sources[3:])):
        shards.append(tmp_path / f"{name}0.sqlite")
        build(shards[-1], [], sources=group, shard=0, jobs=1)  # both shard 0: keys alike
    merged = tmp_path / "merged.sqlite"
    merge(merged, *shards)
    assert natural(merged) == one_build
    assert rows(merged, "SELECT number FROM merged_shard") == [(0,), (0,)]
    assert rows(merged, "PRAGMA integrity_check") == [("ok",)]


def test_a_build_between_merges_takes_keys_the_next_shard_uses(inputs, tmp_path):
    sources = input_sources([inputs])
    first, between, rest = sources[:2], sources[2:4], sources[4:]
    expected, merged = tmp_path / "one.sqlite", tmp_path / "merged.sqlite"
    for group in (first, between, rest):
        build(expected, [], sources=group, jobs=1)
    build(tmp_path / "s0.sqlite", [], sources=first, shard=0, jobs=1)
    merge(merged, tmp_path / "s0.sqlite")
    build(merged, [], sources=between, jobs=1)  # its keys follow shard 0's, in its range
    build(tmp_path / "t0.sqlite", [], sources=rest, shard=0, jobs=1)
    merge(merged, tmp_path / "t0.sqlite")
    assert natural(merged) == natural(expected)


@pytest.mark.parametrize("again", ["other", "kept"])
def test_runs_of_a_file_the_warehouse_holds_are_judged_against_its_version(tmp_path, again):
    """The warehouse holds Z (run R, version A) and X (R, version B: a conflict). A shard
    of X and Y (R again) leaves X out, held already: Y's R is a conflict when it is B
    (the shard found it a duplicate), a duplicate when it is A (the shard, a conflict)."""
    docs = list(generate(6, seed=8))
    other = copy.deepcopy(docs[0])
    other["innovation_rate"] = 0.5
    raw = tmp_path / "raw"
    write_node(raw, "nodeZ", docs[:3])
    write_node(raw, "nodeX", [other] + docs[3:4])
    write_node(raw, "nodeY", [other if again == "other" else docs[0]] + docs[4:])
    z, x, y = (input_sources([raw / node])[0] for node in ("nodeZ", "nodeX", "nodeY"))
    expected, merged = tmp_path / "one.sqlite", tmp_path / "merged.sqlite"
    for db in (expected, merged):
        build(db, [], sources=[z, x], jobs=1)
    build(expected, [], sources=[x, y], jobs=1)
    build(tmp_path / "s0.sqlite", [], sources=[x, y], shard=0, jobs=1)
    merge(merged, tmp_path / "s0.sqlite")
    assert natural(merged) == natural(expected)
    assert rows(merged, "SELECT count(*) FROM conflict") == [(2 if again == "other" else 1,)]


@pytest.mark.parametrize("held", ["by a shard before", "by the warehouse"])
def test_a_member_loaded_before_is_known_in_the_ledger(tmp_path, held):
    """A tar member with the content of a file loaded before: in the ledger as 'known',
    pointing at that file, whether the shard of the tar loaded it or found it known."""
    docs = list(generate(8, seed=3))
    raw = tmp_path / "raw"
    write_node(raw, "nodeA", docs[:4])
    write_node(tmp_path / "t", "nodeB", docs[4:])
    shutil.copy(raw / "nodeA" / "runs.json.gz", tmp_path / "t" / "nodeB" / "copy.json.gz")
    with tarfile.open(raw / "nodeB.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "t" / "nodeB", "nodeB")
    sources = input_sources([raw / "nodeA", raw / "nodeB.tar.gz"])
    expected, merged = tmp_path / "one.sqlite", tmp_path / "merged.sqlite"
    build(expected, [], sources=sources, jobs=1)
    if held == "by a shard before":
        groups = [sources[:1], sources[1:]]
    else:
        build(merged, [], sources=sources[:1], jobs=1)
        groups = [sources]
    shards = [tmp_path / f"s{n}.sqlite" for n in range(len(groups))]
    for number, (shard, group) in enumerate(zip(shards, groups)):
        build(shard, [], sources=group, shard=number, jobs=1)
    merge(merged, *shards)
    assert natural(merged) == natural(expected)
    assert rows(merged, "SELECT m.status, s.path FROM container_member AS m JOIN source AS s "
                "USING (source_id) WHERE member = 'nodeB/copy.json.gz'") == [
        ("known", str(raw / "nodeA" / "runs.json.gz"))]


@pytest.mark.parametrize("changed", ["file", "container"])
def test_a_shard_holding_a_file_changed_at_its_path_is_refused(inputs, tmp_path, changed):
    raw = tmp_path / "raw"
    shutil.copytree(inputs / "node1", raw / "node1")
    shutil.copy(inputs / "node6.tar.gz", raw / "node6.tar.gz")
    db = tmp_path / "w.sqlite"
    build(db, [raw])
    before = natural(db)
    path = raw / ("node1/simulation_timing.json" if changed == "file" else "node6.tar.gz")
    path.write_bytes(path.read_bytes() * 2)  # other content, same path
    build(tmp_path / "s0.sqlite", [raw], shard=0, jobs=1)
    result = CliRunner().invoke(main, ["merge", "--db", str(db), str(tmp_path / "s0.sqlite")])
    assert result.exit_code == 1
    assert result.output.startswith(f"warehouse: {tmp_path / 's0.sqlite'}: shard not merged: "
                                     f"{path} changed since it was loaded on ")
    assert len(result.output.splitlines()) == 1
    assert natural(db) == before
    again = CliRunner().invoke(main, ["build", "-q", "--db", str(db), str(raw)])
    assert again.exit_code == 1 and "content changed" in again.output  # as a build does
    assert natural(db) == before


def test_build_dask_takes_wait_and_refuses_replace(inputs, tmp_path):
    pytest.importorskip("distributed")
    db = tmp_path / "w.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), "--dask", "local:1",
                                       "--replace", str(inputs / "node1")])
    assert result.exit_code == 2 and "--dask cannot --replace" in result.output
    holder = BuildLock(db)
    holder.acquire()
    try:  # in a child: without --wait it would wait for ever
        done = subprocess.run([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db),
                               "--dask", "local:1", "--wait", "0.2", str(inputs / "node1")],
                              capture_output=True, text=True, timeout=60)
    finally:
        holder.release()
    assert done.returncode == 3, done.stderr
    assert "still held by the build of pid" in done.stderr


def dask_build(db: Path, *paths: Path) -> str:
    result = CliRunner().invoke(main, ["build", "-q", "--db", str(db), "--dask", "local:1",
                                       *map(str, paths)])
    assert result.exit_code in (0, 1), result.output  # 1: broken.json fails in its shard
    assert "Traceback" not in result.output
    return result.output


def test_build_dask_again_adds_the_new_inputs(inputs, one_build, tmp_path):
    pytest.importorskip("distributed")
    db = tmp_path / "dask.sqlite"
    dask_build(db, inputs / "node1", inputs / "node2")
    numbers = rows(db, "SELECT number FROM merged_shard")
    dask_build(db, inputs)  # shards numbered on, above those merged
    again = rows(db, "SELECT number FROM merged_shard")[len(numbers):]
    assert min(again) > max(numbers)
    expected = tmp_path / "one.sqlite"
    build(expected, [inputs / "node1", inputs / "node2"])
    build(expected, [inputs])
    assert natural(db) == natural(expected)


def test_a_failed_merge_under_dask_keeps_the_shards(inputs, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from warehouse.cluster import dask
    from warehouse.store.merge import merge_shards

    def first_then_disk_full(db_path, shards, **kw):
        merge_shards(db_path, shards[:1], **kw)
        raise WarehouseError("disk full", str(shards[1]))

    monkeypatch.setattr(dask, "merge_shards", first_then_disk_full)
    db = tmp_path / "dask.sqlite"
    result = CliRunner().invoke(main, ["build", "-q", "--db", str(db), "--dask", "local:1",
                                       str(inputs / "node1"), str(inputs / "node2")])
    assert result.exit_code == 1
    kept = Path(re.search(r"the shards are kept in (\S+):", result.output)[1])
    shards = sorted(kept.glob("shard-*.sqlite"))
    assert len(shards) == 2
    monkeypatch.undo()
    merge(db, *shards)  # the first again adds nothing
    expected = tmp_path / "one.sqlite"
    build(expected, [inputs / "node1", inputs / "node2"])
    assert natural(db) == natural(expected)
    shutil.rmtree(kept)


@pytest.mark.parametrize("address", ["local:0", "local:x"])
def test_dask_local_without_a_worker_count_is_a_usage_error(inputs, tmp_path, address):
    pytest.importorskip("distributed")
    db = tmp_path / "w.sqlite"
    done = subprocess.run([sys.executable, "-m", "warehouse.cli", "build", "--db", str(db),
                           "--dask", address, str(inputs / "node1")],
                          capture_output=True, text=True, timeout=60)  # local:0 waited for ever
    assert done.returncode == 2
    assert f"--dask {address}: expected local:N" in done.stderr
    assert not db.exists()


def test_a_shard_is_not_merged_into(inputs, tmp_path):
    shards = [tmp_path / "s0.sqlite", tmp_path / "s1.sqlite"]
    for number, (shard, node) in enumerate(zip(shards, ("node1", "node2"))):
        build(shard, [inputs / node], shard=number, jobs=1)
    for target in shards:  # into itself, into another
        result = CliRunner().invoke(main, ["merge", "--db", str(shards[0]), str(target)])
        assert result.exit_code == 1
        assert result.output == (f"warehouse: {shards[0]}: this is shard 0: merge shards into "
                                 "a warehouse that is not one\n")
    merge(tmp_path / "merged.sqlite", *shards)  # still whole, still as its manifest says
    expected = tmp_path / "one.sqlite"
    build(expected, [inputs / "node1", inputs / "node2"])
    assert natural(tmp_path / "merged.sqlite") == natural(expected)


def _raise(signum, frame):
    raise KeyboardInterrupt


@pytest.fixture
def signals_raise():
    """Ctrl-C and SIGTERM raise here, whatever the test runs under; the merge puts its own
    handlers in their place (without them, the test fails rather than the test run)."""
    previous = {signum: signal.signal(signum, _raise) for signum in (signal.SIGINT,
                                                                      signal.SIGTERM)}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_merge_rolls_back_the_shard_being_merged(
        inputs, one_build, tmp_path, monkeypatch, signals_raise, signum, code):
    shards = shards_of(inputs, tmp_path, [3])
    judged_again = ShardMerge._judged_again

    def signal_in_the_second(self):  # its rows are copied by then
        judged_again(self)
        if self.outcome.number == 1:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(ShardMerge, "_judged_again", signal_in_the_second)
    merged = tmp_path / "merged.sqlite"
    result = CliRunner().invoke(main, ["merge", "--db", str(merged), *map(str, shards)])
    assert result.exit_code == code
    assert result.output.splitlines() == [(
        f"warehouse: {merged}: interrupted by {signal.Signals(signum).name} while merging "
        f"{shards[1]}: nothing of it was merged; 1 of 2 shards merged; merge again to merge "
        "the rest")]
    expected = tmp_path / "first.sqlite"
    merge_shards(expected, shards[:1])
    assert natural(merged) == natural(expected)
    monkeypatch.undo()
    merge(merged, *shards)
    assert natural(merged) == one_build


def test_build_dask_holds_each_shard_on_disk_not_in_memory(inputs, tmp_path):
    pytest.importorskip("distributed")
    from warehouse.cluster.dask import build_on_cluster, shard_lines

    db = tmp_path / "dask.sqlite"
    outcome = build_on_cluster(db, [inputs / "node1", inputs / "node2"], "local:1")
    assert [s.number for s in outcome.shards] == [0, 1]
    assert all(s.database == b"" and s.manifest == b"" and s.size > 0 for s in outcome.shards)
    assert all(" MB" in line for line in shard_lines(outcome))
    expected = tmp_path / "one.sqlite"
    build(expected, [inputs / "node1", inputs / "node2"])
    assert natural(db) == natural(expected)


def test_build_dask_without_dask_installed(inputs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    db = tmp_path / "w.sqlite"
    result = CliRunner().invoke(main, ["build", "--db", str(db), "--dask", "local:1",
                                       str(inputs / "node1")])
    assert result.exit_code == 2
    assert result.output == "warehouse: --dask needs Dask: pip install 'ctwarehouse[dask]'\n"
    assert not db.exists()


def test_a_signal_during_build_dask_is_one_line_and_its_exit_code(inputs, tmp_path,
                                                                  monkeypatch):
    pytest.importorskip("distributed")
    import time

    from warehouse.cluster import dask as cluster_dask

    def stopped_midway(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
        raise AssertionError("the signal did not stop the build")

    monkeypatch.setattr(cluster_dask, "build_on_cluster", stopped_midway)
    db = tmp_path / "dask.sqlite"
    result = CliRunner().invoke(main, ["build", "-q", "--db", str(db), "--dask", "local:1",
                                       str(inputs)])
    assert result.exit_code == 143, result.output
    assert result.output == (f"warehouse: {db}: interrupted by SIGTERM; the shards merged before "
                             "stay, each whole or not at all; build again to load the rest\n")
