"""Containers (tar and zip files, any compression) seen as folders of members.

A container is recognised by its content: the tar magic in its first header
(after its compression is undone), or a zip's local header. Its members are
read in place: a tar front to back once, a zip through its central
directory. Only a zip that is not a plain file on disk (compressed, or inside
another container) is first copied to a temporary file, since its central
directory sits at its end.

Members that are not regular files, or whose names leave the container (an
absolute path, ``..``), are never read: they come out with a ``problem``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from ..errors import WarehouseError
from .compression import READ_BUFFER
from .tar import TarReader, is_tar
from .zip import ZipReader, is_zip

HEAD = 512  # enough to tell a tar (magic at 257) or a zip


def container_kind(head: bytes) -> str | None:
    """"tar" or "zip" for the first bytes of a decompressed stream, else None."""
    if is_zip(head):
        return "zip"
    if is_tar(head):
        return "tar"
    return None


@dataclass
class Member:
    """One member of a container, as its header or directory entry describes it."""

    name: str  # as stored, '/'-separated
    size: int  # bytes, as stored (before the member's own compression is undone)
    kind: str  # file, directory, symbolic link, hard link, …
    offset: int  # of its header in the container
    problem: str | None = None  # why it is not read (unsafe), else None
    # its bytes, for a file without a problem; open(bounded=True): see RatioGuard.allow
    open: Callable[..., Any] | None = None


def problem_of(name: str, kind: str) -> str | None:
    """Why a member must not be read: not a regular file, or a name leaving the container."""
    if kind != "file":
        return f"a {kind}: skipped, never followed"
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path: skipped"
    if ".." in parts:
        return "a path with '..': skipped"
    return None


def tar_members(stream: Any, display: str) -> Iterator[Member]:
    for entry in TarReader(stream, display):
        problem = problem_of(entry.name, entry.kind)
        opener = None if problem or entry.data is None else partial(_itself, entry.data)
        yield Member(entry.name, entry.size, entry.kind, entry.offset, problem, opener)


def _itself(data: Any, bounded: bool = False) -> Any:
    return data  # a tar member's bytes are bounded by its header's size


def zip_members(file: BinaryIO, display: str) -> Iterator[Member]:
    reader = ZipReader(file, display)
    try:
        for entry in reader:
            problem = problem_of(entry.name, entry.kind)
            yield Member(entry.name, entry.size, entry.kind, entry.offset, problem,
                         None if problem else partial(reader.open, entry))
    finally:
        reader.close()
        file.close()


class Spool:
    """A temporary folder of ours, for what must be read by position; removed on close."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="warehouse-spool-"))

    def make_room(self, size: int) -> None:
        """Fail unless the spool's disk has room for ``size`` more bytes."""
        free = shutil.disk_usage(self.folder).free
        if size > free:
            raise WarehouseError(f"needs {size} bytes of temporary space in {self.folder}, "
                                 f"{free} free: set TMPDIR to a larger disk")

    def copy(self, stream: Any, name: str, target: Path | None = None) -> Path:
        """``stream`` to a file of the spool: ``target`` (inside the spool), or a new
        file (``name`` only picks a safe file name)."""
        if target is None:
            target = self.folder / f"{len(os.listdir(self.folder))}-{Path(name).name or 'member'}"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            shutil.copyfileobj(stream, out, READ_BUFFER)
        return target

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
