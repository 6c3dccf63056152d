"""The ledger of containers (tar and zip files) and of what became of their members.

Members that hold data are sources like files (``source`` rows named
``container!member``); these rows say which container they came from, and
record every other member too, so that a container is known as a whole.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import Any

from .. import __version__

# Member states whose outcome is final: reading the same container again skips them.
SETTLED = ("loaded", "salvaged", "known", "companion", "empty", "container", "unsafe",
           "metadata")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ContainerLedger:
    """The container part of a warehouse's ledger (mixed into ``Warehouse``)."""

    db: sqlite3.Connection

    def remove_source(self, source_id: int) -> None:  # provided by Warehouse
        raise NotImplementedError

    def loaded_container(self, sha256: str, size: int) -> tuple[int, str, int] | None:
        """(container_id, path, complete) of a container with this content, if one was read."""
        return self.db.execute("SELECT container_id, path, complete FROM container "
                               "WHERE sha256 = ? AND size = ?", (sha256, size)).fetchone()

    def container_at_path(self, path: str) -> tuple[int, str, int, str, int] | None:
        """(container_id, sha256, size, loaded_at, complete) of the last container read
        from ``path``."""
        return self.db.execute("SELECT container_id, sha256, size, loaded_at, complete "
                               "FROM container WHERE path = ? ORDER BY container_id DESC",
                               (path,)).fetchone()

    def next_key(self, table: str, column: str) -> int:  # provided by Warehouse
        raise NotImplementedError

    def add_container(self, **fields: Any) -> int:
        fields.setdefault("container_id", self.next_key("container", "container_id"))
        fields.setdefault("loaded_at", _now())
        fields.setdefault("tool_version", __version__)
        names = ", ".join(fields)
        cursor = self.db.execute(f"INSERT INTO container ({names}) VALUES "
                                 f"({', '.join('?' * len(fields))})", tuple(fields.values()))
        return int(cursor.lastrowid or 0)

    def finish_container(self, container_id: int, complete: bool, error: str | None,
                         warnings: str | None = None) -> None:
        self.db.execute(
            "UPDATE container SET complete = ?, error = ?, warnings = ?, loaded_at = ?, members = "
            "(SELECT count(*) FROM container_member WHERE container_id = ?) "
            "WHERE container_id = ?",
            (int(complete), error, warnings, _now(), container_id, container_id))

    def may_know(self, path: str, size: int, member_size: int) -> bool:
        """Whether the ledger could know a container read from ``path`` or of ``size``
        bytes, or a source of ``member_size`` bytes. When it cannot, no identity of
        them can be found there, whatever their hashes."""
        return self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM container WHERE path = ? OR size = ?) "
            "OR EXISTS (SELECT 1 FROM source WHERE size = ?)",
            (path, size, member_size)).fetchone()[0] == 1

    def known_member(self, container: tuple[int, str] | None, member: str) -> bool:
        """Whether a member of a container with this (size, sha256) was settled before:
        the same container bytes hold the same member bytes."""
        if container is None:
            return False
        size, sha256 = container
        return self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM container_member AS m JOIN container AS c "
            "USING (container_id) WHERE c.sha256 = ? AND c.size = ? AND m.member = ? "
            f"AND m.status IN {SETTLED})",
            (sha256, size, member)).fetchone()[0] == 1

    def record_member(self, container_id: int, member: str, size: int | None,
                      sha256: str | None, status: str, source_id: int | None = None,
                      note: str | None = None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO container_member (container_id, member, size, sha256, status, "
            "source_id, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (container_id, member, size, sha256, status, source_id, note or None))

    def remove_container(self, container_id: int) -> None:
        """Delete a container, its members and the sources loaded from them (in the open
        transaction); sources it only found already loaded stay."""
        loaded = [source_id for (source_id,) in self.db.execute(
            "SELECT source_id FROM container_member WHERE container_id = ? "
            "AND status IN ('loaded', 'salvaged') AND source_id IS NOT NULL", (container_id,))]
        for source_id in loaded:
            self.remove_source(source_id)
        self.db.execute("DELETE FROM container_member WHERE container_id = ?", (container_id,))
        self.db.execute("DELETE FROM container WHERE container_id = ?", (container_id,))
