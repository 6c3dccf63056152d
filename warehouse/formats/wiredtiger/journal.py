"""Whether a copy of a data directory was taken after a clean shutdown.

The reader loads what the checkpoints hold. A copy taken from a running or
crashed ``mongod`` may also hold writes made after the last checkpoint, which
only the journal (WiredTiger's log) has; ``mongod`` would replay them at
start-up, this reader does not. Two signs are reported, one warning line each:

- a non-empty ``mongod.lock`` (``mongod`` empties it when it shuts down);
- commit records in the log (``journal/WiredTigerLog.*``, or beside the data
  files) at or after the checkpoint's log position (``checkpoint_lsn`` of
  ``file:WiredTiger.wt`` in the turtle file).

Log layout (``src/log/log.h`` of wiredtiger/wiredtiger): records at multiples
of 128 bytes, the first at 128 after the file header; each starts with ``len``
(u32, a multiple of 128), ``checksum`` (CRC32C of the record with this field
zeroed), ``flags`` (u16; 0x01: compressed after the 16-byte header), two unused
bytes and ``mem_len`` (u32), then the record type as a packed integer (1:
commit). A zero length, or a checksum that fails (a torn write), ends the log.
Checking never raises: a log that cannot be read gets a warning of its own.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from fastcrc import crc32

from .config import checkpoint_lsn
from .pages import DECOMPRESSORS, Truncated, unpack_uint

LOG_NAME = re.compile(r"WiredTigerLog\.(\d{10})")
RECORD = struct.Struct("<IIHxxI")
ALIGN = 128
HEADER = 16
LOG_MAGIC = 0x101064
COMPRESSED = 0x01
COMMIT = 1
MAX_RECORD = 1 << 30

AS_OF_CHECKPOINT = ("the data read is as of the last checkpoint; writes after it are not "
                    "included (mongod would replay them from the journal)")


class _Unreadable(Exception):
    """A log record that cannot be interpreted."""


def unclean_warnings(directory: Path, turtle: dict[str, str]) -> list[str]:
    """One line per sign that the copy is not of a cleanly shut down server."""
    warnings = []
    lock = directory / "mongod.lock"
    try:
        locked = lock.is_file() and lock.stat().st_size > 0
    except OSError:
        locked = False
    if locked:
        warnings.append(f"mongod.lock is not empty: the copy was taken from a running or "
                        f"crashed mongod; {AS_OF_CHECKPOINT}")
    lsn = checkpoint_lsn(turtle.get("file:WiredTiger.wt", "")) or (0, 0)
    warning = _journal_warning(directory, lsn)
    if warning:
        warnings.append(warning)
    return warnings


def _log_files(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for folder in (directory / "journal", directory):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = LOG_NAME.fullmatch(name)
            if match:
                found.append((int(match.group(1)), folder / name))
    return sorted(found)


def _journal_warning(directory: Path, lsn: tuple[int, int]) -> str | None:
    for number, path in _log_files(directory):
        if number < lsn[0]:
            continue
        start = lsn[1] if number == lsn[0] else 0
        shown = path.relative_to(directory)
        try:
            found = _first_commit(path, start)
        except (OSError, _Unreadable) as exc:
            return (f"{shown} could not be checked for writes after the last checkpoint "
                    f"({exc}): if it holds some, {AS_OF_CHECKPOINT}")
        if found is not None:
            return (f"{shown} holds writes committed after the last checkpoint (log "
                    f"record at byte {found}): the copy was not taken after a clean "
                    f"shutdown; {AS_OF_CHECKPOINT}")
    return None


def _first_commit(path: Path, start: int) -> int | None:
    """Offset of the first commit record at or after ``start``; None if none."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(ALIGN)
        if len(head) < HEADER + 4:
            return None  # an empty or preallocated-then-cut file holds nothing
        if int.from_bytes(head[HEADER:HEADER + 4], "little") != LOG_MAGIC:
            raise _Unreadable("not a WiredTiger log file")
        offset = max(ALIGN, start - start % ALIGN)
        while offset + HEADER <= size:
            handle.seek(offset)
            length, checksum, flags, mem_len = RECORD.unpack(handle.read(HEADER))
            if length == 0 or length % ALIGN or length > MAX_RECORD or offset + length > size:
                return None  # the end of the log (zeroed, or a torn write)
            body = handle.read(length - HEADER)
            header = RECORD.pack(length, 0, flags, mem_len)
            if crc32.iscsi(body, crc32.iscsi(header)) != checksum:
                return None  # a torn write: the end of the log
            if _record_type(body, flags, mem_len) == COMMIT:
                return offset
            offset += length
    return None


def _record_type(body: bytes, flags: int, mem_len: int) -> int:
    """The type of a record from its body (what follows the 16-byte header)."""
    data: bytes | bytearray = body
    if flags & COMPRESSED:
        data = _decompress(memoryview(body), mem_len - HEADER)
    try:
        return unpack_uint(data, 0)[0]
    except (ValueError, Truncated) as exc:
        raise _Unreadable(f"bad record type: {exc or 'truncated'}") from exc


def _decompress(body: memoryview, size: int) -> bytes | bytearray:
    """A compressed record's body; the log compressor is not recorded, try each."""
    for decompress in dict.fromkeys(DECOMPRESSORS.values()):  # each function once
        try:
            data = decompress(body, size, b"")
        except Exception:  # each library raises its own types on what is not its format
            continue
        if len(data) == size:
            return data
    raise _Unreadable("compressed log record that no supported compressor expands")
