"""Any bytes given to the JSON readers parse or raise WarehouseError with a location."""

from __future__ import annotations

import io

from hypothesis import given, settings, strategies as st

from warehouse.errors import WarehouseError
from warehouse.formats.mongoexport import read_json_array, read_json_lines

FRAGMENTS = [b'{"$numberLong":"x"}', b'{"$oid":1}', b"{", b"}", b"[", b"]", b'"', b"\\", b",", b":", b"\n", b"NaN", b"+Infinity",
             b'{"$numberLong":"', b'{"$date":', b'{"$oid":"', b"1e999", b"-", b"0", b"\xff", b'"a"']

json_ish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=8)), max_size=40).map(b"".join)


def _drain(reader) -> None:
    try:
        for record in reader:
            assert isinstance(record.document, dict)
    except WarehouseError as error:
        assert error.path == "f.json"
        assert error.line is not None or error.offset is not None
        assert str(error).startswith("f.json")


@settings(max_examples=300, deadline=None)
@given(json_ish)
def test_json_lines_reader_never_raises_anything_else(data: bytes) -> None:
    _drain(read_json_lines(io.BytesIO(data), "f.json"))


@settings(max_examples=300, deadline=None)
@given(json_ish)
def test_json_array_reader_never_raises_anything_else(data: bytes) -> None:
    _drain(read_json_array(io.BufferedReader(io.BytesIO(b"[" + data)), "f.json"))


BAD_WRAPPERS = [b'{"$numberLong":"abc"}', b'{"$oid":"zz"}', b'{"$date":"notadate"}', b'{"$date":{}}',
                b'{"$binary":5}', b'{"$numberDecimal":"x"}', b'{"$numberDouble":"one"}',
                b'{"$timestamp":{"t":"x"}}', b"[" * 5000 + b"]" * 5000]


def test_bad_extended_json_values_are_located_errors() -> None:
    for index, value in enumerate(BAD_WRAPPERS):
        data = b'{"ok":1}\n' + b'{"a":' + value + b'}\n'
        reader = read_json_lines(io.BytesIO(data), "f.json")
        assert next(reader).document == {"ok": 1}
        try:
            next(reader)
        except WarehouseError as error:
            assert str(error).startswith("f.json:2: "), (index, str(error))
        else:
            raise AssertionError(f"no error for {value[:40]!r}")
