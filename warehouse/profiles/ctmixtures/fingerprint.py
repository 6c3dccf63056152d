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
    text = b"%.12g" % value
    # That is the canonical text, unless it shows a value written otherwise:
    # nan or inf (an n), a whole number of 13 digits or more (an e), -0.
    if _N in text or _E in text or text == b"-0":
        return _rare_float(value, text)
    return text


_N, _E = ord("n"), ord("e")  # a byte of a bytes object: found faster than a bytes in it


def _rare_float(value: float, text: bytes) -> bytes:
    if value != value:
        return b"NaN"
    special = _SPECIAL.get(value)
    if special is not None:
        return special
    if value.is_integer() and abs(value) < 2**53:
        return b"%d" % int(value)
    return text


def _number(value: Any) -> bytes:
    kind = type(value)
    if kind is float:
        return _float(value)
    if kind is int:
        return b"%d" % value
    raise TypeError("not a number")


_KEYS: dict[str, bytes] = {}  # key -> its JSON text and a colon
_KEYS_KEPT = 4096  # the keys that repeat: field names, sample sizes, durations, loci


def _key(key: str) -> bytes:
    text = _KEYS.get(key)
    if text is None:
        text = orjson.dumps(key) + b":"
        if len(_KEYS) < _KEYS_KEPT:
            _KEYS[key] = text
    return text


def _walk(value: Any, out: list[bytes]) -> None:
    kind = type(value)
    if kind is dict:
        out.append(b"{")
        for index, key in enumerate(sorted(value)):
            if index:
                out.append(b",")
            out.append(_key(key))
            item = value[key]
            if type(item) is float:  # most values under keys: spare them a call of _walk
                out.append(_float(item))
            else:
                _walk(item, out)
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
