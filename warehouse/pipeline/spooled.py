"""MongoDB data directories inside a container (a tarball of a node's ``/sim/data``).

The readers of data files need to read by position, so the members that only a
data directory holds (``*.wt``, ``WiredTiger*``, ``*.ns``, ``<db>.0``, …) are
copied, as stored, to the build's temporary folder, at their path in the
container. Once the container is read, each folder of them that is a data
directory is read collection by collection; copied files that belong to none
are read as ordinary members.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..errors import WarehouseError
from ..formats.dbpath import engine_of
from .collections import combined


class SpooledData:
    """The data files copied so far, with the identity of their bytes as stored."""

    def __init__(self, folder: Path) -> None:
        self.root = folder / "data"
        self.files: dict[Path, tuple[str, tuple[int, str]]] = {}  # copy -> (key, identity)

    def path_of(self, key: str) -> Path:
        """Where a member's copy goes: its key (safe: no '..', not absolute) under the root."""
        return self.root / key

    def add(self, key: str, identity: tuple[int, str]) -> None:
        self.files[self.path_of(key)] = (key, identity)

    def directories(self) -> list[tuple[Path, str]]:
        """The data directories among the copies (outermost ones), with their keys."""
        candidates = sorted({parent for path in self.files for parent in path.parents
                             if parent != self.root and self.root in parent.parents})
        found: list[Path] = []
        for folder in candidates:  # parents sort before their children
            if not any(known in folder.parents for known in found) and engine_of(folder):
                found.append(folder)
        return [(folder, str(folder.relative_to(self.root))) for folder in found]

    def under(self, folder: Path) -> Iterator[tuple[Path, str, tuple[int, str]]]:
        for path, (key, identity) in sorted(self.files.items()):
            if folder in path.parents:
                yield path, key, identity

    def leftovers(self, folders: list[Path]) -> Iterator[tuple[Path, str, tuple[int, str]]]:
        """Copies that belong to no data directory: ordinary members after all."""
        for path, (key, identity) in sorted(self.files.items()):
            if not any(folder in path.parents for folder in folders):
                yield path, key, identity

    def identity(self, folder: Path) -> tuple[int, str]:
        return combined((str(path.relative_to(folder)), identity)
                        for path, _, identity in self.under(folder))

    def file_identities(self) -> dict[Path, tuple[int, str]]:
        return {path: identity for path, (_, identity) in self.files.items()}

    def in_container(self, error: WarehouseError, container: str) -> WarehouseError:
        """An error located in a copy, located in the container instead."""
        if error.path is not None and error.path.startswith(f"{self.root}/"):
            error.path = f"{container}!{error.path[len(str(self.root)) + 1:]}"
        return error

    def warnings(self, warnings: list[str], folder: Path, container: str) -> list[str]:
        return [warning.replace(str(folder), f"{container}!{folder.relative_to(self.root)}")
                for warning in warnings]


def translated(value: Any, spooled: SpooledData, container: str) -> Any:
    """A WarehouseError as the container names things; anything else unchanged."""
    if isinstance(value, WarehouseError):
        return spooled.in_container(value, container)
    return value
