"""The crude simulation behind a demo run record (see ``demo_record``).

A population of 100 individuals with 4 loci over the last 100 generations of
a run: an initial state drawn locus by locus from a Hoppe urn (Ewens sampling
at the run's innovation rate), then drift, copying of single loci under
neutral, conformist or anticonformist rules, and infinite-alleles innovation.
What comes out is the final population, and for each time-averaging window
the configurations seen in it (weighted by individual-generations) and the
traits present when it began.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

POPULATION_SIZE = 100
NUM_FEATURES = 4
TA_DURATIONS = (10, 25, 50, 100)

NEUTRAL = "ctmixtures.rules.NeutralRandomLocusCopyingRule"
CONFORMIST = "ctmixtures.rules.ConformistCopyingRule"
ANTICONFORMIST = "ctmixtures.rules.AntiConformistCopyingRule"

_P_WHOLE_COPY = 0.2  # share of events copying a whole individual (drift, no new configuration)
_NEW_CONFIG_PER_EVENT = 0.5  # rough share of events that create a configuration

_log = math.log

Config = tuple[int, ...]


def entropy(freqs: Iterable[float]) -> float:
    """``diversity_shannon_entropy`` of ctmixtures (0.0, never -0.0, for one trait)."""
    sw = 0.0
    for f in freqs:
        sw += f * _log(f)
    return 0.0 if sw == 0 else -sw


def iqv(freqs: list[float]) -> float:
    """``diversity_iqv`` of ctmixtures: k/(k-1) * (1 - sum f^2), 0.0 when k <= 1."""
    k = len(freqs)
    if k <= 1:
        return 0.0
    ss = 0.0
    for f in freqs:
        ss += f * f
    return float(k) / (float(k) - 1.0) * (1.0 - ss)


def locus_stats(columns: Iterable[Config], size: int
                ) -> tuple[list[list[int]], list[list[float]], list[int], list[float], list[float]]:
    """Per locus: sorted counts, frequencies, richness, entropy and IQV of the traits."""
    counts, freqs, richness, entropies, iqvs = [], [], [], [], []
    for col in columns:
        c = sorted(Counter(col).values(), reverse=True)
        f = [x / size for x in c]
        counts.append(c)
        freqs.append(f)
        richness.append(len(c))
        entropies.append(entropy(f))
        iqvs.append(iqv(f))
    return counts, freqs, richness, entropies, iqvs


class History(NamedTuple):
    """The outcome of one crude simulation over the last 100 generations."""

    pop: list[Config]  # final population: one trait tuple per individual
    pools: dict[int, tuple[list[Config], list[int]]]  # duration -> (configurations seen,
    #                                                    cumulative weights)
    starts: dict[int, list[set[int]]]  # duration -> per-locus trait sets at the window start


class _Rates(NamedTuple):
    """Chances per copying event, from the run's parameters."""

    innovation: float
    conformist: float  # a locus copy follows the majority of 5
    anticonformist: float  # a locus copy follows the minority of 5
    whole: float  # a whole individual is copied


def _crp(rng: random.Random, n: int, theta: float, next_id: list[int]) -> list[int]:
    """Trait ids of n individuals at one locus from a Hoppe urn (Ewens sampling)."""
    rand = rng.random
    out: list[int] = []
    for i in range(n):
        if rand() * (theta + i) < theta:
            next_id[0] += 1 + int(rand() * 6)
            out.append(next_id[0])
        else:
            out.append(out[int(rand() * i)])
    return out


class _Tally:
    """Counts of the configurations alive, and the individual-ticks each accumulated."""

    def __init__(self, pop: list[Config]) -> None:
        self.cnt: dict[Config, int] = {}
        for c in pop:
            self.cnt[c] = self.cnt.get(c, 0) + 1
        self.wacc = dict.fromkeys(self.cnt, 0)  # insertion order = first seen
        self.last = dict.fromkeys(self.cnt, 0)

    def flush(self, t: int) -> None:
        for c, k in self.cnt.items():
            self.wacc[c] += k * (t - self.last[c])
            self.last[c] = t

    def replace(self, old: Config, new: Config, t: int) -> None:
        """One individual changes from ``old`` to ``new`` at tick ``t``."""
        cnt, wacc, last = self.cnt, self.wacc, self.last
        k = cnt[old]
        wacc[old] += k * (t - last[old])
        last[old] = t
        if k == 1:
            del cnt[old]
        else:
            cnt[old] = k - 1
        k = cnt.get(new, 0)
        if k:
            wacc[new] += k * (t - last[new])
        elif new not in wacc:
            wacc[new] = 0
        last[new] = t
        cnt[new] = k + 1


def _evolve(rng: random.Random, pop: list[Config], tally: _Tally, rates: _Rates,
            next_id: list[int], begin: int, end: int) -> None:
    """Copying and innovation events for ticks ``begin`` to ``end``."""
    n, loci = len(pop), NUM_FEATURES
    rand = rng.random
    p_whole, q_innov = rates.whole, rates.innovation
    p_conf, p_follow = rates.conformist, rates.conformist + rates.anticonformist
    for t in range(begin, end):
        i = int(rand() * n)
        old = pop[i]
        u = rand()
        if u < p_whole:
            new = pop[int(rand() * n)]
            if new == old:
                continue
        else:
            locus = int(rand() * loci)
            if u < p_whole + q_innov:
                next_id[0] += 1 + int(rand() * 6)
                trait = next_id[0]
            else:
                r = rand()
                if r < p_follow:
                    seen = [pop[int(rand() * n)][locus] for _ in range(5)]
                    trait = max(seen, key=seen.count) if r < p_conf else min(seen, key=seen.count)
                else:
                    trait = pop[int(rand() * n)][locus]
                if trait == old[locus]:
                    continue
            new = old[:locus] + (trait,) + old[locus + 1:]
        pop[i] = new
        tally.replace(old, new, t)


def _pools(wacc: dict[Config, int], snaps: dict[int, dict[Config, int]]
           ) -> dict[int, tuple[list[Config], list[int]]]:
    """Per duration: the configurations seen in its window, with cumulative weights."""
    pools: dict[int, tuple[list[Config], list[int]]] = {}
    for d in TA_DURATIONS:
        get = snaps[d].get
        configs: list[Config] = []
        cum: list[int] = []
        acc = 0
        for c, w in wacc.items():
            w -= get(c, 0)
            if w > 0:
                acc += w
                configs.append(c)
                cum.append(acc)
        pools[d] = (configs, cum)
    return pools


def simulate(rng: random.Random, theta: float, rules: tuple[tuple[str, float], ...],
             conformism: float, anticonformism: float, new_configs_per_gen: float) -> History:
    """Run the crude simulation; ``new_configs_per_gen`` sets how fast configurations turn over."""
    n = POPULATION_SIZE
    next_id = [rng.randrange(2_000, 60_000)]
    # conformist-dominated populations are less diverse, anticonformist ones more even
    conf_share = sum(w for r, w in rules if r == CONFORMIST)
    anti_share = sum(w for r, w in rules if r == ANTICONFORMIST)
    theta_eff = theta * (1.0 - 0.6 * conf_share * (0.5 + conformism)
                         + 0.4 * anti_share * (0.5 + anticonformism))
    columns = [_crp(rng, n, max(theta_eff, 0.05), next_id) for _ in range(NUM_FEATURES)]
    pop = list(zip(*columns))
    rates = _Rates(innovation=min(0.4, 0.04 + 0.03 * theta),
                   conformist=conf_share * conformism * 4.0,
                   anticonformist=anti_share * anticonformism * 4.0, whole=_P_WHOLE_COPY)

    per_gen = max(1, round(new_configs_per_gen / _NEW_CONFIG_PER_EVENT))
    total = max(TA_DURATIONS) * per_gen
    tally = _Tally(pop)
    snaps: dict[int, dict[Config, int]] = {}
    starts: dict[int, list[set[int]]] = {}
    # the window of each duration, in time order, each up to the next one's start
    marks = sorted((total - d * per_gen, d) for d in TA_DURATIONS)
    for j, (begin, d) in enumerate(marks):
        end = marks[j + 1][0] if j + 1 < len(marks) else total
        tally.flush(begin)
        snaps[d] = dict(tally.wacc)
        starts[d] = [set(col) for col in zip(*tally.cnt)]
        _evolve(rng, pop, tally, rates, next_id, begin, end)
    tally.flush(total)
    return History(pop, _pools(tally.wacc, snaps), starts)
