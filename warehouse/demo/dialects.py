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

import operator
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Callable, NamedTuple

from bson import ObjectId
from bson.datetime_ms import DatetimeMS
from bson.int64 import Int64

from .compressed import ByteSink, write_batched
from .dialect_scalars import (_INT32_MAX, _INT32_MIN, NEEDS_ESCAPE, NEEDS_ESCAPE_3X, date_3x,
                              date_24, date_canonical, date_relaxed, double_3x, double_24,
                              double_canonical, double_relaxed, int64_3x, int64_canonical, int_3x,
                              int_canonical, int_plain, str_3x, str_24, str_v2)

ERAS = ("2.4", "3.x", "4.2-relaxed", "4.2-canonical")

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
    "2.4": (int_plain, int_plain, double_24, str_24, date_24),
    "3.x": (int_3x, int64_3x, double_3x, str_3x, date_3x),
    "4.2-relaxed": (int_plain, int_plain, double_relaxed, str_v2, date_relaxed),
    "4.2-canonical": (int_canonical, int64_canonical, double_canonical, str_v2,
                      date_canonical),
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
        self.plain_ints = f_int is not int_canonical  # ints printed as plain numbers
        self.needs_escape = NEEDS_ESCAPE_3X if era == "3.x" else NEEDS_ESCAPE
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
