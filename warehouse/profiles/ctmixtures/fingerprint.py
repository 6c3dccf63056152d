"""A content fingerprint of a document, the same whichever tool exported it.

Two copies of one run must compare equal even when one came through a 2.4
mongoexport (doubles printed with 16 digits, whole doubles as ints) and the
other through mongodump BSON. So: keys sorted, ``_id`` left out (it is per
node), integers exact (64-bit seeds must not collapse), floats rounded to 12
significant digits (far beyond any simulation's meaning, far below what
exporters lose), whole floats written as integers, and NaN, infinities and
null kept apart.

The canonical text is compact JSON with sorted keys. A field whose values are
all integers and strings (the bulk of a run: labeled configuration counts) is
written by orjson at C speed; the rest is walked here, producing the very same
text wherever no float is involved.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import orjson

_SPECIAL = {math.inf: b"Infinity", -math.inf: b"-Infinity"}
_FLOAT_MARKS = (b".", b"e", b"E", b"null")  # null: orjson writes NaN and infinities so


def _float(value: float) -> bytes:
    if value != value:
        return b"NaN"
    special = _SPECIAL.get(value)
    if special is not None:
        return special
    if value.is_integer() and abs(value) < 2**53:
        return b"%d" % int(value)
    return b"%.12g" % value


def _number(value: Any) -> bytes:
    kind = type(value)
    if kind is float:
        return _float(value)
    if kind is int:
        return b"%d" % value
    raise TypeError("not a number")


def _walk(value: Any, out: list[bytes]) -> None:
    kind = type(value)
    if kind is dict:
        out.append(b"{")
        for index, key in enumerate(sorted(value)):
            if index:
                out.append(b",")
            out.append(orjson.dumps(key) + b":")
            _walk(value[key], out)
        out.append(b"}")
    elif kind is list or kind is tuple:
        try:  # most lists hold numbers only: one join
            out.append(b"[" + b",".join(map(_number, value)) + b"]")
        except TypeError:
            out.append(b"[")
            for index, item in enumerate(value):
                if index:
                    out.append(b",")
                _walk(item, out)
            out.append(b"]")
    elif kind is float:
        out.append(_float(value))
    elif kind is str or value is None or kind is bool:
        out.append(orjson.dumps(value))
    elif isinstance(value, int):
        out.append(b"%d" % int(value))
    else:  # ObjectId, dates, Decimal128, Binary: their own exact text
        out.append(orjson.dumps(f"{type(value).__name__}({value!s})"))


def _canonical(value: Any) -> bytes:
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # bson types, integers beyond 64 bits
        text = b""
    else:
        if not any(mark in text for mark in _FLOAT_MARKS):
            return text  # integers and plain strings only: already canonical
    out: list[bytes] = []
    _walk(value, out)
    return b"".join(out)


def fingerprint(document: dict[str, Any]) -> str:
    """sha256 (hex) of the document's content, as defined above."""
    digest = hashlib.sha256()
    for key in sorted(document):
        if key != "_id":
            digest.update(orjson.dumps(key) + b":" + _canonical(document[key]) + b",")
    return digest.hexdigest()
