"""A zip file read through its central directory, member by member (stored, deflate, zip64).

``zipfile`` reads the central directory and the members, and checks each
member's CRC-32 at its end. Two checks are added before any member is read:
entries whose data overlap (a known way to build a zip bomb, and never
written by a real zip tool) refuse the whole file, and a member whose
declared size is far beyond its compressed size is refused alone.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from ..errors import WarehouseError
from .compression import MAX_RATIO

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a member's local header; an empty archive
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # 30 bytes, then name and extra field


def is_zip(head: bytes) -> bool:
    return head[:4] in ZIP_MAGICS


@dataclass
class ZipMember:
    name: str
    size: int
    kind: str  # file, directory, symbolic link
    offset: int  # of its local header in the zip file
    info: zipfile.ZipInfo


def _kind(info: zipfile.ZipInfo) -> str:
    if info.is_dir():
        return "directory"
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # made on Unix: the file type is in the mode bits
        kind = {0o120000: "symbolic link", 0o020000: "character device",
                0o060000: "block device", 0o010000: "FIFO", 0o140000: "socket"}.get(mode & 0o170000)
        if kind:
            return kind
    return "file"


class ZipReader:
    """The members of a seekable zip file, in the order of its central directory."""

    def __init__(self, file: BinaryIO, display: str) -> None:
        self.display = display
        self.file = file
        try:
            self.zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
            raise WarehouseError(f"not a readable zip file (no central directory?): {error}",
                                 display, offset=0, salvageable=False) from None
        self._check_overlaps()

    def _data_end(self, info: zipfile.ZipInfo) -> int:
        """Where a member's data ends: its local header says how long name and extra are."""
        self.file.seek(info.header_offset)
        header = self.file.read(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise WarehouseError(f"member {info.filename}: no local header where the central "
                                 "directory says", self.display, offset=info.header_offset,
                                 salvageable=False)
        name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
        return (info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
                + info.compress_size)

    def _check_overlaps(self) -> None:
        spans = sorted((info.header_offset, self._data_end(info), info.filename)
                       for info in self.zip.infolist())
        for (start, end, name), (next_start, _, next_name) in zip(spans, spans[1:]):
            if next_start < end:
                raise WarehouseError(
                    f"entries {name} and {next_name} overlap: refused (a zip bomb?)",
                    self.display, offset=next_start, salvageable=False)

    def __iter__(self) -> Iterator[ZipMember]:
        for info in self.zip.infolist():
            yield ZipMember(info.filename, info.file_size, _kind(info), info.header_offset, info)

    def open(self, member: ZipMember, bounded: bool = False) -> BinaryIO:
        """A member's bytes, decompressed by zip; its CRC is checked at its end.
        ``bounded``: the caller bounds its size otherwise (see RatioGuard.allow)."""
        info = member.info
        if not bounded and info.file_size > MAX_RATIO * max(info.compress_size, 1 << 20):
            raise WarehouseError(
                f"declares {info.file_size} bytes from {info.compress_size}: "
                "a decompression bomb?", offset=0, salvageable=False)
        try:
            return self.zip.open(info)  # type: ignore[return-value]
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
            raise WarehouseError(f"cannot read this member: {error}", offset=0) from None

    def close(self) -> None:
        self.zip.close()


# What zipfile raises while a member is read (CRC mismatch, damaged deflate data).
ZIP_ERRORS = (zipfile.BadZipFile, EOFError)
