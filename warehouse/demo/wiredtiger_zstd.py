"""Turn a zlib-compressed WiredTiger table written by ``wt`` into a zstd one.

Debian's ``wt`` (3.2.1) has no zstd compressor, MongoDB 4.2's does. A table
written with ``block_compressor=zlib,checksum=uncompressed`` is converted in
place, as WiredTiger's zstd extension (``ext/compressors/zstd``) would have
written it:

- each compressed block keeps its first 64 bytes (page and block headers, and
  the first bytes of the page, stored raw) and gets the zstd frame of the rest
  of the page, prefixed by its length (u64, little-endian), zero-padded to the
  block's size. The block checksum of a compressed block covers only those 64
  bytes (``checksum=uncompressed``), so checksums and the addresses that
  carry them stay valid;
- the table's entry in the metadata (``WiredTiger.wt``) says
  ``block_compressor=zlib``: it becomes ``zstd`` (same length). That leaf page
  gets a new checksum, so does its parent's address cell, up to the root,
  whose address is rewritten in ``WiredTiger.turtle``.

Written on its own from ``block.h``, ``cell.h`` and ``intpack.i`` (not with the
reader's code). Meant for test data: files are handled whole in memory.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import zstandard
from fastcrc import crc32

from .wiredtiger_pack import pack_uint

ALLOC = 4096
SKIP = 64
PAGE = struct.Struct("<QQIIBBBB")
BLOCK = struct.Struct("<IIB")
COMPRESSED = 0x01
DATA_CKSUM = 0x01
LEAF, INTERNAL = 7, 6


def _unpack_uint(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first >> 6 == 0b10:
        return first & 0x3F, pos + 1
    if first >> 5 == 0b110:
        return ((first & 0x1F) << 8 | data[pos + 1]) + 64, pos + 2
    if first >> 4 == 0b1110:
        n = first & 0x0F
        return int.from_bytes(data[pos + 1:pos + 1 + n], "big") + 64 + 0x2000, pos + 1 + n
    raise ValueError(f"not a packed unsigned integer: {first:#x}")


def _checksum(block: bytes | bytearray, covered: int) -> int:
    zeroed = bytearray(block[:covered])
    zeroed[32:36] = b"\0\0\0\0"
    return crc32.iscsi(bytes(zeroed))


def _recompress(block: bytearray) -> None:
    """One zlib block, recompressed with zstd in place (same size, same checksum)."""
    _, _, mem_size, _, _, flags, _, _ = PAGE.unpack_from(block)
    disk_size, _, block_flags = BLOCK.unpack_from(block, 28)
    if not flags & COMPRESSED:
        return
    if block_flags & DATA_CKSUM:
        raise ValueError("the block checksum covers its payload: write the table with "
                         "checksum=uncompressed")
    body = zlib.decompressobj().decompress(bytes(block[SKIP:disk_size]))
    if len(body) != mem_size - SKIP:
        raise ValueError("zlib block does not expand to its page size")
    frame = zstandard.ZstdCompressor(level=19).compress(body)
    payload = len(frame).to_bytes(8, "little") + frame
    if SKIP + len(payload) > disk_size:
        raise ValueError("zstd frame larger than the zlib block it replaces")
    block[SKIP:disk_size] = payload + bytes(disk_size - SKIP - len(payload))


def recompress_file(path: Path) -> int:
    """Recompress every zlib block of a table file; the number converted.

    Blocks are found front to back from their headers: a block is one whose
    checksum holds; anything else is skipped one allocation unit at a time.
    """
    data = bytearray(path.read_bytes())
    offset, converted = ALLOC, 0
    while offset + 40 <= len(data):
        disk_size, checksum, block_flags = BLOCK.unpack_from(data, offset + 28)
        covered = disk_size if block_flags & DATA_CKSUM else SKIP
        if (disk_size and disk_size % ALLOC == 0 and offset + disk_size <= len(data)
                and _checksum(data[offset:offset + disk_size], covered) == checksum):
            block = data[offset:offset + disk_size]
            if PAGE.unpack_from(block)[5] & COMPRESSED:
                _recompress(block)
                data[offset:offset + disk_size] = block
                converted += 1
            offset += disk_size
        else:
            offset += ALLOC
    path.write_bytes(bytes(data))
    return converted


def _cookie(offset: int, size: int, checksum: int) -> bytes:
    return pack_uint(offset // ALLOC - 1) + pack_uint(size // ALLOC) + pack_uint(checksum)


def _uncookie(data: bytes | bytearray, pos: int) -> tuple[tuple[int, int, int], int]:
    offset, pos = _unpack_uint(data, pos)
    size, pos = _unpack_uint(data, pos)
    checksum, pos = _unpack_uint(data, pos)
    return ((offset + 1) * ALLOC, size * ALLOC, checksum), pos


def _reseal(block: bytearray, old: int, keep_length: bool) -> int:
    """Recompute a whole-block checksum; vary a padding byte until it packs as
    long as the old one, so that the parent's address cell keeps its size."""
    mem_size = PAGE.unpack_from(block)[2]
    for tweak in range(256):
        if tweak:
            if mem_size >= len(block):
                raise ValueError("no padding byte to vary in a full block")
            block[-1] = tweak
        checksum = _checksum(block, len(block))
        if not keep_length or len(pack_uint(checksum)) == len(pack_uint(old)):
            block[32:36] = checksum.to_bytes(4, "little")
            return checksum
    raise ValueError("no checksum of the right packed length")


def _value_cell(page: bytes | bytearray, pos: int) -> tuple[int, int]:
    """Start and end of the data of the value cell at ``pos`` (short or long)."""
    desc = page[pos]
    if desc & 0x03 == 0x03:
        return pos + 1, pos + 1 + (desc >> 2)
    if desc & 0xF0 == 0x80:
        length, start = _unpack_uint(page, pos + 1)
        return start, start + length + 64
    raise ValueError(f"metadata value cell of an unexpected type {desc:#x}")


def _children(block: bytes | bytearray) -> list[tuple[int, int, tuple[int, int, int]]]:
    """(start, end, address) of each address cookie of an internal page."""
    _, _, mem_size, entries, _, _, _, _ = PAGE.unpack_from(block)
    pos, found = 40, []
    for _ in range(entries):
        desc = block[pos]
        if desc & 0x03 == 0x01:  # short key
            pos += 1 + (desc >> 2)
            continue
        length, start = _unpack_uint(block, pos + 1)
        if desc & 0xF0 == 0x50:  # long key
            pos = start + length + 64
        elif desc & 0xF0 in (0x10, 0x20, 0x30):  # child address
            found.append((start, start + length, _uncookie(block, start)[0]))
            pos = start + length
        else:
            raise ValueError(f"internal page cell of an unexpected type {desc:#x}")
    return found


def _patch(meta: bytearray, address: tuple[int, int, int], key: bytes, root: bool
           ) -> tuple[int, int, int] | None:
    """Patch the compressor in the live page holding ``key``; its new address."""
    offset, size, checksum = address
    block = meta[offset:offset + size]
    if block[24] == LEAF:
        at = block.find(key, 40, PAGE.unpack_from(block)[2])
        if at < 0:
            return None
        start, end = _value_cell(block, at + len(key))
        needle = block.find(b"block_compressor=zlib", start, end)
        if needle < 0:
            raise ValueError(f"{key!r} is not a zlib table")
        block[needle:needle + 21] = b"block_compressor=zstd"
    elif block[24] == INTERNAL:
        for start, end, child in _children(block):
            patched = _patch(meta, child, key, False)
            if patched is not None:
                block[start:end] = _cookie(*patched)
                break
        else:
            return None
    else:
        raise ValueError(f"metadata page of type {block[24]}")
    new = _reseal(block, checksum, keep_length=not root)
    meta[offset:offset + size] = block
    return offset, size, new


def patch_metadata(home: Path, ident: str) -> None:
    """Say ``block_compressor=zstd`` in the metadata entry of ``file:<ident>.wt``."""
    turtle_path = home / "WiredTiger.turtle"
    lines = turtle_path.read_text().split("\n")
    at = lines.index("file:WiredTiger.wt") + 1
    marker = 'addr="'
    start = lines[at].index(marker) + len(marker)
    hex_cookie = lines[at][start:lines[at].index('"', start)]
    cookie = bytes.fromhex(hex_cookie)
    root, rest = _uncookie(cookie, 1)
    meta = bytearray((home / "WiredTiger.wt").read_bytes())
    patched = _patch(meta, root, f"file:{ident}.wt\0".encode(), True)
    if patched is None:
        raise ValueError(f"no metadata entry for {ident}")
    (home / "WiredTiger.wt").write_bytes(bytes(meta))
    new_cookie = cookie[:1] + _cookie(*patched) + cookie[rest:]
    lines[at] = lines[at].replace(hex_cookie, new_cookie.hex())
    turtle_path.write_text("\n".join(lines))


def convert_table(home: Path, ident: str) -> int:
    """Make table ``ident`` (written with zlib) a zstd table; blocks converted."""
    converted = recompress_file(home / f"{ident}.wt")
    patch_metadata(home, ident)
    return converted
