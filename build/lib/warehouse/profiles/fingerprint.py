"""A content fingerprint of a document, the same whichever tool exported it.

Two copies of one run must compare equal even when one came through a 2.4
mongoexport (doubles printed with 16 digits, whole doubles as ints) and the
other through mongodump BSON. So: keys sorted, ``_id`` left out (it is per
node), integers exact (64-bit seeds must not collapse), floats rounded to 12
significant digits (far beyond any simulation's meaning, far below what
exporters lose), whole floats written as integers, and NaN, infinities and
null kept apart.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

_SPECIAL = {math.inf: "Infinity", -math.inf: "-Infinity"}


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    special = _SPECIAL.get(value)
    if special is not None:
        return special
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return format(value, ".12g")


def _canonical(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is dict:
        out.append("{")
        for key in sorted(value):
            if key != "_id":
                out.append(repr(key))
                _canonical(value[key], out)
        out.append("}")
    elif kind is list or kind is tuple:
        out.append("[")
        for item in value:
            _canonical(item, out)
        out.append("]")
    elif kind is float:
        out.append(_float(value))
    elif kind is str:
        out.append(repr(value))
    elif value is None or kind is bool:
        out.append(str(value))
    elif isinstance(value, int):
        out.append(str(int(value)))
    else:  # ObjectId, dates, Decimal128, Binary: their own exact text
        out.append(f"{type(value).__name__}({value!s})")
    out.append(",")


def fingerprint(document: dict[str, Any]) -> str:
    """sha256 (hex) of the document's content, as defined above."""
    out: list[str] = []
    _canonical(document, out)
    return hashlib.sha256("".join(out).encode()).hexdigest()
