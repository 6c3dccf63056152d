"""WiredTiger's packed integers, as its writers pack them (``intpack.i``): for the test writers.

Written from the encoding table in WiredTiger's source, independent of the
reader's ``formats/wiredtiger/pages.unpack_uint``.
"""

from __future__ import annotations


def pack_uint(value: int) -> bytes:
    """WiredTiger's packed unsigned integer (``intpack.i``)."""
    if value < 0:
        raise ValueError("negative")
    if value < 64:
        return bytes([0x80 | value])
    if value < 64 + 0x2000:
        value -= 64
        return bytes([0xC0 | value >> 8, value & 0xFF])
    value -= 64 + 0x2000
    body = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return bytes([0xE0 | len(body)]) + body


def pack_record_id(record_id: int) -> bytes:
    """A record id as key format ``q`` (packed signed int64; ids are positive)."""
    if record_id < 1:
        raise ValueError("MongoDB record ids are positive")
    return pack_uint(record_id)
