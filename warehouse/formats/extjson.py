"""MongoDB Extended JSON (legacy 2.4, v1 and v2) to Python and bson values.

mongoexport wraps values it cannot print as plain JSON in one-key objects
(``{"$numberLong": "…"}``, ``{"$oid": "…"}``, ``{"$date": …}``). Decoding turns
them into exact Python values: int64 as ``int`` (never through a float),
doubles as ``float`` (NaN and infinities included), ``bson.ObjectId``,
``bson.datetime_ms.DatetimeMS`` for dates (any range), ``Decimal128`` and
``Binary``. Rare types are handed to pymongo's ``json_util``.

Documents kept whole in the warehouse are written back as relaxed Extended
JSON (:func:`relaxed_json`).
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any, Callable

from bson import ObjectId, json_util
from bson.json_util import RELAXED_JSON_OPTIONS
from bson.binary import Binary
from bson.datetime_ms import DatetimeMS
from bson.decimal128 import Decimal128

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SPECIAL_DOUBLES = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf"),
                    "+Infinity": float("inf")}


def _date(value: Any) -> DatetimeMS:
    if isinstance(value, dict):  # canonical v2: {"$date": {"$numberLong": "…"}}
        return DatetimeMS(int(value["$numberLong"]))
    if isinstance(value, (int, float)):  # 2.4 legacy: milliseconds
        return DatetimeMS(int(value))
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return DatetimeMS((delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000)


def _double(value: Any) -> float:
    if isinstance(value, str):
        special = _SPECIAL_DOUBLES.get(value)
        return special if special is not None else float(value)
    return float(value)


def _binary(wrapper: dict[str, Any]) -> Binary:
    body = wrapper["$binary"]
    if isinstance(body, dict):  # v2
        return Binary(base64.b64decode(body["base64"]), int(body["subType"], 16))
    return Binary(base64.b64decode(body), int(wrapper.get("$type", "00"), 16))


# The wrappers met on the hot path, decoded without json_util's overhead.
_FAST: dict[str, Callable[[Any], Any]] = {
    "$numberInt": int,
    "$numberLong": int,
    "$numberDouble": _double,
    "$oid": ObjectId,
    "$date": _date,
    "$numberDecimal": Decimal128,
}


def unwrap(wrapper: dict[str, Any]) -> Any:
    """Decode one ``{"$…": …}`` object; other dicts are returned decoded."""
    if len(wrapper) == 1:
        key, value = next(iter(wrapper.items()))
        fast = _FAST.get(key)
        if fast is not None:
            return fast(value)
    if "$binary" in wrapper:
        return _binary(wrapper)
    return json_util.object_hook({k: decode(v) for k, v in wrapper.items()})


def is_wrapper(value: dict[str, Any]) -> bool:
    return bool(value) and next(iter(value)).startswith("$")


def decode(value: Any) -> Any:
    """Decode every Extended JSON wrapper inside ``value``."""
    kind = type(value)
    if kind is dict:
        if is_wrapper(value):
            return unwrap(value)
        return {k: decode(v) for k, v in value.items()}
    if kind is list:
        return [decode(v) for v in value]
    return value


def count_markers(value: Any) -> int:
    """How many ``"$`` keys a decoded wrapper had (to skip needless walks)."""
    if type(value) is dict:
        return sum(k.startswith("$") for k in value) + sum(count_markers(v) for v in value.values())
    return 0


def decode_document(doc: dict[str, Any], markers: int) -> dict[str, Any]:
    """Decode a document whose raw text held ``markers`` occurrences of ``"$``.

    Top-level wrappers (``_id``, an int64 seed) are decoded directly; nested
    values are walked only when markers remain unexplained, which keeps the
    common exports (nothing wrapped below the top level) cheap.
    """
    for key, value in doc.items():
        if type(value) is dict and is_wrapper(value):
            markers -= count_markers(value)
            doc[key] = unwrap(value)
    if markers > 0:
        for key, value in doc.items():
            if type(value) in (dict, list):
                doc[key] = decode(value)
    return doc


def relaxed_json(value: Any) -> str:
    """A document (or any value) as relaxed Extended JSON text."""
    return json_util.dumps(value, json_options=RELAXED_JSON_OPTIONS)
