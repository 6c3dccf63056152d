"""Open an input file as a decompressed binary stream.

Compression is chosen from the first bytes of the file, never from its name,
so a misnamed file still loads. Streams are read lazily: nothing here holds a
whole file in memory, and a stream that expands far beyond its compressed
size (a decompression bomb) is stopped.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from ..errors import WarehouseError

# (magic bytes, name): the decompressor is picked from these, not the suffix.
MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

# Exceptions the decompressors raise on damaged or truncated streams.
DECOMPRESSION_ERRORS = (EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError, OSError)

READ_BUFFER = 1 << 20
# Decompressed bytes allowed per compressed byte, past the first MAX_RATIO MiB:
# real exports compress 5 to 30 times; a decompression bomb, millions of times.
MAX_RATIO = 1000
GUARD_CHUNK = 64 << 10


class CountingReader(io.RawIOBase):
    """A raw file that counts the bytes read from it (progress, error offsets),
    and hashes them when asked (a container's member: its identity is known
    only once it is read)."""

    def __init__(self, raw: Any, hashed: bool = False) -> None:
        self._raw = raw
        self.bytes_read = 0
        self.digest = hashlib.sha256() if hashed else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self.bytes_read += n
        if self.digest is not None and n:
            self.digest.update(memoryview(buffer)[:n])
        return n

    def drain(self) -> None:
        """Read what nobody read, so that the count and the hash cover everything."""
        while self.read(READ_BUFFER):
            pass

    def close(self) -> None:
        self._raw.close()
        super().close()


class RatioGuard(io.RawIOBase):
    """Stops a decompressed stream that grows far beyond its compressed size."""

    def __init__(self, inner: io.BufferedIOBase, raw: CountingReader, compression: str) -> None:
        self._inner = inner
        self._raw = raw
        self._compression = compression
        self.produced = 0
        self.allowed = 0  # bytes bounded otherwise, not held against the ratio

    def allow(self, size: int) -> None:
        """Bytes about to be read whose size is bounded by other means (a container's
        member of declared size, copied once the disk is found to have room for it):
        a database's preallocated files are zeros, which compress beyond any ratio."""
        self.allowed += size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        # Small reads: a stream cut short then loses at most one chunk of what
        # it had decompressed, which a salvaging build can still keep.
        n = self._inner.readinto(memoryview(buffer)[:GUARD_CHUNK])
        self.produced += n
        if self.produced - self.allowed > MAX_RATIO * max(self._raw.bytes_read, 1 << 20):
            raise WarehouseError(
                f"{self._compression} stream expands more than {MAX_RATIO} times "
                f"({self.produced} bytes from {self._raw.bytes_read}): a decompression bomb?",
                offset=self._raw.bytes_read, salvageable=False)
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


def sniff_compression(head: bytes) -> str:
    for magic, name in MAGIC_NUMBERS:
        if head.startswith(magic):
            return name
    return "none"


@dataclass
class OpenedSource:
    """A decompressed stream plus what it took to get it."""

    stream: io.BufferedIOBase
    compression: str
    raw: CountingReader

    def close(self) -> None:
        self.stream.close()
        self.raw.close()

    def __enter__(self) -> "OpenedSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(path: Path) -> OpenedSource:
    """Open ``path`` and undo its compression, whatever its name says."""
    return open_stream(open(path, "rb", buffering=0))


def open_stream(raw_file: Any, hashed: bool = False, decompress: bool = True) -> OpenedSource:
    """Undo the compression of a raw stream (a file, or a container's member)."""
    raw = CountingReader(raw_file, hashed)
    buffered = io.BufferedReader(raw, READ_BUFFER)
    compression = sniff_compression(buffered.peek(8)[:8]) if decompress else "none"
    stream: io.BufferedIOBase
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=buffered, mode="rb")  # reads every member
    elif compression == "bzip2":
        stream = bz2.BZ2File(buffered, "rb")  # reads every stream
    elif compression == "xz":
        stream = lzma.LZMAFile(buffered, "rb")  # reads every stream
    elif compression == "zstd":
        stream = zstandard.ZstdDecompressor().stream_reader(  # type: ignore[assignment]
            buffered, read_across_frames=True, closefd=False
        )
    else:
        return OpenedSource(buffered, compression, raw)
    guarded = io.BufferedReader(RatioGuard(stream, raw, compression), READ_BUFFER)
    return OpenedSource(guarded, compression, raw)
