"""Diversity statistics, with the NaN semantics the exporter's code gave them.

Kept free of numpy: these run on short lists (one per locus) millions of
times, where plain Python is faster than building arrays.
"""

from __future__ import annotations

import math
from operator import mul
from typing import Sequence

NAN = float("nan")
INF = float("inf")


def min_max_mean(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """(min, max, mean) of ``values`` in locus order, exactly as the exporter gave them.

    The exporter took min and max with Python's built-ins, which keep the first
    value and replace it only when ``v < current`` (``v > current``): a NaN in
    first place is the answer, a NaN elsewhere is passed over. Its mean was
    ``numpy.average``: NaN when any value is NaN, or when +inf meets -inf.
    """
    if not values:
        return None, None, None
    total = sum(values)  # raises TypeError on a non-number
    mean = total / len(values) if total == total else NAN
    # deliberately the built-ins, NaN rule and all: the views promise the exporter's values
    return min(values), max(values), mean


def neiman_tf(frequencies: Sequence[float]) -> float | None:
    """Neiman's t_f = 1 / sum(f^2) - 1 of a list of frequencies."""
    if not frequencies:
        return None
    homozygosity = sum(map(mul, frequencies, frequencies))
    if homozygosity == 0:
        return INF
    return 1.0 / homozygosity - 1.0


def neiman_tf_of_counts(counts: Sequence[int]) -> float | None:
    """t_f of the frequencies count / sum(counts), from exact integer sums."""
    total = sum(counts)
    if not counts or total == 0:
        return None
    return total * total / sum(map(mul, counts, counts)) - 1.0


def frequencies(counts: Sequence[int]) -> list[float] | None:
    total = sum(counts)
    if not counts or total == 0:
        return None
    return [c / total for c in counts]


def entropy(freqs: Sequence[float]) -> float:
    """Shannon entropy -sum(f ln f); zero frequencies contribute nothing."""
    return -sum(f * math.log(f) for f in freqs if f > 0)


def iqv(freqs: Sequence[float]) -> float:
    """Index of qualitative variation k/(k-1) (1 - sum f^2); 0.0 when k <= 1."""
    k = len(freqs)
    if k <= 1:
        return 0.0
    return k / (k - 1) * (1.0 - sum(map(mul, freqs, freqs)))


def configuration_stats(counts: Sequence[int]) -> tuple[float | None, float | None, float | None]:
    """(entropy, iqv, t_f) of the frequencies of a list of configuration counts."""
    freqs = frequencies(counts)
    if freqs is None:
        return None, None, None
    return entropy(freqs), iqv(freqs), neiman_tf(freqs)
