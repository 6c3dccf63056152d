"""MongoDB data directories inside a container (a tarball of a node's ``/sim/data``).

The readers of data files need to read by position, so the members that only a
data directory holds (``*.wt``, ``WiredTiger*``, ``*.ns``, ``<db>.0``, …) are
copied, as stored, to the build's temporary folder: each container's members
(the top one's, and each nested container's) under a folder of their own, at
their path in that container. Once the container is read, each folder of them
that is a data directory is read collection by collection; copied files that
belong to none are read as ordinary members.

A data directory is named by its path in its container; one at the
container's root (``tar -C /sim/data -czf node3.tar.gz .``) is named ``.``:
``node3.tar.gz!.!db.collection``, ``outer.tar!inner.tar!.!db.collection``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import WarehouseError
from ..formats.dbpath import engine_of
from .collections import combined

ROOT = "."  # the key of a data directory at its container's root


class SpooledData:
    """The data files copied so far, with the identity of their bytes as stored."""

    def __init__(self, folder: Path) -> None:
        self.root = folder / "data"
        self.files: dict[Path, tuple[str, tuple[int, str]]] = {}  # copy -> (key, identity)
        # the folder of each container's copies, by the prefix of its members' keys
        # ("" for the top container, "inner.tar" for a nested one): never mixed
        self.tops: dict[str, Path] = {}

    def path_of(self, key: str) -> Path:
        """Where a member's copy goes: its name in its container (safe: no '..', not
        absolute) under that container's folder."""
        prefix, _, name = key.rpartition("!")
        top = self.tops.setdefault(prefix, self.root / str(len(self.tops)))
        return top / name

    def key_of(self, path: Path) -> str:
        """A copy or folder as the container names it (``.`` for a container's root)."""
        for prefix, top in self.tops.items():
            if path == top or top in path.parents:
                name = path.relative_to(top).as_posix()  # "." for the root itself
                return f"{prefix}!{name}" if prefix else name
        raise ValueError(f"{path} is not a copy")

    def add(self, key: str, identity: tuple[int, str]) -> None:
        self.files[self.path_of(key)] = (key, identity)

    def directories(self) -> list[tuple[Path, str]]:
        """The data directories among the copies (outermost ones, a container's root
        too), with their keys."""
        candidates = sorted({parent for path in self.files for parent in path.parents
                             if self.root in parent.parents})
        found: list[Path] = []
        for folder in candidates:  # parents sort before their children
            if not any(known in folder.parents for known in found) and engine_of(folder):
                found.append(folder)
        return sorted(((folder, self.key_of(folder)) for folder in found), key=lambda f: f[1])

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
            error.path = f"{container}!{self.key_of(Path(error.path))}"
        return error

    def warnings(self, warnings: list[str], folder: Path, container: str) -> list[str]:
        return [warning.replace(str(folder), f"{container}!{self.key_of(folder)}")
                for warning in warnings]
