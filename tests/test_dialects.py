"""The mongoexport writers of each era, checked against hand-written output."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import math
import zlib

import pytest
import zstandard
from bson import ObjectId, json_util
from bson.datetime_ms import DatetimeMS
from bson.int64 import Int64
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.demo import compressed, dialect_scalars, dialects

NAN, INF = float("nan"), float("inf")

DOC = {
    "_id": ObjectId("54179b53eb0a190a9f6fd757"),
    "random_seed": 2**53 + 1,
    "n": 12,
    "big": 2**31,
    "neg": -(2**31),
    "f": [0.1, 0.8400000000000001, 0.30000000000000004, 1.0, 0.0, 2.5e-05, 1234567.0],
    "special": [NAN, INF, -INF],
    "nested": {"10": {"0": [1, 2], "1": []}, "e": {}},
    "ok": True,
    "no": None,
    "s": 'a"b',
}

EXPECTED = {
    "2.4": (
        '{ "_id" : { "$oid" : "54179b53eb0a190a9f6fd757" }, "random_seed" : 9007199254740993, '
        '"n" : 12, "big" : 2147483648, "neg" : -2147483648, '
        '"f" : [ 0.1, 0.8400000000000001, 0.3, 1, 0, 2.5e-05, 1234567 ], '
        '"special" : [ NaN, Infinity, -Infinity ], '
        '"nested" : { "10" : { "0" : [ 1, 2 ], "1" : [] }, "e" : {} }, '
        '"ok" : true, "no" : null, "s" : "a\\"b" }'
    ),
    "3.x": (
        '{"_id":{"$oid":"54179b53eb0a190a9f6fd757"},'
        '"random_seed":{"$numberLong":"9007199254740993"},'
        '"n":12,"big":{"$numberLong":"2147483648"},"neg":-2147483648,'
        '"f":[0.1,0.8400000000000001,0.30000000000000004,1,0,2.5e-05,1.234567e+06],'
        '"special":[NaN,+Infinity,-Infinity],'
        '"nested":{"10":{"0":[1,2],"1":[]},"e":{}},"ok":true,"no":null,"s":"a\\"b"}'
    ),
    "4.2-relaxed": (
        '{"_id":{"$oid":"54179b53eb0a190a9f6fd757"},"random_seed":9007199254740993,'
        '"n":12,"big":2147483648,"neg":-2147483648,'
        '"f":[0.1,0.8400000000000001,0.30000000000000004,1.0,0.0,2.5E-05,1.234567E+06],'
        '"special":[{"$numberDouble":"NaN"},{"$numberDouble":"Infinity"},'
        '{"$numberDouble":"-Infinity"}],'
        '"nested":{"10":{"0":[1,2],"1":[]},"e":{}},"ok":true,"no":null,"s":"a\\"b"}'
    ),
    "4.2-canonical": (
        '{"_id":{"$oid":"54179b53eb0a190a9f6fd757"},'
        '"random_seed":{"$numberLong":"9007199254740993"},'
        '"n":{"$numberInt":"12"},"big":{"$numberLong":"2147483648"},'
        '"neg":{"$numberInt":"-2147483648"},'
        '"f":[{"$numberDouble":"0.1"},{"$numberDouble":"0.8400000000000001"},'
        '{"$numberDouble":"0.30000000000000004"},{"$numberDouble":"1.0"},'
        '{"$numberDouble":"0.0"},{"$numberDouble":"2.5E-05"},{"$numberDouble":"1.234567E+06"}],'
        '"special":[{"$numberDouble":"NaN"},{"$numberDouble":"Infinity"},'
        '{"$numberDouble":"-Infinity"}],'
        '"nested":{"10":{"0":[{"$numberInt":"1"},{"$numberInt":"2"}],"1":[]},"e":{}},'
        '"ok":true,"no":null,"s":"a\\"b"}'
    ),
}


@pytest.mark.parametrize("era", dialects.ERAS)
def test_dumps_exact(era):
    out = dialects.dumps(DOC, era)
    assert isinstance(out, bytes)
    assert out.decode() == EXPECTED[era]
    assert b"\n" not in out


def test_eras_listed():
    assert dialects.ERAS == ("2.4", "3.x", "4.2-relaxed", "4.2-canonical")
    with pytest.raises(ValueError):
        dialects.dumps({}, "2.6")


@pytest.mark.parametrize("era", dialects.ERAS)
def test_int64_exact_at_the_edges(era):
    for value in (2**53 + 1, 2**63 - 1, -(2**63), 1546073438570954207, 2**31 - 1, -(2**31)):
        parsed = json.loads(dialects.dumps({"v": value}, era))["v"]
        if isinstance(parsed, dict):  # {"$numberLong": "…"} / {"$numberInt": "…"}
            (wrapper, text), = parsed.items()
            assert wrapper == ("$numberInt" if -(2**31) <= value < 2**31 else "$numberLong")
            parsed = int(text)
        assert type(parsed) is int and parsed == value
    with pytest.raises(ValueError):
        dialects.dumps({"v": 2**63}, era)


def test_bson_int64_always_wrapped_where_the_era_wraps_int64():
    doc = {"v": Int64(5)}
    assert dialects.dumps(doc, "2.4") == b'{ "v" : 5 }'
    assert dialects.dumps(doc, "3.x") == b'{"v":{"$numberLong":"5"}}'
    assert dialects.dumps(doc, "4.2-relaxed") == b'{"v":5}'
    assert dialects.dumps(doc, "4.2-canonical") == b'{"v":{"$numberLong":"5"}}'


def test_doubles_per_era():
    cases = {  # value: (2.4, 3.x, 4.2 relaxed / canonical string)
        0.9599999999999999: ("0.9599999999999999", "0.9599999999999999", "0.9599999999999999"),
        100.00000000000001: ("100", "100.00000000000001", "100.00000000000001"),
        1e-4: ("0.0001", "0.0001", "0.0001"),
        1e-5: ("1e-05", "1e-05", "1E-05"),
        123456.0: ("123456", "123456", "123456.0"),
        1e6: ("1000000", "1e+06", "1E+06"),
        1e16: ("1e+16", "1e+16", "1E+16"),
        -0.0: ("-0", "-0", "-0.0"),
        -2.5: ("-2.5", "-2.5", "-2.5"),
    }
    for value, (v24, v3, v42) in cases.items():
        assert dialects.dumps([value], "2.4") == f"[ {v24} ]".encode()
        assert dialects.dumps([value], "3.x") == f"[{v3}]".encode()
        assert dialects.dumps([value], "4.2-relaxed") == f"[{v42}]".encode()
        assert dialects.dumps([value], "4.2-canonical") == ('[{"$numberDouble":"%s"}]' % v42).encode()


def test_go_format_g_matches_strconv():
    # values checked against Go's strconv.FormatFloat(f, 'g', -1, 64)
    assert dialect_scalars.go_format_g(123456789.0) == "1.23456789e+08"
    assert dialect_scalars.go_format_g(1.5e-7) == "1.5e-07"
    assert dialect_scalars.go_format_g(999999.0) == "999999"
    assert dialect_scalars.go_format_g(1e21) == "1e+21"
    assert dialect_scalars.go_format_g(5e-324) == "5e-324"
    assert dialect_scalars.go_format_g(0.000123) == "0.000123"
    assert dialect_scalars.go_format_g(1e100, upper=True) == "1E+100"


def test_strings_escaped_per_era():
    doc = {'k"\n': 'q"\\/\n\r\t\b\f\x01\x7f<&>é\u2028'}
    assert dialects.dumps(doc, "2.4").decode() == (
        '{ "k\\"\\n" : "q\\"\\\\/\\n\\r\\t\\b\\f\\u0001\x7f<&>é\u2028" }')
    assert dialects.dumps(doc, "3.x").decode() == (
        '{"k\\"\\n":"q\\"\\\\/\\n\\r\\u0009\\u0008\\u000c\\u0001\x7f\\u003c\\u0026\\u003eé\\u2028"}')
    v2 = '{"k\\"\\n":"q\\"\\\\/\\n\\r\\t\\u0008\\u000c\\u0001\x7f<&>é\\u2028"}'
    assert dialects.dumps(doc, "4.2-relaxed").decode() == v2
    assert dialects.dumps(doc, "4.2-canonical").decode() == v2
    for era in dialects.ERAS:  # non-ASCII stays UTF-8, and decodes back as written
        out = dialects.dumps(doc, era)
        assert "é".encode() in out
        assert json.loads(out) == doc


def test_key_order_kept_and_nested_structures():
    doc = {"z": 1, "a": {"y": [1, [2, {"q": None}]], "b": []}, "m": 0.5}
    assert dialects.dumps(doc, "3.x") == b'{"z":1,"a":{"y":[1,[2,{"q":null}]],"b":[]},"m":0.5}'
    assert list(json.loads(dialects.dumps(doc, "4.2-relaxed"))) == ["z", "a", "m"]


def test_dates_per_era():
    doc = {"when": DatetimeMS(1410833651120)}
    assert dialects.dumps(doc, "2.4") == b'{ "when" : { "$date" : 1410833651120 } }'
    assert dialects.dumps(doc, "3.x") == b'{"when":{"$date":"2014-09-16T02:14:11.120Z"}}'
    assert dialects.dumps(doc, "4.2-relaxed") == b'{"when":{"$date":"2014-09-16T02:14:11.12Z"}}'
    assert dialects.dumps(doc, "4.2-canonical") == (
        b'{"when":{"$date":{"$numberLong":"1410833651120"}}}')
    early = {"when": DatetimeMS(-1000)}
    assert dialects.dumps(early, "3.x") == b'{"when":{"$date":{"$numberLong":"-1000"}}}'
    assert dialects.dumps(early, "4.2-relaxed") == b'{"when":{"$date":{"$numberLong":"-1000"}}}'


def test_unsupported_values_rejected():
    with pytest.raises(TypeError):
        dialects.dumps({"x": object()}, "3.x")
    with pytest.raises(TypeError):
        dialects.dumps({1: 2}, "3.x")


# -- independent reference: pymongo's json_util reads v2 output back exactly

_leaf = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
)
_value = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=5).filter(lambda k: not k.startswith("$")), inner, max_size=4),
    max_leaves=12,
)


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int):  # json_util gives Int64 for $numberLong
        return isinstance(b, int) and a == b
    return type(a) is type(b) and a == b


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=5).filter(lambda k: not k.startswith("$")), _value,
                       max_size=6))
def test_v2_round_trips_through_json_util(doc):
    for era in ("4.2-relaxed", "4.2-canonical"):
        out = dialects.dumps(doc, era)
        json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in {era}"))  # strict JSON
        back = json_util.loads(out)
        assert _same(doc, back), (era, out)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=5))
def test_doubles_read_back(values):
    for era in ("3.x", "4.2-relaxed"):  # shortest round trip: exact
        assert json.loads(dialects.dumps(values, era)) == values
    # 2.4 keeps 16 significant digits
    back = json.loads(dialects.dumps(values, "2.4"))
    assert back == [float("%.16g" % v) for v in values]


# -- whole exports

DOCS = [{"_id": ObjectId("54179b53eb0a190a9f6fd75%d" % i), "i": i, "x": i / 4} for i in range(3)]


@pytest.mark.parametrize("era", dialects.ERAS)
def test_json_lines(era):
    buf = io.BytesIO()
    assert dialects.write_json_lines(buf, iter(DOCS), era) == 3
    assert buf.getvalue() == b"".join(dialects.dumps(d, era) + b"\n" for d in DOCS)


@pytest.mark.parametrize("era", dialects.ERAS)
def test_json_array_is_one_line(era):
    buf = io.BytesIO()
    assert dialects.write_json_array(buf, iter(DOCS), era) == 3
    out = buf.getvalue()
    assert out == b"[" + b",".join(dialects.dumps(d, era) for d in DOCS) + b"]\n"
    assert out.count(b"\n") == 1


def test_json_array_empty_and_pretty():
    buf = io.BytesIO()
    dialects.write_json_array(buf, [], "3.x")
    assert buf.getvalue() == b"[]\n"
    buf = io.BytesIO()
    dialects.write_json_array(buf, DOCS[:2], "4.2-relaxed", pretty=True)
    text = buf.getvalue().decode()
    assert text.startswith('[{\n\t"_id": {\n\t\t"$oid": "54179b53eb0a190a9f6fd750"\n\t},\n\t"i": 0,')
    assert "\n},\n{\n" in text and text.endswith("\n}]\n\n")
    assert json.loads(text) == json.loads(b"[" + b",".join(
        dialects.dumps(d, "4.2-relaxed") for d in DOCS[:2]) + b"]")
    # 2.4 spacing is dropped like Go's json.Indent drops whitespace
    assert dialects.indent(dialects.dumps_str({"a": [1, {}], "b": "x : y"}, "2.4")) == (
        '{\n\t"a": [\n\t\t1,\n\t\t{}\n\t],\n\t"b": "x : y"\n}')


def test_json_array_streams():
    events = []

    class Recorder(io.BytesIO):
        def write(self, b):
            events.append(("write", bytes(b)))
            return super().write(b)

    def docs():
        for d in DOCS:
            events.append(("yield", d["i"]))
            yield d

    dialects.write_json_array(Recorder(), docs(), "3.x")
    # the first document is written before the second one is even produced
    first_doc_write = next(i for i, e in enumerate(events) if e[0] == "write" and b'"i":0' in e[1])
    assert first_doc_write < events.index(("yield", 1))


# -- compression

PAYLOAD = b"".join(dialects.dumps(d, "3.x") + b"\n" for d in DOCS) * 50

READERS = {
    "none": lambda b: b,
    "gzip": gzip.decompress,
    "bzip2": bz2.decompress,
    "xz": lzma.decompress,
    "zstd": lambda b: zstandard.ZstdDecompressor().stream_reader(
        io.BytesIO(b), read_across_frames=True).read(),
}
MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00", "zstd": b"\x28\xb5\x2f\xfd"}


@pytest.mark.parametrize("compression", compressed.COMPRESSIONS)
def test_open_writer_round_trip(tmp_path, compression):
    path = tmp_path / ("out" + compressed.SUFFIXES[compression])
    with compressed.open_writer(path, compression) as fh:
        for i in range(0, len(PAYLOAD), 1000):
            fh.write(PAYLOAD[i:i + 1000])
    raw = path.read_bytes()
    assert raw.startswith(MAGIC.get(compression, b"{"))
    assert READERS[compression](raw) == PAYLOAD


@pytest.mark.parametrize("compression", compressed.COMPRESSIONS)
def test_new_member_starts_a_member(tmp_path, compression):
    path = tmp_path / "out"
    with compressed.open_writer(path, compression) as fh:
        fh.write(b"first\n")
        fh.new_member()
        fh.write(b"second\n")
    raw = path.read_bytes()
    assert READERS[compression](raw) == b"first\nsecond\n"
    if compression != "none":
        assert raw.count(MAGIC[compression]) == 2


def test_write_compressed_multi_member_gzip(tmp_path):
    path = tmp_path / "m.gz"
    compressed.write_compressed(path, "gzip", [b"one\n", b"two\n", b"three\n"])
    raw = path.read_bytes()
    assert gzip.decompress(raw) == b"one\ntwo\nthree\n"
    with gzip.open(path, "rb") as fh:
        assert fh.read() == b"one\ntwo\nthree\n"
    # a reader stopping at the first member sees only the first chunk
    d = zlib.decompressobj(31)
    assert d.decompress(raw) == b"one\n"
    assert d.unused_data.startswith(b"\x1f\x8b")


def test_write_compressed_multi_frame_zstd(tmp_path):
    path = tmp_path / "m.zst"
    compressed.write_compressed(path, "zstd", [b"one\n", b"two\n", b"three\n"])
    raw = path.read_bytes()
    assert raw.count(MAGIC["zstd"]) == 3
    assert zstandard.frame_content_size(raw) == 4  # one-shot frames record their size
    assert READERS["zstd"](raw) == b"one\ntwo\nthree\n"
    obj = zstandard.ZstdDecompressor().decompressobj()
    assert obj.decompress(raw) == b"one\n"  # first frame only
    assert obj.unused_data.startswith(MAGIC["zstd"])


@pytest.mark.parametrize("compression", ["bzip2", "xz", "none"])
def test_write_compressed_other_streams(tmp_path, compression):
    path = tmp_path / "m"
    compressed.write_compressed(path, compression, [b"a\n", b"b\n"])
    assert READERS[compression](path.read_bytes()) == b"a\nb\n"


def test_unknown_compression(tmp_path):
    with pytest.raises(ValueError):
        compressed.open_writer(tmp_path / "x", "lz4")
    with pytest.raises(ValueError):
        compressed.write_compressed(tmp_path / "x", "lz4", [b""])
