"""Writing files in any compression the build reads, as the real tools write them."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from collections.abc import Iterable
from typing import Any, Protocol

import zstandard

COMPRESSIONS = ("none", "gzip", "bzip2", "xz", "zstd")
SUFFIXES = {"none": "", "gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}


class ByteSink(Protocol):
    """What the writers here write to: a binary file, or a ``CompressedWriter``."""

    def write(self, data: bytes, /) -> Any: ...


def write_batched(fh: ByteSink, pieces: Iterable[bytes]) -> int:
    """Write the pieces about a megabyte at a time; returns how many there were."""
    n = size = 0
    batch: list[bytes] = []
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        n += 1
        if size >= 1 << 20:
            fh.write(b"".join(batch))
            batch.clear()
            size = 0
    if batch:
        fh.write(b"".join(batch))
    return n


class CompressedWriter(io.RawIOBase):
    """A binary writable file that compresses as it goes.

    ``new_member()`` ends the current gzip member / bzip2 or xz stream / zstd
    frame and starts another one (as ``cat a.gz b.gz`` or ``pzstd`` would
    produce); a no-op without compression. zstd frames are written by a
    streaming compressor, so their headers carry no content size.
    """

    def __init__(self, path: str | os.PathLike[str], compression: str, level: int | None = None):
        if compression not in COMPRESSIONS:
            raise ValueError(f"unknown compression {compression!r}; "
                             f"expected one of {', '.join(COMPRESSIONS)}")
        self.compression = compression
        self.level = level
        self.members = 0
        self._z: Any = None
        self._raw: Any = None
        super().__init__()
        self._raw = open(path, "wb")
        self._start()

    def _start(self) -> None:
        c, lv = self.compression, self.level
        if c == "gzip":
            # mtime=0 and no name: the output depends on the data only
            self._z = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw,
                                    compresslevel=6 if lv is None else lv, mtime=0)
        elif c == "bzip2":
            self._z = bz2.BZ2Compressor(9 if lv is None else lv)
        elif c == "xz":
            self._z = lzma.LZMACompressor(format=lzma.FORMAT_XZ, preset=6 if lv is None else lv)
        elif c == "zstd":
            self._z = zstandard.ZstdCompressor(level=3 if lv is None else lv).compressobj()
        self.members += 1

    def _finish(self) -> None:
        c = self.compression
        if c == "gzip":
            self._z.close()  # leaves self._raw open (fileobj was given)
        elif c in ("bzip2", "xz", "zstd"):
            self._raw.write(self._z.flush())
        self._z = None

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed file")
        n = len(b) if not isinstance(b, memoryview) else b.nbytes
        c = self.compression
        if c == "none":
            self._raw.write(b)
        elif c == "gzip":
            self._z.write(b)
        else:
            out = self._z.compress(bytes(b))
            if out:
                self._raw.write(out)
        return n

    def new_member(self) -> None:
        if self.compression == "none":
            return
        self._finish()
        self._start()

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._z is not None:
                self._finish()
            if self._raw is not None:
                self._raw.close()
        finally:
            super().close()


def open_writer(path: str | os.PathLike[str], compression: str,
                level: int | None = None) -> CompressedWriter:
    """A binary writable file compressing with ``"none"``, ``"gzip"``, ``"bzip2"``,
    ``"xz"`` or ``"zstd"`` (levels default to gzip 6, bzip2 9, xz 6, zstd 3).

    Call ``new_member()`` on it to begin a new member / stream / frame.
    """
    return CompressedWriter(path, compression, level)


def write_compressed(path: str | os.PathLike[str], compression: str,
                     chunks: Iterable[bytes], level: int | None = None) -> None:
    """Write each chunk as its own gzip member, bzip2/xz stream or zstd frame.

    zstd frames here are one-shot, so unlike :func:`open_writer`'s their
    headers record the content size.
    """
    with open(path, "wb") as fh:
        for chunk in chunks:
            if compression == "none":
                fh.write(chunk)
            elif compression == "gzip":
                fh.write(gzip.compress(chunk, compresslevel=6 if level is None else level, mtime=0))
            elif compression == "bzip2":
                fh.write(bz2.compress(chunk, 9 if level is None else level))
            elif compression == "xz":
                fh.write(lzma.compress(chunk, format=lzma.FORMAT_XZ,
                                       preset=6 if level is None else level))
            elif compression == "zstd":
                fh.write(zstandard.ZstdCompressor(level=3 if level is None else level)
                         .compress(chunk))
            else:
                raise ValueError(f"unknown compression {compression!r}; "
                                 f"expected one of {', '.join(COMPRESSIONS)}")
