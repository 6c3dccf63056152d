"""Run fingerprints: equal across export eras, different for any real change."""

from __future__ import annotations

import copy
import math

import pytest
from bson import ObjectId

from warehouse.demo import generate
from warehouse.demo.dialects import ERAS, dumps
from warehouse.formats.mongoexport import parse_document
from warehouse.profiles.ctmixtures.fingerprint import fingerprint

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
