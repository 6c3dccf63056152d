"""Values of a run document as SQLite must hold them: exact integers, NaN as text."""

from __future__ import annotations

from functools import partial
from operator import is_not
from typing import Any, Iterable

import orjson

NAN_TEXT = "NaN"  # SQLite stores a REAL NaN as NULL; missing and NaN must differ


def as_int(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        value = int(value)  # 2.4-era exports may print an int as 100.0
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, found {value!r}")
    if not -(1 << 63) <= value < (1 << 63):
        return str(value)  # beyond SQLite's INTEGER: keep every digit as text
    return int(value)


def as_float(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, found {value!r}")
    value = float(value)  # whole doubles arrive as ints from tools 3.x
    return NAN_TEXT if value != value else value


def as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, found {value!r}")
    return value


def as_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def real(value: Any) -> Any:
    return NAN_TEXT if value != value else value


def reals(values: Iterable[Any]) -> tuple:
    """``values`` with every NaN as the text 'NaN'."""
    values = tuple(values)
    try:  # no NaN among numbers and None: one sum at C speed tells
        total = sum(filter(_present, values))
        if total == total:
            return values
    except (TypeError, OverflowError):  # text, other things, ints beyond floats: one by one
        pass
    return tuple(NAN_TEXT if v != v else v for v in values)


_present = partial(is_not, None)


def reals_fast(values: list) -> list:
    """``values`` itself when it holds no NaN (checked at C speed by one sum)."""
    total = sum(values)
    return values if total == total else list(reals(values))
