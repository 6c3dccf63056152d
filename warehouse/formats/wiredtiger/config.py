"""WiredTiger configuration strings, as stored in the turtle file and metadata.

A configuration is ``key=value`` pairs separated by commas; a value is a bare
token, a ``"quoted string"``, a nested configuration in parentheses or a list
in brackets, e.g. ``checkpoint=(WiredTigerCheckpoint.5=(addr="01…",order=5))``.
Only what the reader needs is interpreted: the live checkpoint's address, the
allocation size, the block compressor and the key and value formats.
"""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.errors import WarehouseError

_OPEN = {"(": ")", "[": "]"}
_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def _split_top(text: str) -> list[str]:
    """The comma-separated items of a configuration, nesting and quotes kept."""
    items: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, char in enumerate(text):
        if quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char in _OPEN:
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced {char!r} at character {i}")
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if quoted or depth:
        raise ValueError("unterminated quote or parenthesis")
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


def parse_config(text: str) -> dict[str, str]:
    """The top-level ``key: value`` pairs; values stay raw (parentheses, quotes).

    Raises ``ValueError`` on unbalanced text; callers locate the error.
    """
    result: dict[str, str] = {}
    for item in _split_top(text):
        key, sep, value = item.partition("=")
        result[key.strip().strip('"')] = value.strip() if sep else "true"
    return result


def unwrap(value: str) -> str:
    """A nested value without its parentheses or quotes."""
    if len(value) >= 2 and value[0] in '("' and value[-1] in ')"':
        return value[1:-1]
    return value


def parse_size(value: str) -> int:
    """``4KB`` → 4096; a bare number is bytes."""
    text = value.strip().upper()
    digits = text.rstrip("KMGB")
    unit = text[len(digits):]
    if not digits.isdigit() or unit not in _UNITS:
        raise ValueError(f"not a size: {value!r}")
    return int(digits) * _UNITS[unit]


@dataclass(frozen=True)
class FileConfig:
    """What the reader needs from a ``file:`` entry of the metadata."""

    checkpoint: bytes | None  # the live checkpoint's cookie; None: never checkpointed
    allocation_size: int
    compressor: str  # "" or "none" for none
    key_format: str
    value_format: str
    encryption: str  # "" unless the table is encrypted


def _live_checkpoint(value: str) -> bytes | None:
    """The ``addr`` of the newest ``WiredTigerCheckpoint.N`` (highest order)."""
    best: tuple[int, str] | None = None
    for name, body in parse_config(unwrap(value)).items():
        if not name.startswith("WiredTigerCheckpoint"):
            continue  # a named checkpoint, not the live tree
        fields = parse_config(unwrap(body))
        order = int(fields.get("order", "0"))
        if best is None or order > best[0]:
            best = (order, unwrap(fields.get("addr", '""')))
    if best is None or not best[1]:
        return None
    return bytes.fromhex(best[1])


def file_config(text: str, path: str) -> FileConfig:
    """Interpret a ``file:`` metadata entry; ``path`` names it in errors."""
    try:
        fields = parse_config(text)
        encryption = parse_config(unwrap(fields.get("encryption", "()"))).get("name", "")
        return FileConfig(
            checkpoint=_live_checkpoint(fields.get("checkpoint", "")),
            allocation_size=parse_size(fields.get("allocation_size", "4KB")),
            compressor=unwrap(fields.get("block_compressor", "")),
            key_format=unwrap(fields.get("key_format", "u")),
            value_format=unwrap(fields.get("value_format", "u")),
            encryption=unwrap(encryption),
        )
    except ValueError as exc:
        raise WarehouseError(f"unreadable WiredTiger metadata: {exc}", path=path) from exc


def checkpoint_lsn(text: str) -> tuple[int, int] | None:
    """``checkpoint_lsn=(file,offset)`` of a metadata entry, if any."""
    try:
        value = unwrap(parse_config(text).get("checkpoint_lsn", ""))
        file_number, offset = (int(part) for part in value.split(","))
    except ValueError:
        return None
    return file_number, offset
