"""Find input files under the paths a build is given, and tell their identity."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import WarehouseError


@dataclass(frozen=True)
class SourceFile:
    """One input file as found on disk."""

    path: Path
    node: str | None
    # given as a PATH, or directly in a folder given, its node not set by --node:
    # a container there names its node after itself
    at_top: bool = False

    @property
    def display(self) -> str:
        return str(self.path)

    def size(self) -> int:
        """Bytes on disk: the file's, or every file's of a directory source."""
        if self.path.is_dir():
            return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return self.path.stat().st_size


def find_sources(paths: list[str | Path], node: str | None = None,
                 is_source_folder: Callable[[Path], bool] | None = None) -> list[SourceFile]:
    """Every regular file under ``paths``, in a stable order.

    A folder that ``is_source_folder`` recognises (a MongoDB data directory)
    is one source of its own: its files are not listed.

    The node of a file is ``node`` when given; otherwise, for a directory
    argument, the first directory below it (``raw/node3/x.json`` -> ``node3``),
    and for a file argument, or a file directly in the directory, its parent
    directory's name (a container there is named after itself instead:
    ``pipeline.containers.container_node``).
    """
    found: list[SourceFile] = []
    folder_source = is_source_folder or (lambda folder: False)
    for given in paths:
        root = Path(given)
        if root.is_file():
            found.append(SourceFile(root, node or root.resolve().parent.name, node is None))
        elif root.is_dir() and folder_source(root):
            found.append(SourceFile(root, node or root.resolve().name, node is None))
        elif root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in [d for d in dirnames if folder_source(Path(dirpath) / d)]:
                    dirnames.remove(name)
                    folder = Path(dirpath) / name
                    found.append(SourceFile(folder, node or _node_below(root, folder / "-"),
                                            False))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    path = Path(dirpath) / name
                    at_top = node is None and Path(dirpath) == root
                    found.append(SourceFile(path, node or _node_below(root, path), at_top))
        else:
            raise WarehouseError("no such file or directory", path=str(root))
    return found


def _node_below(root: Path, path: Path) -> str:
    parts = path.relative_to(root).parts
    if len(parts) > 1:
        return parts[0]
    return root.resolve().name


def file_identity(path: Path) -> tuple[int, str]:
    """Size and sha256 of the file as stored (compressed bytes)."""
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256")
    return path.stat().st_size, digest.hexdigest()
