"""Run fingerprints: equal across export eras, different for any real change."""

from __future__ import annotations

import copy
import math

import pytest
from bson import ObjectId
from hypothesis import given, strategies as st

from warehouse.demo import generate
from warehouse.demo.dialects import ERAS, dumps
from warehouse.formats.mongoexport import parse_document
from warehouse.profiles.ctmixtures.fingerprint import _canonical, _float, fingerprint

(RECORD,) = generate(1, seed=8)


@pytest.mark.parametrize("era", ERAS)
def test_every_era_gives_the_fingerprint_of_the_original(era: str) -> None:
    assert fingerprint(parse_document(dumps(RECORD, era))) == fingerprint(RECORD)


def test_id_is_ignored_and_key_order_does_not_matter() -> None:
    other = dict(reversed(list(RECORD.items())))
    other["_id"] = ObjectId()
    assert fingerprint(other) == fingerprint(RECORD)


@pytest.mark.parametrize("change", [
    lambda d: d.__setitem__("random_seed", d["random_seed"] + 1),  # above 2**53: a float would hide it
    lambda d: d["slatkin_exact"].__setitem__(0, d["slatkin_exact"][0] + 1e-9),
    lambda d: d["slatkin_exact"].__setitem__(0, math.nan),
    lambda d: d["slatkin_exact"].__setitem__(0, None),
    lambda d: d["slatkin_exact"].__setitem__(0, math.inf),
    lambda d: d.__setitem__("model_class_label", "mixconfdom"),
    lambda d: d.pop("kandler_interval"),
])
def test_a_real_change_changes_the_fingerprint(change) -> None:
    changed = copy.deepcopy(RECORD)
    change(changed)
    assert fingerprint(changed) != fingerprint(RECORD)


def test_digits_beyond_twelve_and_whole_doubles_do_not_count() -> None:
    assert fingerprint({"a": 0.30000000000000004, "b": 0.0}) == fingerprint({"a": 0.3, "b": 0})
    assert fingerprint({"a": math.nan}) != fingerprint({"a": None})


def canonical_float(value: float) -> bytes:
    """The canonical text of a float, as the fingerprint defines it (written plainly)."""
    if value != value:
        return b"NaN"
    if value in (math.inf, -math.inf):
        return b"Infinity" if value > 0 else b"-Infinity"
    if value.is_integer() and abs(value) < 2**53:
        return b"%d" % int(value)
    return b"%.12g" % value


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_float_is_written_as_the_definition_says(value: float) -> None:
    assert _float(value) == canonical_float(value)


def test_floats_near_the_edges_of_the_fast_path() -> None:
    written = {0.0: b"0", -0.0: b"0", 3.0: b"3", -5.0: b"-5", 0.1: b"0.1",
               0.30000000000000004: b"0.3", 1 / 3: b"0.333333333333",
               123456789012.0: b"123456789012", 1234567890123.0: b"1234567890123",
               999999999999.9: b"1e+12", 2.0**53: b"9.00719925474e+15", 1.5e-07: b"1.5e-07",
               math.nan: b"NaN", math.inf: b"Infinity", -math.inf: b"-Infinity"}
    for value, text in written.items():
        assert _float(value) == text, value
    assert _canonical({"b": {"10": 0.5, "2": -0.0}, "a": [1.0, 2]}) == \
        b'{"a":[1,2],"b":{"10":0.5,"2":0}}'
