"""Values as SQLite returned them (int, float, str, bytes, None) to Arrow arrays of a kind.

Every value is checked against its column's kind before conversion:
pyarrow alone would turn a float 3.0 into the integer 3 or a blob into a
string without a word. A value that does not fit raises :class:`Unfit`, and
the writer scans the relation to find the kind its values need.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import pyarrow as pa

from .columns import BINARY, FLOAT64, INT64, MIXED, NAN_TEXT, STRING

# The four storage classes of SQLite, one field set per row of a mixed column.
MIXED_TYPE = pa.struct([("integer", pa.int64()), ("real", pa.float64()),
                        ("text", pa.string()), ("blob", pa.binary())])
ARROW_TYPES = {INT64: pa.int64(), FLOAT64: pa.float64(), STRING: pa.string(),
               BINARY: pa.binary(), MIXED: MIXED_TYPE}
_NONE = type(None)
_FITS: dict[str, set[type]] = {INT64: {int, _NONE}, FLOAT64: {float, int, _NONE},
                               STRING: {str, _NONE}, BINARY: {bytes, _NONE}}


class Unfit(Exception):
    """A value of a column does not fit the column's kind."""

    def __init__(self, column: str, value: Any) -> None:
        super().__init__(f"column {column}: {value!r} does not fit")
        self.column = column


def to_array(name: str, kind: str, values: Sequence[Any]) -> pa.Array:
    """One column of a chunk as an Arrow array of ``kind``."""
    if kind == MIXED:
        return _mixed(values)
    classes = set(map(type, values))
    if not classes <= _FITS[kind]:
        if kind == FLOAT64 and classes - _FITS[FLOAT64] == {str}:
            values = _nan_texts(name, values)
        else:
            found = next(v for v in values if type(v) not in _FITS[kind])
            raise Unfit(name, found)
    try:  # an integer beyond 2**53 in a float column: pyarrow refuses it
        return pa.array(values, type=ARROW_TYPES[kind])
    except (pa.ArrowInvalid, OverflowError) as error:
        raise Unfit(name, str(error)) from None


def _nan_texts(name: str, values: Sequence[Any]) -> list[Any]:
    """A float column's stored 'NaN' texts as NaN; any other text does not fit."""
    converted = []
    for value in values:
        if type(value) is str:
            if value != NAN_TEXT:
                raise Unfit(name, value)
            value = math.nan
        converted.append(value)
    return converted


def _mixed(values: Sequence[Any]) -> pa.Array:
    """A struct array holding each value in the field of its storage class ('NaN' text: a real NaN)."""
    fields: dict[type, list[Any]] = {int: [], float: [], str: [], bytes: []}
    for value in values:
        if type(value) is str and value == NAN_TEXT:
            value = math.nan
        for cls, field in fields.items():
            field.append(value if type(value) is cls else None)
    arrays = [pa.array(fields[cls], type=MIXED_TYPE.field(i).type)
              for i, cls in enumerate((int, float, str, bytes))]
    missing = pa.array([value is None for value in values], type=pa.bool_())
    return pa.StructArray.from_arrays(arrays, fields=list(MIXED_TYPE), mask=missing)
