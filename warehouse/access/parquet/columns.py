"""What each column of a table or view becomes in Parquet.

SQLite types values, not columns: a REAL column holds the TEXT ``'NaN'`` for
a NaN (a REAL NaN would become NULL), ``parameter.value`` holds integers,
reals and texts side by side, and a computed column of a view (a subquery,
``max(CASE …)``) declares no type at all. Parquet wants one type per column,
so each column gets a *kind*:

``int64``
    integers only: exact 64-bit, NULL a null (never through a float).
``float64``
    reals, infinities, the text ``'NaN'`` (a NaN) and integers a double holds
    exactly (``|i| <= 2**53``); NULL a null, distinct from NaN.
``string``
    texts; in a column of TEXT affinity the text ``'NaN'`` stays a text.
``binary``
    blobs only.
``mixed``
    anything else (``parameter.value``): a struct of SQLite's four storage
    classes, ``integer`` (int64), ``real`` (float64, the text 'NaN' a NaN),
    ``text`` and ``blob``, one of them set per row, so that a 64-bit seed, a
    NaN and a text each stay what they are.

A column without any value takes its declared type's kind, and ``string``
without one (a view's computed column in an empty warehouse): Parquet's
own null type would say more, but Spark reads it only from version 4.2.

A column of INTEGER, REAL or TEXT affinity gets its affinity's kind at once
(:func:`declared_kind`); the writer checks every value against it and a
value that does not fit makes it scan the relation (:func:`kind_of`). A
column without a useful affinity is always scanned first: SQLite answers in
one pass of the relation (:func:`scan_sql`).
"""

from __future__ import annotations

from dataclasses import dataclass

INT64, FLOAT64, STRING, BINARY, MIXED = "int64", "float64", "string", "binary", "mixed"
NAN_TEXT = "NaN"
EXACT_IN_DOUBLE = 2**53  # every integer up to this magnitude is a double exactly


def quoted(name: str) -> str:
    """An SQL identifier for any name SQLite holds."""
    return '"' + name.replace('"', '""') + '"'


def affinity(declared: str) -> str:
    """SQLite's column affinity of a declared type (rules of section 3.1 of its datatype page)."""
    declared = declared.upper()
    if "INT" in declared:
        return "INTEGER"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in declared or not declared:
        return "BLOB"  # i.e. none: values keep the class they were given
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def declared_kind(declared: str) -> str | None:
    """The kind a column of this declared type has when its values follow its affinity.

    None where the affinity says nothing certain (none, NUMERIC): those
    columns are scanned before writing.
    """
    return {"INTEGER": INT64, "REAL": FLOAT64, "TEXT": STRING}.get(affinity(declared))


@dataclass(frozen=True)
class Seen:
    """The storage classes one column holds, from :func:`scan_sql`."""

    integers: bool = False
    reals: bool = False
    nan_texts: bool = False  # the text 'NaN'
    other_texts: bool = False
    blobs: bool = False
    int_min: int | None = None
    int_max: int | None = None


def kind_of(declared: str, seen: Seen) -> str:
    """The kind of a column from its declared type and the values it holds."""
    numbers = seen.integers or seen.reals
    texts = seen.nan_texts or seen.other_texts
    if seen.blobs:
        return BINARY if not (numbers or texts) else MIXED
    if texts and not numbers:
        # texts are texts, except a column of none but 'NaN' outside TEXT affinity:
        # a numeric column whose every value is a NaN
        return STRING if seen.other_texts or affinity(declared) == "TEXT" else FLOAT64
    if seen.other_texts:
        return MIXED
    if seen.reals or seen.nan_texts:
        bounds = (seen.int_min, seen.int_max)
        exact = all(abs(v) <= EXACT_IN_DOUBLE for v in bounds if v is not None)
        return FLOAT64 if exact else MIXED
    if seen.integers:
        return INT64
    return _empty_kind(declared)


def _empty_kind(declared: str) -> str:
    """A column without values: its declared type says what it would hold."""
    if "BLOB" in declared.upper():
        return BINARY
    return declared_kind(declared) or STRING


# One pass of SQLite gives every column's storage classes: for column c,
# these aggregates in this order (max of a comparison is 1 when any row has it).
_AGGREGATES = (
    "max(typeof({c}) = 'integer')",
    "max(typeof({c}) = 'real')",
    "max(typeof({c}) = 'text' AND {c} = 'NaN')",
    "max(typeof({c}) = 'text' AND {c} <> 'NaN')",
    "max(typeof({c}) = 'blob')",
    "min(CASE WHEN typeof({c}) = 'integer' THEN {c} END)",
    "max(CASE WHEN typeof({c}) = 'integer' THEN {c} END)",
)


def scan_sql(relation: str, columns: list[str], partition: str | None) -> str:
    """One pass over a relation: its rows, its partition column's values, its columns' classes.

    ``SELECT count(*), <the partition column's distinct texts (and null) as a
    JSON array>, <1 if it holds anything but texts and NULLs>, <the
    aggregates of each column>``.
    """
    parts = ["count(*)", "NULL", "NULL"]
    if partition:
        p = quoted(partition)
        parts[1:] = [f"json_group_array(DISTINCT CASE WHEN typeof({p}) = 'text' THEN {p} END)",
                     f"max(typeof({p}) NOT IN ('text', 'null'))"]
    for column in columns:
        parts += [aggregate.format(c=quoted(column)) for aggregate in _AGGREGATES]
    return f"SELECT {', '.join(parts)} FROM {quoted(relation)}"


def seen_from(values: tuple, columns: list[str]) -> dict[str, Seen]:
    """Each column's :class:`Seen` from the aggregates of :func:`scan_sql` (after its three leading values)."""
    width = len(_AGGREGATES)
    seen = {}
    for index, column in enumerate(columns):
        ints, reals, nans, others, blobs, low, high = values[index * width:(index + 1) * width]
        seen[column] = Seen(integers=bool(ints), reals=bool(reals), nan_texts=bool(nans),
                            other_texts=bool(others), blobs=bool(blobs), int_min=low, int_max=high)
    return seen
