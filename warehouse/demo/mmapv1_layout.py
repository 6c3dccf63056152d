"""The MMAPv1 on-disk layout as the test writer lays it out: sizes, structs, hashing, record sizes.

From ``/work/shared/mongodb-files/LAYOUT.md`` alone (see ``mmapv1_writer``).
"""

from __future__ import annotations

import struct

MB = 1 << 20
NODE_SIZE = 628
HEADER_SIZE, EXTENT_HEADER, RECORD_HEADER = 8192, 176, 16
MAGIC = 0x41424344
MIN_EXTENT = 0x1000
BUCKET_SIZES = [0x20 << i for i in range(18)] + [0x1000000]  # 32 B to 4 MB, then 16 MB
NO_LIMIT = 0x7FFFFFFF
NULL, INVALID = (-1, 0), (-2, 0)  # DiskLocs: none; "not computed yet" (capped)
FILE_SIZE, MAX_FILE_SIZE = 64 * MB, 0x7FF00000  # 64 MB << N, up to 2047 MB

FILE_HEADER = struct.Struct("<3i2ii")  # version, minor, fileLength, unused, unusedLength
EXTENT_STRUCT = struct.Struct("<I6i128si4i")
RECORD_STRUCT = struct.Struct("<4i")  # lengthWithHeaders, extentOfs, nextOfs | prevOfs or nextDeleted
DETAILS_STRUCT = struct.Struct("<4i38iqqii40iiidi4iHHQQqii72x")


def namespace_hash(name: bytes) -> int:
    x = 0
    for c in name:  # bytes as signed chars, as x86 mongod read them
        x = (x * 131 + (c - 256 if c >= 128 else c)) & 0xFFFFFFFF
    return (x & 0x7FFFFFFF) | 0x8000000


def bucket(size: int) -> int:
    """The deleted list for a record of this size: the first bucket larger than it."""
    return next((i for i, b in enumerate(BUCKET_SIZES) if b > size), len(BUCKET_SIZES) - 1)


def record_size(bson_length: int, padding_factor: float, power_of_2: bool) -> int:
    need = bson_length + RECORD_HEADER
    if power_of_2:
        size = BUCKET_SIZES[bucket(need)]
        if size == BUCKET_SIZES[-1]:
            size = (need | (MB - 1)) + 1
    else:
        size = int(need * padding_factor)
    return (size + 3) & ~3


def quantized(size: int) -> int:
    """2.6's rounding of a record size: up to 1/16 of its bucket (256 KB from 4 MB)."""
    unit = BUCKET_SIZES[bucket(size)] // 16 if size < 4 * MB else 256 * 1024
    return -(-size // unit) * unit
