"""CRC-64/XZ, the checksum mongodump writes into archive EOF headers.

mongo-tools use Go's ``crc64.New(crc64.MakeTable(crc64.ECMA))``, which is the
catalogued CRC-64/XZ: polynomial 0x42F0E1EBA9EA3693 reflected, init and xorout
all ones. The check value of ``b"123456789"`` is 0x995DC9BBDF1939FA.

The archive stores the sum as a signed int64; :func:`to_int64` converts.

The work is done by the ``fastcrc`` package (Rust, SIMD), several GB/s. A
table-driven pure-Python version is kept as the reference the tests compare
against, and as a (very slow) stand-in should ``fastcrc`` be missing.
"""

from __future__ import annotations

INITIAL = 0  # the CRC of no bytes; pass it to the first update()
_MASK = 0xFFFF_FFFF_FFFF_FFFF
_POLY_REFLECTED = 0xC96C5795D7870F42  # 0x42F0E1EBA9EA3693 bit-reversed


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def update_python(crc: int, data: bytes) -> int:
    """Reference implementation: extend ``crc`` (a finished CRC) by ``data``."""
    crc ^= _MASK
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _MASK


try:
    from fastcrc import crc64 as _fastcrc64
except ImportError:  # pragma: no cover - fastcrc is a declared dependency
    BACKEND = "python"
    update = update_python
else:
    BACKEND = "fastcrc"

    def update(crc: int, data: bytes) -> int:
        """Extend ``crc`` (a finished CRC, ``INITIAL`` at first) by ``data``."""
        return _fastcrc64.xz(data, initial=crc)


def crc64(data: bytes) -> int:
    """CRC-64/XZ of ``data`` as an unsigned 64-bit integer."""
    return update(INITIAL, data)


def to_int64(crc: int) -> int:
    """The unsigned CRC as the signed int64 the archive stores."""
    return crc - (1 << 64) if crc >= 1 << 63 else crc


def from_int64(value: int) -> int:
    """The archive's signed int64 back to the unsigned CRC."""
    return value & _MASK
