"""Builds that leave what builds of an older schema left, for the migration tests.

``old_schema(monkeypatch, last)`` makes builds apply the schema steps up to
``last`` only; when ``last`` is before step 10, they also write configuration
labels as builds before step 10 did: as text, in the table
``sample_configuration`` (sample_id, position, count, label), since the tables
of step 10 do not exist yet.
"""

from __future__ import annotations

from typing import Any

import pytest

from warehouse.store import warehouse as store

LABELS_STEP = 10  # schemas/010_configuration_labels.sql


def old_schema(monkeypatch: pytest.MonkeyPatch, last: int) -> None:
    steps = store.migrations()
    monkeypatch.setattr(store, "migrations", lambda: [s for s in steps if s[0] <= last])
    if last < LABELS_STEP:
        monkeypatch.setattr(store.Warehouse, "write", _labels_as_text(store.Warehouse.write))
        monkeypatch.setattr(store.Warehouse, "next_key", _no_label_table(store.Warehouse.next_key))


def _labels_as_text(write: Any) -> Any:
    def old_write(self: store.Warehouse, rows: Any) -> tuple[int, int]:
        rows = dict(rows)
        labels = rows.pop("configuration_label", None)
        counts = rows.pop("sample_config_count", None)
        if counts:
            # a run's label rows travel in the batch of its other rows
            text = dict(zip(labels.columns[0], labels.columns[2])) if labels else {}
            rows["sample_configuration"] = [(sample, position, count, text.get(label))
                                            for sample, position, count, label in counts]
        return write(self, rows)
    return old_write


def _no_label_table(next_key: Any) -> Any:
    def old_next_key(self: store.Warehouse, table: str, column: str) -> int:
        if table == "configuration_label":
            return 1  # the ids live only until old_write turns them into text
        return next_key(self, table, column)
    return old_next_key
