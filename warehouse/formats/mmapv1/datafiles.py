"""A database's data files ``<db>.0``, ``<db>.1``, ...: opened as reached, mapped, checked.

Files are memory-mapped read-only (they reach 2 GB each), never read whole.
Every DiskLoc is checked before use: the file it names exists and has a
supported header, and the bytes it needs lie inside the file. A failed check
raises ``WarehouseError`` located where the bad pointer was read.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import WarehouseError

from .layout import FILE_HEADER_SIZE, DiskLoc, FileHeader, parse_file_header


def data_file_number(path: Path, database: str) -> int | None:
    """N for a file named ``<database>.N``, else None."""
    prefix = database + "."
    suffix = path.name[len(prefix):]
    if path.name.startswith(prefix) and suffix.isdigit() and suffix.isascii():
        return int(suffix)
    return None


def list_data_files(folder: Path, database: str) -> list[Path]:
    """The data files of a database in a folder, by number."""
    numbered = [(data_file_number(p, database), p) for p in folder.iterdir() if p.is_file()]
    return [p for n, p in sorted((n, p) for n, p in numbered if n is not None)]


@dataclass
class DataFile:
    """One mapped data file."""

    number: int
    path: Path
    mm: mmap.mmap
    size: int  # bytes actually on disk
    header: FileHeader
    view: memoryview  # documents are decoded from slices of it, without a copy

    @property
    def name(self) -> str:
        return self.path.name


def _open(number: int, path: Path) -> DataFile:
    spath = str(path)
    try:
        with open(path, "rb") as file:
            size = file.seek(0, 2)
            if size < FILE_HEADER_SIZE:
                raise WarehouseError(
                    f"data file of {size} bytes: shorter than its {FILE_HEADER_SIZE}-byte header"
                    " (truncated)", path=spath, offset=0)
            mm = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise WarehouseError(f"cannot read the data file: {exc.strerror}", path=spath) from exc
    header = parse_file_header(mm)
    if not header.supported:
        mm.close()
        what = ("a preallocated file that was never used" if header.version == 0
                else "not a MongoDB 2.0-3.0 MMAPv1 data file (expected 4.5 or 4.6)")
        raise WarehouseError(f"data file version {header}: {what}", path=spath, offset=0)
    return DataFile(number, path, mm, size, header, memoryview(mm))


class DataFiles:
    """The data files of one database, mapped when first reached; close() unmaps them."""

    def __init__(self, files: list[Path], database: str) -> None:
        self.database = database
        self._paths = {data_file_number(p, database): p for p in files}
        self._open: dict[int, DataFile] = {}

    def close(self) -> None:
        for data_file in self._open.values():
            data_file.view.release()
            try:
                data_file.mm.close()
            except BufferError:  # a slice still held (by a traceback): unmapped when freed
                pass
        self._open.clear()

    def locate(self, loc: DiskLoc, need: int, what: str, where: tuple[str, int]) -> DataFile:
        """The file holding ``need`` bytes at ``loc``, checked; errors located at ``where``."""
        path, offset = where
        found = self._open.get(loc.file)
        if found is None:
            candidate = self._paths.get(loc.file) if loc.file >= 0 else None
            if candidate is None:
                raise WarehouseError(
                    f"{what} {loc} points to {self.database}.{loc.file}, which does not exist",
                    path=path, offset=offset)
            found = self._open[loc.file] = _open(loc.file, candidate)
        if loc.ofs < FILE_HEADER_SIZE:
            into = "into the header of" if loc.ofs >= 0 else "before the start of"
            raise WarehouseError(f"{what} {loc} points {into} {found.name}",
                                 path=path, offset=offset)
        end = loc.ofs + need
        if end > found.size:
            stated = found.header.file_length
            why = (f"the file is truncated: its header says {stated} bytes"
                   if found.size < stated else "outside the file")
            raise WarehouseError(
                f"{what} {loc} ({need} bytes) runs past the end of {found.name}"
                f" ({found.size} bytes; {why})", path=path, offset=offset)
        return found
