"""A tar stream read front to back once, member by member (POSIX ustar, pax, GNU).

Written here rather than taken from ``tarfile`` because ``tarfile`` ends an
archive silently at a header whose checksum is wrong or that is cut short:
a damaged tarball would look complete and its remaining members would be
lost without a word. Here every header is checked, and damage raises a
``WarehouseError`` at its byte offset in the (decompressed) tar stream.

Nothing is held in memory but one header: a member's data is read from the
stream by whoever consumes it, and whatever they leave is skipped before the
next header is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import WarehouseError

BLOCK = 512
TAR_MAGICS = (b"ustar\x0000", b"ustar  \x00")  # POSIX (ustar, pax) and GNU
MAX_NAME_BLOCK = 1 << 20  # a GNU long name or a pax header larger than this is damage

# type flag -> kind of member
KINDS = {b"0": "file", b"\x00": "file", b"7": "file", b"5": "directory", b"1": "hard link",
         b"2": "symbolic link", b"3": "character device", b"4": "block device", b"6": "FIFO"}


def is_tar(head: bytes) -> bool:
    """A tar stream, told by the magic of its first header (and its checksum)."""
    return (len(head) >= BLOCK and head[257:265] in TAR_MAGICS
            and _checksum_ok(head[:BLOCK]))


@dataclass
class TarMember:
    """One member, as its headers describe it."""

    name: str
    size: int
    kind: str  # file, directory, symbolic link, hard link, …, or "unsupported (type X)"
    offset: int  # of its (first) header in the tar stream
    data: Any = None  # its bytes (a readable), for a file; read before the next member


def _checksum_ok(header: bytes) -> bool:
    stored = header[148:156].replace(b"\x00", b" ").strip()
    if not stored or any(c not in b"01234567" for c in stored):
        return False
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    signed = sum(b - 256 if b > 127 else b for b in header[:148]) + 8 * 32 + \
        sum(b - 256 if b > 127 else b for b in header[156:])  # some old tars sum signed bytes
    return int(stored, 8) in (unsigned, signed)


def _number(field: bytes) -> int:
    """An octal field, or GNU's base-256 for large values."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    if field[:1] == b"\xff":
        return int.from_bytes(field, "big", signed=True)
    text = field.replace(b"\x00", b" ").strip()
    return int(text, 8) if text else 0


def _text(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("utf-8", errors="surrogateescape")


class _MemberData:
    """The bytes of one member: reads stop at its end; an early end of the stream is damage."""

    def __init__(self, reader: "TarReader", size: int, name: str) -> None:
        self._reader = reader
        self.remaining = size
        self._name = name
        self._size = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if n is None or n < 0 or n > self.remaining:
            n = self.remaining
        data = self._reader.stream.read(n)
        if len(data) < n and not data:
            raise self._reader.error(
                f"tar stream ends inside member {self._name} "
                f"({self._size - self.remaining} of {self._size} bytes)",
                self._reader.position)
        self.remaining -= len(data)
        self._reader.position += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class TarReader:
    """Iterates the members of a decompressed tar stream."""

    def __init__(self, stream: Any, display: str) -> None:
        self.stream = stream
        self.display = display
        self.position = 0  # bytes of the tar stream consumed
        self._current: _MemberData | None = None

    def error(self, message: str, offset: int) -> WarehouseError:
        return WarehouseError(message, self.display, offset=offset, salvageable=False)

    def _read_block(self, what: str) -> bytes | None:
        block = self.stream.read(BLOCK)
        while 0 < len(block) < BLOCK:  # decompressors may return short reads
            more = self.stream.read(BLOCK - len(block))
            if not more:
                break
            block += more
        if not block:
            return None
        if len(block) < BLOCK:
            raise self.error(f"tar stream ends inside {what}", self.position)
        self.position += BLOCK
        return block

    def _size(self, field: bytes, offset: int) -> int:
        try:
            size = _number(field)
        except ValueError:
            size = -1
        if size < 0:  # a negative size would never be read to its end
            raise self.error(f"bad size {field!r} in a tar header: the archive is damaged here",
                             offset)
        return size

    def _pax_size(self, text: str, offset: int) -> int:
        if not (text.isascii() and text.isdigit()):
            raise self.error(f"bad size {text!r} in a pax header: the archive is damaged here",
                             offset)
        return int(text)

    def _skip_rest(self) -> None:
        """Skip what the consumer left of the current member, and its padding."""
        current = self._current
        self._current = None
        if current is not None:
            while current.remaining > 0:
                current.read(min(current.remaining, 1 << 20))
        pad = -self.position % BLOCK
        if pad:
            data = self.stream.read(pad)
            if len(data) < pad:
                raise self.error("tar stream ends inside a member's padding", self.position)
            self.position += pad

    def _read_payload(self, size: int, what: str) -> bytes:
        """The data of a pax or GNU long-name header (small, read whole)."""
        if size > MAX_NAME_BLOCK:
            raise self.error(f"{what} of {size} bytes: damaged tar header?", self.position)
        data = self.stream.read(size)
        if len(data) < size:
            raise self.error(f"tar stream ends inside {what}", self.position)
        self.position += size
        self._skip_rest()
        return data

    def __iter__(self) -> Iterator[TarMember]:
        pax: dict[str, str] = {}
        long_name: str | None = None
        header_offset: int | None = None
        while True:
            self._skip_rest()
            offset = self.position
            block = self._read_block("a tar header")
            if block is None:
                # no end-of-archive blocks: GNU tar accepts this, so do we
                if header_offset is not None:
                    raise self.error("tar stream ends after an extended header", offset)
                return
            if block == b"\x00" * BLOCK:
                return  # end of archive (the second zero block, if any, is not needed)
            if not _checksum_ok(block):
                raise self.error("bad tar header checksum: the archive is damaged here", offset)
            first = offset if header_offset is None else header_offset
            header_offset = first
            flag = block[156:157]
            size = self._size(block[124:136], offset)
            if flag in (b"x", b"g"):
                records = _pax_records(self._read_payload(size, "a pax header"), self, offset)
                if flag == b"x":
                    pax.update(records)
                continue
            if flag in (b"L", b"K"):
                payload = self._read_payload(size, "a GNU long name")
                if flag == b"L":
                    long_name = _text(payload)
                continue
            name = pax.get("path") or long_name or _joined_name(block)
            size = self._pax_size(pax["size"], first) if "size" in pax else size
            kind = KINDS.get(flag, f"unsupported (type {flag.decode('latin-1')!r})")
            member = TarMember(name, size, kind, first)
            pax, long_name, header_offset = {}, None, None
            # links, devices, folders and FIFOs carry no data, whatever their size says
            data = _MemberData(self, 0 if flag in b"123456" else size, name)
            self._current = data
            member.data = data if kind == "file" else None
            yield member


def _joined_name(block: bytes) -> str:
    """ustar's prefix and name fields."""
    name = _text(block[0:100])
    if block[257:263] == b"ustar\x00":
        prefix = _text(block[345:500])
        if prefix:
            return f"{prefix}/{name}"
    return name


def _pax_records(data: bytes, reader: TarReader, offset: int) -> dict[str, str]:
    """``"<length> <key>=<value>\\n"`` records of a pax extended header."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        try:
            length = int(data[position:space])
        except ValueError:
            raise reader.error("damaged pax header", offset) from None
        record = data[space + 1:position + length]
        if length <= 0 or not record.endswith(b"\n") or b"=" not in record:
            raise reader.error("damaged pax header", offset)
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        position += length
    return records
