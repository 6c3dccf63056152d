"""A mongodump folder's companion files met inside a container.

On disk, a ``.bson`` file's ``<coll>.metadata.json`` and the dump's
``prelude.json`` are looked up beside it. Inside a tar they are members like
any other, in any order: those read so far are kept here (they are small),
keyed by their path in the container without a compression suffix.
"""

from __future__ import annotations

from pathlib import PurePath, PurePosixPath
from typing import Callable

from ..formats.dumpdir import strip_compression


def _plain(path: PurePosixPath) -> PurePosixPath:
    return path.with_name(strip_compression(path.name))


class MemberCompanions:
    """The companions read so far in one container (``formats.dumpdir.Companions``)."""

    def __init__(self) -> None:
        self.texts: dict[PurePosixPath, str] = {}
        self.folders: set[PurePosixPath] = set()  # folders that held members so far

    def seen(self, key: str) -> None:
        """A member was met: its folders count for ``is_dump_top``."""
        self.folders.update(PurePosixPath(key).parents)

    def add(self, key: PurePosixPath, text: str) -> tuple[str, Callable[[str], bool]]:
        """Keep a companion; say what it is and which ``.bson`` keys it describes."""
        path = _plain(key)
        self.texts[path] = text
        if path.name == "prelude.json":
            top = path.parent
            return "prelude", lambda bson: PurePosixPath(bson).parent in (top, ) or \
                PurePosixPath(bson).parent.parent == top
        stem = path.name[: -len(".metadata.json")]
        described = {path.parent / f"{stem}.bson", path.parent / f"system.buckets.{stem}.bson"}
        return "metadata", lambda bson: PurePosixPath(bson) in described

    @staticmethod
    def bson_key(key: str) -> str:
        return str(_plain(PurePosixPath(key)))

    def metadata(self, bson_path: PurePath) -> str | None:
        path = _plain(PurePosixPath(bson_path))
        stem = path.name[: -len(".bson")]
        found = self.texts.get(path.parent / f"{stem}.metadata.json")
        if found is None and stem.startswith("system.buckets."):
            found = self.texts.get(path.parent / f"{stem[len('system.buckets.'):]}.metadata.json")
        return found

    def prelude(self, bson_path: PurePath) -> str | None:
        folder = PurePosixPath(bson_path).parent
        return self.texts.get(folder / "prelude.json") or \
            self.texts.get(folder.parent / "prelude.json")

    def is_dump_top(self, folder: PurePath) -> bool:
        folder = PurePosixPath(folder)
        return (folder / "prelude.json") in self.texts or any(
            seen.parent == folder for seen in self.folders if seen != folder)
