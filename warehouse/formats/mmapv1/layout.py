"""The on-disk structures of MMAPv1 (MongoDB 2.0 to 3.0), as constants and parsers.

All structures are packed and little-endian (see
``/work/shared/mongodb-files/LAYOUT.md`` and the 2.4/2.6 headers it names:
``diskloc.h``, ``hashtab.h``, ``namespace_details.h``, ``data_file.h``,
``extent.h``, ``record.h``). Only parsing lives here: no file access.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

# -- the namespace file <db>.ns -------------------------------------------------
NODE_SIZE = 628  # int32 hash + char name[128] + NamespaceDetails[496]
NAME_SIZE = 128
DETAILS_OFFSET = 4 + NAME_SIZE  # NamespaceDetails within a node
DETAILS_SIZE = 496
USE_POWER_OF_2_SIZES = 1  # userFlags bit (Flag_UsePowerOf2Sizes = 1 << 0)

# -- data files <db>.0, <db>.1, ... -------------------------------------------
FILE_HEADER_SIZE = 8192
PDFILE_VERSION = 4
MINOR_22_AND_OLDER = 5
MINOR_24_AND_NEWER = 6
EXTENT_MAGIC = 0x41424344  # bytes "DCBA" on disk
EXTENT_HEADER_SIZE = 176
RECORD_HEADER_SIZE = 16
NULL_FILE = -1  # DiskLoc.fileNo of a null location
NULL_OFS = -1  # Record.nextOfs / prevOfs of "none"

_FILE_HEADER = struct.Struct("<iii")  # version, versionMinor, fileLength
# magic, myLoc, xnext, xprev, nsDiagnostic, length, firstRecord, lastRecord
_EXTENT = struct.Struct("<I6i128si4i")
# lengthWithHeaders, extentOfs, nextOfs, prevOfs, then the BSON's own int32 length
RECORD_AND_LENGTH = struct.Struct("<5i")
# firstExtent, lastExtent, deletedList[19], datasize, nrecords, lastExtentSize,
# nIndexes, IndexDetails[10] {head, info}, isCapped, maxDocsInCapped,
# paddingFactor, systemFlags, capExtent, capFirstNewRecord, dataFileVersion,
# indexFileVersion, multiKeyIndexBits, reservedA, extraOffset,
# indexBuildsInProgress, userFlags, reserved
_DETAILS = struct.Struct("<4i38iqqii40iiidi4iHHQQqii72x")
assert _DETAILS.size == DETAILS_SIZE and _EXTENT.size == EXTENT_HEADER_SIZE

Buffer: TypeAlias = "bytes | memoryview | mmap.mmap"


class DiskLoc(NamedTuple):
    """A location in a database's data files: ``fileNo`` (-1 = null) and byte offset."""

    file: int
    ofs: int

    @property
    def is_null(self) -> bool:
        return self.file == NULL_FILE

    def __str__(self) -> str:  # as mongod prints them: 0:20b0
        return "null" if self.is_null else f"{self.file}:{self.ofs:x}"


def namespace_hash(name: bytes) -> int:
    """The hash a node stores for a namespace (``Namespace::hash``).

    ``x = x*131 + c`` over the bytes as signed chars (x86's ``char``, and
    explicitly ``signed char`` in 3.0), in 32-bit unsigned arithmetic; then
    forced positive and non-zero with ``| 0x8000000``.
    """
    x = 0
    for c in name:
        x = (x * 131 + (c - 256 if c >= 128 else c)) & 0xFFFFFFFF
    return (x & 0x7FFFFFFF) | 0x8000000


def node_count(ns_file_size: int) -> int:
    """Nodes of a hash table in a file of this size: an odd number (``hashtab.h``)."""
    n = ns_file_size // NODE_SIZE
    return n - 1 if n % 2 == 0 else n


@dataclass(frozen=True)
class NamespaceDetails:
    """The parts of a namespace's 496-byte details that a reader needs."""

    first_extent: DiskLoc
    last_extent: DiskLoc
    datasize: int
    nrecords: int
    n_indexes: int
    capped: bool
    max_docs_in_capped: int
    padding_factor: float
    user_flags: int

    @classmethod
    def parse(cls, buf: Buffer, offset: int) -> NamespaceDetails:
        f = _DETAILS.unpack_from(buf, offset)
        # f[0:4] extents, f[4:42] deleted lists, then datasize at f[42]
        return cls(
            first_extent=DiskLoc(f[0], f[1]), last_extent=DiskLoc(f[2], f[3]),
            datasize=f[42], nrecords=f[43], n_indexes=f[45],
            capped=f[86] != 0, max_docs_in_capped=f[87], padding_factor=f[88],
            user_flags=f[100])


class FileHeader(NamedTuple):
    version: int
    minor: int
    file_length: int

    @property
    def supported(self) -> bool:
        # 3.0 (the "2.8 freelist") sets bit 0x10 of the minor
        return (self.version == PDFILE_VERSION
                and self.minor & 0xF in (MINOR_22_AND_OLDER, MINOR_24_AND_NEWER))

    def __str__(self) -> str:
        return f"{self.version}.{self.minor}"


def parse_file_header(buf: Buffer) -> FileHeader:
    return FileHeader(*_FILE_HEADER.unpack_from(buf, 0))


class ExtentHeader(NamedTuple):
    magic: int
    my_loc: DiskLoc
    xnext: DiskLoc
    xprev: DiskLoc
    length: int
    first_record: DiskLoc
    last_record: DiskLoc


def parse_extent(buf: Buffer, offset: int) -> ExtentHeader:
    f = _EXTENT.unpack_from(buf, offset)
    return ExtentHeader(f[0], DiskLoc(f[1], f[2]), DiskLoc(f[3], f[4]), DiskLoc(f[5], f[6]),
                        f[8], DiskLoc(f[9], f[10]), DiskLoc(f[11], f[12]))
