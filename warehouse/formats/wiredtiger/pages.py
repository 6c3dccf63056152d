"""Blocks of a WiredTiger file: addresses, checksums, decompression, page headers.

Layout (``src/include/block.h``, ``btmem.h``, ``src/block/block_addr.c`` and
``block_read.c`` of wiredtiger/wiredtiger):

- a 16-byte descriptor at offset 0 (magic 120897, major 1, minor 0, a CRC32C
  of the first allocation unit with its checksum field zeroed);
- blocks at multiples of the allocation size, each starting with a 28-byte page
  header (``recno`` u64, ``write_gen`` u64, ``mem_size`` u32, ``entries`` u32 or
  an overflow item's length, ``type`` u8, ``flags`` u8, an unused byte, and from
  WiredTiger 10 / MongoDB 4.4 a ``version`` byte) and a 12-byte block header
  (``disk_size`` u32, ``checksum`` u32, ``flags`` u8);
- the checksum is a CRC32C over the block with its checksum field zeroed: the
  whole block when the block flag 0x01 says so, else only the first 64 bytes
  (the rest of a compressed block is checked by decompressing it);
- a compressed page keeps its first 64 bytes raw; the rest is the compressor's
  output: snappy and zstd prefix it with its length (u64, little-endian), zlib
  is a plain zlib stream.

Blocks are read with ``os.pread``, one at a time: a file is never read whole.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import Callable

import cramjam
import zstandard
from fastcrc import crc32

from warehouse.errors import WarehouseError

DESC = struct.Struct("<IHHI")
PAGE_HEADER = struct.Struct("<QQIIBBBB")
BLOCK_HEADER = struct.Struct("<IIB")
BLOCK_HEADER_OFFSET = 28
HEADER_SIZE = 40  # page header + block header: where cells start
COMPRESS_SKIP = 64
BLOCK_MAGIC = 120897
BLOCK_DATA_CKSUM = 0x01
MAX_PAGE = 1 << 30  # a sanity bound on a page's in-memory size

# Page types and flags (btmem.h).
PAGE_OVERFLOW = 5
PAGE_ROW_INTERNAL = 6
PAGE_ROW_LEAF = 7
PAGE_COMPRESSED = 0x01
PAGE_ENCRYPTED = 0x08
PAGE_LAS_UPDATE = 0x10  # MongoDB 4.0-4.2: newer updates in WiredTigerLAS.wt
PAGE_FT_UPDATE = 0x20  # 4.4+: deleted-address cells carry fast-truncate times
PAGE_VERSIONS = (0, 1)  # original; with time windows (WiredTiger 10+)


class Truncated(Exception):
    """A packed integer runs past the end of its buffer."""


def unpack_uint(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    """WiredTiger's packed unsigned integer at ``pos``: ``(value, next pos)``."""
    try:
        first = data[pos]
        if first & 0xC0 == 0x80:  # 10xxxxxx: 0 to 63
            return first & 0x3F, pos + 1
        if first & 0xE0 == 0xC0:  # 110xxxxx + 1 byte: 64 to 8255
            return (((first & 0x1F) << 8) | data[pos + 1]) + 64, pos + 2
        if first & 0xF0 == 0xE0:  # 1110llll + l big-endian bytes, from 8256
            length = first & 0x0F
            end = pos + 1 + length
            if length > 8 or end > len(data):
                raise Truncated
            return int.from_bytes(data[pos + 1:end], "big") + 8256, end
    except IndexError:
        raise Truncated from None
    raise ValueError(f"byte 0x{first:02x} does not start a packed unsigned integer")


def unpack_int(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    """WiredTiger's packed signed integer (key format ``q``) at ``pos``."""
    try:
        first = data[pos]
        marker = first & 0xF0
        if marker == 0x10:  # 0001llll: negative, 8 - l big-endian bytes
            length = 8 - (first & 0x0F)
            end = pos + 1 + length
            if length < 0 or end > len(data):
                raise Truncated
            value = (1 << 64) - (1 << (8 * length)) + int.from_bytes(data[pos + 1:end], "big")
            return value - (1 << 64), end
        if marker in (0x20, 0x30):  # 001xxxxx + 1 byte: -8256 to -65
            return (((first & 0x1F) << 8) | data[pos + 1]) - 8256, pos + 2
        if marker in (0x40, 0x50, 0x60, 0x70):  # 01xxxxxx: -64 to -1
            return (first & 0x3F) - 64, pos + 1
    except IndexError:
        raise Truncated from None
    return unpack_uint(data, pos)


@dataclass(frozen=True, slots=True)
class Address:
    """A block's place in its file, and the checksum it must have."""

    offset: int
    size: int
    checksum: int


def unpack_address(data: bytes | bytearray, pos: int,
                   allocation_size: int) -> tuple[Address | None, int]:
    """An address cookie's triple at ``pos``; ``None`` for the empty address."""
    offset, pos = unpack_uint(data, pos)
    size, pos = unpack_uint(data, pos)
    checksum, pos = unpack_uint(data, pos)
    if size == 0:
        return None, pos
    if checksum > 0xFFFFFFFF:
        raise ValueError(f"address checksum {checksum:#x} is wider than 32 bits")
    return Address((offset + 1) * allocation_size, size * allocation_size, checksum), pos


def checkpoint_root(cookie: bytes, allocation_size: int) -> Address | None:
    """The root page of a checkpoint cookie (version byte 1, then root address)."""
    if not cookie or cookie[0] != 1:
        raise ValueError(f"unsupported checkpoint cookie version {cookie[:1].hex() or 'none'}")
    root, _ = unpack_address(cookie, 1, allocation_size)
    return root


@dataclass(frozen=True, slots=True)
class Page:
    """A page image as WiredTiger holds it in memory, headers included."""

    offset: int  # of its block in the file
    type: int
    flags: int
    version: int
    entries: int  # cells, or an overflow item's length
    data: bytes | bytearray  # mem_size bytes (decompressed into a bytearray)


def _decompress_snappy(src: memoryview, size: int, head: bytes) -> bytes | bytearray:
    length = int.from_bytes(src[:8], "little")
    if length + 8 > len(src):
        raise ValueError(f"snappy length {length} runs past the block")
    body = src[8:8 + length]
    if cramjam.snappy.decompress_raw_len(body) != size:
        raise ValueError("snappy data does not expand to the page size")
    out = bytearray(len(head) + size)
    out[:len(head)] = head
    cramjam.snappy.decompress_raw_into(body, memoryview(out)[len(head):])
    return out


def _decompress_zstd(src: memoryview, size: int, head: bytes) -> bytes | bytearray:
    length = int.from_bytes(src[:8], "little")
    if length + 8 > len(src):
        raise ValueError(f"zstd length {length} runs past the block")
    frame = src[8:8 + length]
    # A frame may announce its size: check it before anything is allocated.
    if zstandard.frame_content_size(frame) not in (size, -1):
        raise ValueError("zstd frame does not expand to the page size")
    return head + zstandard.ZstdDecompressor().decompress(frame, max_output_size=size)


def _decompress_zlib(src: memoryview, size: int, head: bytes) -> bytes | bytearray:
    stream = zlib.decompressobj()
    out = stream.decompress(src, size)
    if not stream.eof and stream.decompress(stream.unconsumed_tail, 1):
        raise ValueError("zlib data expands past the page size")
    if not stream.eof:
        raise ValueError("zlib stream cut short")
    return head + out


# Each expands a block's compressed part (``size`` bytes expected) and returns it
# after ``head``, the raw bytes before it: snappy writes straight into the page
# image, no copy of the page is made.
Decompressor = Callable[[memoryview, int, bytes], "bytes | bytearray"]
DECOMPRESSORS: dict[str, Decompressor] = {
    "snappy": _decompress_snappy,
    "zlib": _decompress_zlib,
    "zlib-noraw": _decompress_zlib,  # WiredTiger 2.x-3.x name of zlib without raw mode
    "zstd": _decompress_zstd,
}


def block_checksum(raw: bytes, length: int) -> int:
    """CRC32C of ``raw[:length]`` with the checksum field (bytes 32-35) taken as zero."""
    view = memoryview(raw)
    head = crc32.iscsi(view[:32])
    # Extended by four zero bytes, then by the rest: no copy of the block.
    crc = crc32.iscsi(b"\0\0\0\0", head)
    return crc32.iscsi(view[36:length], crc)


class BlockFile:
    """One ``.wt`` file opened for reading blocks by address."""

    def __init__(self, path: str, allocation_size: int, compressor: str) -> None:
        self.path = path
        self.allocation_size = allocation_size
        if allocation_size < 512 or allocation_size & (allocation_size - 1):
            raise WarehouseError(f"bad allocation size {allocation_size}", path=path)
        self._decompress = self._pick_decompressor(compressor)
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise WarehouseError(f"cannot open table file: {exc.strerror}", path=path) from exc
        try:
            try:
                self.size = os.fstat(self._fd).st_size
            except OSError as exc:
                raise self.error(f"cannot stat table file: {exc.strerror}") from exc
            self._check_descriptor()
        except BaseException:
            os.close(self._fd)
            raise

    def _pick_decompressor(self, compressor: str) -> Decompressor | None:
        if compressor in ("", "none"):
            return None
        if compressor not in DECOMPRESSORS:
            raise WarehouseError(f"block compressor {compressor!r} is not supported "
                                 f"(snappy, zlib, zstd and none are)", path=self.path)
        return DECOMPRESSORS[compressor]

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> "BlockFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def error(self, message: str, offset: int | None = None) -> WarehouseError:
        """A WarehouseError located in this file."""
        return WarehouseError(message, path=self.path, offset=offset)

    def _pread(self, size: int, offset: int) -> bytes:
        try:
            return os.pread(self._fd, size, offset)
        except OSError as exc:
            raise WarehouseError(f"read error: {exc.strerror}", path=self.path,
                                 offset=offset) from exc

    def _check_descriptor(self) -> None:
        if self.size < self.allocation_size:
            raise WarehouseError(f"file of {self.size} bytes is shorter than one allocation "
                                 f"unit ({self.allocation_size}): truncated", path=self.path,
                                 offset=self.size)
        head = self._pread(self.allocation_size, 0)
        magic, major, minor, checksum = DESC.unpack_from(head)
        if magic != BLOCK_MAGIC:
            raise WarehouseError(f"not a WiredTiger file (magic {magic}, expected "
                                 f"{BLOCK_MAGIC})", path=self.path, offset=0)
        zeroed = head[:8] + b"\0\0\0\0" + head[12:]
        if crc32.iscsi(zeroed) != checksum:
            raise WarehouseError("file descriptor block checksum mismatch", path=self.path,
                                 offset=0)
        if major != 1 or minor != 0:
            raise WarehouseError(f"block format version {major}.{minor} is not supported "
                                 f"(1.0 is)", path=self.path, offset=0)

    def read(self, address: Address) -> Page:
        """The page at ``address``, its checksum checked and decompressed."""
        offset, size = address.offset, address.size
        if offset % self.allocation_size or size % self.allocation_size or size < HEADER_SIZE:
            raise self.error(f"bad page address (offset {offset}, size {size})", offset)
        if offset + size > self.size:
            raise self.error(f"page reference outside the file: block of {size} bytes at "
                             f"{offset}, file has {self.size} bytes (truncated?)", offset)
        raw = self._pread(size, offset)
        if len(raw) != size:
            raise self.error(f"file ended inside a {size}-byte block (truncated?)", offset)
        self._check_block(raw, address)
        return self._page(raw, offset)

    def _check_block(self, raw: bytes, address: Address) -> None:
        disk_size, checksum, flags = BLOCK_HEADER.unpack_from(raw, BLOCK_HEADER_OFFSET)
        if checksum != address.checksum:
            raise self.error(f"page checksum mismatch: block says {checksum:#010x}, its "
                             f"reference expects {address.checksum:#010x}", address.offset)
        covered = address.size if flags & BLOCK_DATA_CKSUM else COMPRESS_SKIP
        computed = block_checksum(raw, covered)
        if computed != checksum:
            raise self.error(f"page checksum mismatch: computed {computed:#010x}, "
                             f"expected {checksum:#010x}", address.offset)
        if disk_size != address.size:
            raise self.error(f"block header says {disk_size} bytes, its reference "
                             f"{address.size}", address.offset)

    def _page(self, raw: bytes, offset: int) -> Page:
        _, _, mem_size, entries, kind, flags, _, version = PAGE_HEADER.unpack_from(raw)
        if not HEADER_SIZE <= mem_size <= MAX_PAGE:
            raise self.error(f"bad page size {mem_size}", offset)
        if flags & PAGE_ENCRYPTED:
            raise self.error("encrypted pages are not supported", offset)
        if not flags & PAGE_COMPRESSED:
            if mem_size > len(raw):
                raise self.error(f"page of {mem_size} bytes in a block of {len(raw)}", offset)
            return Page(offset, kind, flags, version, entries, raw[:mem_size])
        if self._decompress is None:
            raise self.error("compressed page in a table without a block compressor", offset)
        try:
            data = self._decompress(memoryview(raw)[COMPRESS_SKIP:], mem_size - COMPRESS_SKIP,
                                    raw[:COMPRESS_SKIP])
        except Exception as exc:  # each library raises its own types on bad input
            raise self.error(f"cannot decompress page: {exc}", offset) from exc
        if len(data) != mem_size:
            raise self.error(f"page decompressed to {len(data)} bytes, its "
                             f"header says {mem_size}", offset)
        return Page(offset, kind, flags, version, entries, data)
