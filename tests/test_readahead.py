"""Reading ahead in a child process: what comes through the pipe, errors, and the end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warehouse.errors import WarehouseError
from warehouse.pipeline.readahead import can_read_ahead, read_ahead

pytestmark = pytest.mark.skipif(not can_read_ahead(), reason="no fork on this system")


def _all_children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


@pytest.fixture
def new_children():
    """This process's children (Linux) other than those it had before the test."""
    before = _all_children()
    return lambda: _all_children() - before


def test_documents_come_through_in_order_with_their_offsets(new_children):
    # sizes around the pipe's and the buffers' capacities, and an empty payload
    sizes = [0, 1, 5, 65_536, 1 << 20, (1 << 20) + 7, 3]
    sent = [(bytes([i % 251]) * size, 1000 * i) for i, size in enumerate(sizes)]
    got = list(read_ahead(lambda: iter(sent), "table.wt"))
    assert got == sent
    assert not new_children()


def test_a_memoryview_is_sent_as_its_bytes():
    page = bytearray(b"..abc..")
    got = list(read_ahead(lambda: [(memoryview(page)[2:5], 9)], "t"))
    assert got == [(b"abc", 9)]


def test_an_error_comes_after_the_documents_read_before_it(new_children):
    def documents():
        yield b"first", 10
        yield b"second", 20
        raise WarehouseError("page checksum mismatch", path="table.wt", offset=8192)

    got = []
    with pytest.raises(WarehouseError) as caught:
        for item in read_ahead(documents, "table.wt"):
            got.append(item)
    assert got == [(b"first", 10), (b"second", 20)]
    assert str(caught.value) == "table.wt@8192: page checksum mismatch"
    assert not new_children()


def test_an_unexpected_error_names_itself():
    def documents():
        raise KeyError("cell")
        yield  # pragma: no cover

    with pytest.raises(RuntimeError, match="KeyError\\('cell'\\)"):
        list(read_ahead(documents, "t"))


def test_stopping_early_ends_the_child(new_children):
    def endless():
        while True:
            yield b"x" * 50_000, 0

    reading = read_ahead(endless, "t")
    assert next(reading) == (b"x" * 50_000, 0)
    assert new_children()  # reading ahead, blocked on the full pipe
    reading.close()
    assert not new_children()


def test_a_child_that_dies_is_an_error_not_a_short_collection():
    def killed():
        yield b"one", 1
        os.kill(os.getpid(), 9)
        yield b"two", 2  # pragma: no cover

    with pytest.raises(WarehouseError, match="ended before the collection did"):
        list(read_ahead(killed, "table.wt"))


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="no scheduler policies")
def test_the_child_yields_the_cores_to_the_build():
    policy = list(read_ahead(lambda: [(bytes([os.sched_getscheduler(0)]), 0)], "t"))
    assert policy == [(bytes([os.SCHED_IDLE]), 0)]
