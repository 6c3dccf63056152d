"""Fields of the exporter's CSV files as the warehouse types them, and how values compare."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Callable

from ..values import NAN_TEXT

FLOAT_TOLERANCE = 1e-12
INT64 = (-(1 << 63), 1 << 63)

# Table columns that hold integers (the rest of the statistics are REAL).
INTEGER_COLUMNS = {
    "census": frozenset({"num_trait_configurations", "richness_locus_min", "richness_locus_max",
                         "kandler_locus_min", "kandler_locus_max"}),
    "sample": frozenset({"ta_duration", "sample_size", "num_configurations",
                         "richness_locus_min", "richness_locus_max",
                         "kandler_locus_min", "kandler_locus_max"}),
    "census_locus": frozenset({"richness", "kandler_remaining"}),
}
KIND_TABLE = {
    "population": "census", "sampled": "sample", "tasampled": "sample",
    "pop-slatkin-locus": "census_locus", "pop-richness-locus": "census_locus",
    "simulation": "parameter",
}
LOCUS_COLUMNS = {"slatkin_locus_value": "slatkin_exact", "richness_locus_value": "richness"}
# file column -> parameter: every column of the simulation file but the first two
SIMULATION_PARAMETERS = {"kandler_interval": "kandler_interval_generations"}
INTEGER_PARAMETERS = frozenset({"random_seed", "num_features", "init_traits_per_feature",
                                "population_size", "kandler_interval_generations"})
REAL_PARAMETERS = frozenset({"innovation_rate", "conformism_strength", "anticonformism_strength"})


def to_real(text: str) -> Any:
    """A float field: NaN as the TEXT 'NaN', an empty field as None."""
    if text == "":
        return None
    value = float(text)
    return NAN_TEXT if value != value else value


def to_int(text: str) -> Any:
    """An integer field, exactly (never through a float); '3.0' is 3."""
    if text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        number = Decimal(text.strip())  # InvalidOperation, an ArithmeticError, on garbage
        if number.is_nan():
            return NAN_TEXT
        if number.is_infinite():
            return float(number)
        if number != number.to_integral_value():
            raise ValueError(f"expected an integer, found {text!r}") from None
        value = int(number)
    return value if INT64[0] <= value < INT64[1] else str(value)  # beyond INTEGER: every digit


def to_count(text: str) -> Any:
    """An integer of a census or sample column: exactly, within 64 bits. Beyond them
    the column's INTEGER affinity would round the digits to a float: an error."""
    value = to_int(text)
    if isinstance(value, str) and value != NAN_TEXT:
        raise ValueError(f"integer beyond 64 bits, found {text!r}")
    return value


def to_text(text: str) -> str | None:
    return text if text != "" else None


def same(stored: Any, value: Any) -> bool:
    """Equal values: text and integers exactly, floats within FLOAT_TOLERANCE (relative)."""
    if stored == value:
        return True
    if isinstance(stored, (str, int)) and isinstance(value, (str, int)):
        return False  # text, or two integers (seeds): no tolerance
    if isinstance(stored, str) or isinstance(value, str):
        return False
    if not (math.isfinite(stored) and math.isfinite(value)):
        return False  # an infinity equals only itself
    return abs(stored - value) <= FLOAT_TOLERANCE * max(abs(stored), abs(value))


def converter(table: str, column: str) -> Callable[[str], Any]:
    if table == "parameter":
        if column in INTEGER_PARAMETERS:
            return to_int
        return to_real if column in REAL_PARAMETERS else to_text
    return to_count if column in INTEGER_COLUMNS[table] else to_real


def table_column(kind: str, name: str) -> str | None:
    """The column of the kind's table that a file column fills (None: run-level or key)."""
    if name in ("simulation_run_id", "model_class_label", "innovation_rate"):
        return None
    if kind in ("sampled", "tasampled"):
        for suffix in ("_ta_ssize", "_tassize", "_ssize"):
            name = name.removesuffix(suffix)
        return name
    if kind.endswith("-locus"):
        return LOCUS_COLUMNS[name]
    return name


def describe_error(error: Exception, text: str) -> str:
    if isinstance(error, ArithmeticError) or "could not convert" in str(error) \
            or "invalid literal" in str(error):
        return f"not a number: {text!r}"
    return str(error)
