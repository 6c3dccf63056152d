"""Shared helpers of the WiredTiger tests: directories written once per session."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import bson
import pytest

from warehouse.formats.bsonfile import CODEC_OPTIONS
from warehouse.wiredtiger_writer import (CollectionSpec, WrittenCollection, sample_collections,
                                         wt_missing, write_dbpath)

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
