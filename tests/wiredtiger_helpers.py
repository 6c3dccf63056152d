"""Shared helpers of the WiredTiger tests: directories written once per session."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import bson
import pytest

from warehouse.formats.bsonfile import CODEC_OPTIONS
from warehouse.demo.wiredtiger_writer import (CollectionSpec, WrittenCollection, sample_collections,
                                         sample_documents, wt_missing, write_dbpath)

Written = dict[str, WrittenCollection]


def require_wt() -> None:
    reason = wt_missing()
    if reason:
        pytest.skip(f"cannot write WiredTiger files: {reason}")


def golden(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The loaded documents as the project decodes BSON (dates as DatetimeMS)."""
    return [bson.decode(bson.encode(document), CODEC_OPTIONS) for document in documents]


class DbpathCache:
    """Directories written by ``wt``, one per setting, copied for tests that damage them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._written: dict[str, tuple[Path, Written]] = {}

    def get(self, name: str, specs: list[CollectionSpec], **options: Any) -> tuple[Path, Written]:
        if name not in self._written:
            require_wt()
            directory = self.root / name
            self._written[name] = (directory, write_dbpath(directory, specs, **options))
        return self._written[name]

    def full(self, compressor: str = "snappy") -> tuple[Path, Written]:
        return self.get(f"full-{compressor}", sample_collections(full=compressor == "snappy"),
                        compressor=compressor)

    def copy(self, name: str, target: Path, specs: list[CollectionSpec] | None = None,
             **options: Any) -> tuple[Path, Written]:
        """A private copy (to damage) of a cached directory; paths re-rooted."""
        source, written = (self.full() if specs is None else self.get(name, specs, **options))
        shutil.copytree(source, target)
        moved = {ns: WrittenCollection(w.ns, w.ident, target / w.path.relative_to(source),
                                       w.index_ident, w.record_ids, w.documents, w.removed)
                 for ns, w in written.items()}
        return target, moved


FIXTURE_WT11 = Path(__file__).parent / "data" / "wiredtiger-11.3.1.tar.xz"


def fixture_wt11_specs() -> list[CollectionSpec]:
    """What the WiredTiger 11.3.1 fixture holds (``tests/data/make_wiredtiger_fixture.py``)."""
    overflow = [{"_id": i, "blob": f"wt11-{i} " * 6000} for i in range(3)]
    return [
        CollectionSpec("sim.runs", sample_documents(100, 31)),
        CollectionSpec("sim.overflow", overflow, config="leaf_value_max=0"),
        CollectionSpec("sim.removed", sample_documents(20, 32), removed=(3, 11)),
        CollectionSpec("sim.snappy", sample_documents(30, 33), compressor="snappy"),
        CollectionSpec("admin.system.version",
                       [{"_id": "featureCompatibilityVersion", "version": "4.4"}]),
    ]


def unclean_specs() -> list[CollectionSpec]:
    """The fixture's unclean copy as of its last checkpoint..."""
    return [CollectionSpec("sim.runs", sample_documents(40, 34))]


def unclean_later() -> list[dict[str, Any]]:
    """...and what its journal alone holds."""
    return sample_documents(25, 35, 300)
