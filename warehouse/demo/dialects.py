"""Writers of mongoexport JSON as each era of the tools printed it.

A reference for tests and the demo generator, written from the tools' source
and independent of the readers in :mod:`warehouse.formats` (do not import
from there: a bug shared by writer and reader would hide itself).

Eras (``ERAS``):

``"2.4"``
    MongoDB 2.4 C++ ``mongoexport`` (``BSONObj::jsonString(Strict)``):
    ``{ "_id" : { "$oid" : "…" }, "k" : [ 1, 2 ] }`` spacing, int64 as plain
    numbers, doubles as C++ ``precision(16)`` (``%.16g``: ``0.84`` for
    ``0.8400000000000001``, ``0`` for ``0.0``), bare ``NaN``/``Infinity``/
    ``-Infinity``, dates ``{ "$date" : <ms> }``.
``"3.x"``
    Go tools 3.0 to 4.0, Extended JSON v1 through their fork of
    ``encoding/json``: compact, ``{"$numberLong":"…"}`` for int64,
    doubles as Go ``strconv.FormatFloat(f, 'g', -1, 64)`` (``1`` for ``1.0``,
    ``1e+06`` for a million), ``+Infinity``/``-Infinity``/``NaN`` bare,
    ``<``, ``>``, ``&`` escaped as ``\\u003c`` …, dates
    ``{"$date":"2014-09-16T02:14:11.123Z"}``.
``"4.2-relaxed"`` / ``"4.2-canonical"``
    Go driver ``bson.MarshalExtJSON`` (tools 4.2+), Extended JSON v2.
    Doubles as the driver's ``formatDouble`` (``'G'`` shortest, ``.0`` added
    to whole numbers: ``1.0``, ``1E+06``); relaxed prints int32/int64/finite
    doubles plainly and wraps non-finite doubles in ``$numberDouble``;
    canonical wraps every number (``$numberInt``, ``$numberLong``,
    ``$numberDouble``) and dates as ``{"$date":{"$numberLong":"…"}}``.

Values: ``int`` (int32 when it fits, else int64; ``bson.Int64`` is always
int64), ``float``, ``str``, ``bool``, ``None``, ``list``/``tuple``,
``dict`` (key order kept), ``bson.ObjectId``, ``bson.datetime_ms.DatetimeMS``
or ``datetime.datetime`` (naive means UTC).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Callable, NamedTuple

from bson import ObjectId
from bson.datetime_ms import DatetimeMS
from bson.int64 import Int64

from .compressed import ByteSink, write_batched

ERAS = ("2.4", "3.x", "4.2-relaxed", "4.2-canonical")

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------
# numbers


def _digits(a: float) -> tuple[str, int]:
    """Shortest round-trip digits of ``a > 0`` and the decimal point position.

    ``a == 0.d1d2d3… × 10**dp`` (Go's ``decimal`` representation).
    """
    r = repr(a)
    mant, _, exp = r.partition("e")
    whole, _, frac = mant.partition(".")
    digits = whole + frac
    dp = len(whole) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    return stripped.rstrip("0"), dp


def go_format_g(f: float, upper: bool = False) -> str:
    """Go ``strconv.FormatFloat(f, 'g' or 'G', -1, 64)`` for a finite ``f``."""
    neg = math.copysign(1.0, f) < 0
    a = -f if neg else f
    sign = "-" if neg else ""
    if a == 0.0:
        return sign + "0"
    digits, dp = _digits(a)
    nd = len(digits)
    exp = dp - 1
    if exp < -4 or exp >= 6:  # shortest: Go uses eprec = 6 for the decision
        e = "E" if upper else "e"
        mant = digits[0] + ("." + digits[1:] if nd > 1 else "")
        return f"{sign}{mant}{e}{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return sign + "0." + "0" * (-dp) + digits
    if dp >= nd:
        return sign + digits + "0" * (dp - nd)
    return sign + digits[:dp] + "." + digits[dp:]


def _double_24(f: float) -> str:
    if f != f:
        return "NaN"
    if f in (math.inf, -math.inf):
        return "Infinity" if f > 0 else "-Infinity"
    return "%.16g" % f


def _double_3x(f: float) -> str:
    if f != f:
        return "NaN"
    if f == math.inf:
        return "+Infinity"
    if f == -math.inf:
        return "-Infinity"
    a = -f if f < 0 else f
    if 1e-4 <= a < 1e6:  # repr is fixed-point here, and so is Go's 'g'
        r = repr(f)
        return r[:-2] if r.endswith(".0") else r
    return go_format_g(f)


def format_double_v2(f: float) -> str:
    """The Go driver's ``formatDouble``: 'G' shortest, ``.0`` on whole numbers."""
    if f != f:
        return "NaN"
    if f == math.inf:
        return "Infinity"
    if f == -math.inf:
        return "-Infinity"
    a = -f if f < 0 else f
    if 1e-4 <= a < 1e6:
        return repr(f)  # always has a '.', never an exponent in this range
    s = go_format_g(f, upper=True)
    if "." not in s and "E" not in s:
        s += ".0"
    return s


def _double_relaxed(f: float) -> str:
    if f != f or f in (math.inf, -math.inf):
        return '{"$numberDouble":"%s"}' % format_double_v2(f)
    a = -f if f < 0 else f
    if 1e-4 <= a < 1e6:
        return repr(f)
    return format_double_v2(f)


def _double_canonical(f: float) -> str:
    return '{"$numberDouble":"%s"}' % format_double_v2(f)


def _check_int64(i: int) -> int:
    if not _INT64_MIN <= i <= _INT64_MAX:
        raise ValueError(f"integer {i} does not fit in BSON int64")
    return i


def _int_plain(i: int) -> str:
    return str(int(_check_int64(i)))


def _int_3x(i: int) -> str:
    if _INT32_MIN <= i <= _INT32_MAX:
        return str(i)
    return '{"$numberLong":"%d"}' % _check_int64(i)


def _int_canonical(i: int) -> str:
    if _INT32_MIN <= i <= _INT32_MAX:
        return '{"$numberInt":"%d"}' % i
    return '{"$numberLong":"%d"}' % _check_int64(i)


def _int64_3x(i: int) -> str:
    return '{"$numberLong":"%d"}' % _check_int64(i)


_int64_canonical = _int64_3x

# ---------------------------------------------------------------------------
# strings

# Printable ASCII except '"' and '\\': nothing to escape in any era.
_NEEDS_ESCAPE = re.compile(r'[^ !#-\[\]-~]').search
# 3.x (Go encoding/json of 2014) also escapes '<', '>' and '&'.
_NEEDS_ESCAPE_3X = re.compile(r'[^ !#-%\'-;=?-\[\]-~]').search

_ESC_24 = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
           "\r": "\\r", "\t": "\\t"}
_ESC_3X = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r",
           "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
           "\u2028": "\\u2028", "\u2029": "\\u2029"}
_ESC_V2 = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
           "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _escaper(table: dict[str, str], search: Callable[[str], Any]) -> Callable[[str], str]:
    def esc(s: str) -> str:
        if search(s) is None:
            return '"' + s + '"'
        out = ['"']
        for c in s:
            e = table.get(c)
            if e is not None:
                out.append(e)
            elif c < " ":
                out.append("\\u%04x" % ord(c))
            else:
                out.append(c)
        out.append('"')
        return "".join(out)
    return esc


_str_24 = _escaper(_ESC_24, _NEEDS_ESCAPE)
_str_3x = _escaper(_ESC_3X, _NEEDS_ESCAPE_3X)
_str_v2 = _escaper(_ESC_V2, _NEEDS_ESCAPE)

# ---------------------------------------------------------------------------
# dates


def _millis(d: Any) -> int:
    if isinstance(d, DatetimeMS):
        return int(d)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    delta = d - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _iso(ms: int, trim: bool) -> str:
    secs, milli = divmod(ms, 1000)
    days, rem = divmod(secs, 86_400)
    base = datetime.fromordinal(_EPOCH.toordinal() + days)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (base.year, base.month, base.day, hh, mm, ss)
    if trim:  # Go layout "…05.999Z07:00": trailing zeros (and the dot) dropped
        frac = ("%03d" % milli).rstrip("0")
        return text + ("." + frac if frac else "") + "Z"
    return text + ".%03dZ" % milli  # Go layout "…05.000Z"


def _date_24(d: Any) -> str:
    return '{ "$date" : %d }' % _millis(d)


def _date_3x(d: Any) -> str:
    ms = _millis(d)
    if 0 <= ms < 32_535_215_999_000:  # mongo-tools 3.x: 1970 to year 3000
        return '{"$date":"%s"}' % _iso(ms, trim=False)
    return '{"$date":{"$numberLong":"%d"}}' % ms


def _date_relaxed(d: Any) -> str:
    ms = _millis(d)
    if 0 <= ms <= 253_402_300_799_999:  # v2 relaxed: years 1970 to 9999
        return '{"$date":"%s"}' % _iso(ms, trim=True)
    return '{"$date":{"$numberLong":"%d"}}' % ms


def _date_canonical(d: Any) -> str:
    return '{"$date":{"$numberLong":"%d"}}' % _millis(d)


# ---------------------------------------------------------------------------
# the encoder

_BOOL = {True: "true", False: "false"}
_STR_ONLY = {str}
_add = operator.add


class _Syntax(NamedTuple):
    """The punctuation of an era."""

    o_open: str
    o_close: str
    kv: str
    sep: str
    a_open: str
    a_close: str


_SPACED = _Syntax("{ ", " }", " : ", ", ", "[ ", " ]")  # the 2.4 C++ tool
_COMPACT = _Syntax("{", "}", ":", ",", "[", "]")  # the Go tools

# era -> formatters of (int32, int64, double, string, date)
_FORMATTERS: dict[str, tuple[Callable[[Any], str], ...]] = {
    "2.4": (_int_plain, _int_plain, _double_24, _str_24, _date_24),
    "3.x": (_int_3x, _int64_3x, _double_3x, _str_3x, _date_3x),
    "4.2-relaxed": (_int_plain, _int_plain, _double_relaxed, _str_v2, _date_relaxed),
    "4.2-canonical": (_int_canonical, _int64_canonical, _double_canonical, _str_v2,
                      _date_canonical),
}


class _Encoder:
    """One era's mongoexport text of a document; ``encoder(doc)`` gives it."""

    def __init__(self, era: str) -> None:
        if era not in _FORMATTERS:
            raise ValueError(f"unknown era {era!r}; expected one of {', '.join(ERAS)}")
        f_int, f_int64, f_dbl, f_str, f_date = _FORMATTERS[era]
        self.syntax = _SPACED if era == "2.4" else _COMPACT
        oid = '{ "$oid" : "%s" }' if era == "2.4" else '{"$oid":"%s"}'
        self.scalar: dict[type, Callable[[Any], str]] = {
            int: f_int, float: f_dbl, str: f_str, bool: _BOOL.__getitem__,
            type(None): lambda _: "null", ObjectId: lambda o: oid % o, Int64: f_int64,
            DatetimeMS: f_date, datetime: f_date,
        }
        self.f_str = f_str
        self.plain_ints = f_int is not _int_canonical  # ints printed as plain numbers
        self.needs_escape = _NEEDS_ESCAPE_3X if era == "3.x" else _NEEDS_ESCAPE
        self.key_cache: dict[str, str] = {}

    def __call__(self, doc: Any) -> str:
        out: list[str] = []
        self.encode(doc, out)
        return "".join(out)

    def key_kv(self, k: Any) -> str:
        """Encoded key followed by the key/value separator."""
        e = self.key_cache.get(k)
        if e is None:
            if type(k) is not str:
                raise TypeError(f"document keys must be str, not {type(k).__name__}")
            e = self.f_str(k) + self.syntax.kv
            if len(self.key_cache) < 4096:
                self.key_cache[k] = e
        return e

    def encode(self, v: Any, out: list[str]) -> None:
        t = type(v)
        if t is dict:
            self.encode_dict(v, out)
        elif t is list or t is tuple:
            self.encode_list(v, out)
        else:
            out.append(self.encode_scalar(v))

    def encode_dict(self, v: dict, out: list[str]) -> None:
        syntax = self.syntax
        if not v:
            out.append("{}")
            return
        whole = self._homogeneous_dict(v)
        if whole is not None:
            out.append(whole)
            return
        get_scalar = self.scalar.get
        first = True
        for k, x in v.items():
            head = (syntax.o_open if first else syntax.sep) + self.key_kv(k)
            first = False
            f = get_scalar(type(x))
            if f is not None:
                out.append(head + f(x))
            else:
                out.append(head)
                self.encode(x, out)
        out.append(syntax.o_close)

    def _homogeneous_dict(self, v: dict) -> str | None:
        """A dict whose values share one scalar type, without a Python-level loop."""
        vals = v.values()
        types = set(map(type, vals))
        if len(types) != 1:
            return None
        vt = types.pop()
        syntax = self.syntax
        if (vt is int and self.plain_ints and len(v) > 8
                and _INT32_MIN <= min(vals) and max(vals) <= _INT32_MAX
                and set(map(type, v)) == _STR_ONLY and self.needs_escape("".join(v)) is None):
            # the labeled count maps, {"(t0, t1, …)": count}
            q_kv = '"' + syntax.kv
            return (syntax.o_open + syntax.sep.join(['"%s%s%d' % (k, q_kv, x) for k, x in v.items()])
                    + syntax.o_close)
        f = self.scalar.get(vt)
        if f is None:
            return None
        return (syntax.o_open + syntax.sep.join(map(_add, map(self.key_kv, v), map(f, vals)))
                + syntax.o_close)

    def encode_list(self, v: list | tuple, out: list[str]) -> None:
        syntax = self.syntax
        if not v:
            out.append("[]")
            return
        types = set(map(type, v))
        if len(types) == 1:
            vt = types.pop()
            if vt is int and self.plain_ints and _INT32_MIN <= min(v) and max(v) <= _INT32_MAX:
                out.append(syntax.a_open + syntax.sep.join(map(str, v)) + syntax.a_close)
                return
            f = self.scalar.get(vt)
            if f is not None:
                out.append(syntax.a_open + syntax.sep.join(map(f, v)) + syntax.a_close)
                return
        get_scalar = self.scalar.get
        first = True
        for x in v:
            f = get_scalar(type(x))
            head = syntax.a_open if first else syntax.sep
            first = False
            if f is not None:
                out.append(head + f(x))
            else:
                out.append(head)
                self.encode(x, out)
        out.append(syntax.a_close)

    def encode_scalar(self, v: Any) -> str:
        f = self.scalar.get(type(v))
        if f is None:
            for base, fn in self.scalar.items():  # subclasses (IntEnum, …)
                if isinstance(v, base) and base is not type(None):
                    f = fn
                    break
            else:
                raise TypeError(f"cannot write a {type(v).__name__} as mongoexport JSON")
        return f(v)


_ENCODERS = {era: _Encoder(era) for era in ERAS}


def _encoder(era: str) -> Callable[[Any], str]:
    try:
        return _ENCODERS[era]
    except KeyError:
        raise ValueError(f"unknown era {era!r}; expected one of {', '.join(ERAS)}") from None


def dumps_str(doc: Any, era: str) -> str:
    """Like :func:`dumps`, as ``str``."""
    return _encoder(era)(doc)


def dumps(doc: Any, era: str) -> bytes:
    """One document as that era's mongoexport prints it (UTF-8, no newline)."""
    return _encoder(era)(doc).encode("utf-8")


# ---------------------------------------------------------------------------
# pretty printing: Go's json.Indent(dst, src, "", "\t") on the compact text

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+|\s+', re.S)


def indent(text: str, prefix: str = "", step: str = "\t") -> str:
    """Re-indent one JSON text as Go's ``json.Indent`` does (mongoexport ``--pretty``).

    Whitespace outside strings is dropped; empty ``{}``/``[]`` stay compact;
    ``": "`` after keys. Non-JSON literals (``+Infinity``, ``NaN``) pass through.
    """
    out: list[str] = []
    depth = 0
    need_indent = False
    for m in _TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c in " \t\r\n":
            continue
        if need_indent and c not in "]}":
            need_indent = False
            depth += 1
            out.append("\n" + prefix + step * depth)
        if c in "{[" and len(tok) == 1:
            need_indent = True
            out.append(tok)
        elif tok == ",":
            out.append(",\n" + prefix + step * depth)
        elif tok == ":":
            out.append(": ")
        elif tok in ("}", "]"):
            if need_indent:
                need_indent = False
            else:
                depth -= 1
                out.append("\n" + prefix + step * depth)
            out.append(tok)
        else:
            out.append(tok)
    return "".join(out)


# ---------------------------------------------------------------------------
# whole exports


def write_json_lines(fh: ByteSink, docs: Iterable[Any], era: str) -> int:
    """mongoexport default output: one document per line, ``\\n`` terminated.

    Returns the number of documents written.
    """
    enc = _encoder(era)
    return write_batched(fh, ((enc(doc) + "\n").encode("utf-8") for doc in docs))


def write_json_array(fh: ByteSink, docs: Iterable[Any], era: str, pretty: bool = False) -> int:
    """mongoexport ``--jsonArray``, streamed one document at a time.

    Compact: ``[doc,doc,…]`` and a final newline, everything else on one line
    (the 2.4 C++ tool and the Go tools agree on this). ``pretty`` follows the
    Go tools' ``--pretty``: each document passed through ``json.Indent`` with a
    tab, ``",\\n"`` between documents, ``"]\\n"`` and an extra ``"\\n"`` at the end.
    Returns the number of documents written.
    """
    enc = _encoder(era)
    fh.write(b"[")
    n = 0
    for doc in docs:
        text = enc(doc)
        if pretty:
            text = indent(text)
        if n:
            fh.write(b",\n" if pretty else b",")
        fh.write(text.encode("utf-8"))
        n += 1
    fh.write(b"]\n\n" if pretty else b"]\n")
    return n
