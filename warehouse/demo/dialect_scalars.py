"""Numbers, strings and dates as each era of mongoexport printed them.

See :mod:`.dialects` for the eras; these are its formatters, one per era and
value type, written from the tools' source.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any, Callable

from bson.datetime_ms import DatetimeMS

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


def double_24(f: float) -> str:
    if f != f:
        return "NaN"
    if f in (math.inf, -math.inf):
        return "Infinity" if f > 0 else "-Infinity"
    return "%.16g" % f


def double_3x(f: float) -> str:
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


def double_relaxed(f: float) -> str:
    if f != f or f in (math.inf, -math.inf):
        return '{"$numberDouble":"%s"}' % format_double_v2(f)
    a = -f if f < 0 else f
    if 1e-4 <= a < 1e6:
        return repr(f)
    return format_double_v2(f)


def double_canonical(f: float) -> str:
    return '{"$numberDouble":"%s"}' % format_double_v2(f)


def _check_int64(i: int) -> int:
    if not _INT64_MIN <= i <= _INT64_MAX:
        raise ValueError(f"integer {i} does not fit in BSON int64")
    return i


def int_plain(i: int) -> str:
    return str(int(_check_int64(i)))


def int_3x(i: int) -> str:
    if _INT32_MIN <= i <= _INT32_MAX:
        return str(i)
    return '{"$numberLong":"%d"}' % _check_int64(i)


def int_canonical(i: int) -> str:
    if _INT32_MIN <= i <= _INT32_MAX:
        return '{"$numberInt":"%d"}' % i
    return '{"$numberLong":"%d"}' % _check_int64(i)


def int64_3x(i: int) -> str:
    return '{"$numberLong":"%d"}' % _check_int64(i)


int64_canonical = int64_3x

# ---------------------------------------------------------------------------
# strings

# Printable ASCII except '"' and '\\': nothing to escape in any era.
NEEDS_ESCAPE = re.compile(r'[^ !#-\[\]-~]').search
# 3.x (Go encoding/json of 2014) also escapes '<', '>' and '&'.
NEEDS_ESCAPE_3X = re.compile(r'[^ !#-%\'-;=?-\[\]-~]').search

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


str_24 = _escaper(_ESC_24, NEEDS_ESCAPE)
str_3x = _escaper(_ESC_3X, NEEDS_ESCAPE_3X)
str_v2 = _escaper(_ESC_V2, NEEDS_ESCAPE)

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


def date_24(d: Any) -> str:
    return '{ "$date" : %d }' % _millis(d)


def date_3x(d: Any) -> str:
    ms = _millis(d)
    if 0 <= ms < 32_535_215_999_000:  # mongo-tools 3.x: 1970 to year 3000
        return '{"$date":"%s"}' % _iso(ms, trim=False)
    return '{"$date":{"$numberLong":"%d"}}' % ms


def date_relaxed(d: Any) -> str:
    ms = _millis(d)
    if 0 <= ms <= 253_402_300_799_999:  # v2 relaxed: years 1970 to 9999
        return '{"$date":"%s"}' % _iso(ms, trim=True)
    return '{"$date":{"$numberLong":"%d"}}' % ms


def date_canonical(d: Any) -> str:
    return '{"$date":{"$numberLong":"%d"}}' % _millis(d)
