"""A realistic demo data set: ctmixtures ``mixture_model_stats`` run records.

Each record comes from a small, crude simulation of a population of 100
individuals with 4 loci over the last 100 generations of a run: an initial
state drawn locus by locus from a Hoppe urn (Ewens sampling at the run's
innovation rate), then drift, copying of single loci under neutral,
conformist or anticonformist rules, and infinite-alleles innovation. Every
statistic is derived from that population the way ctmixtures derives it, so a
record is internally consistent:

- census: counts per locus sorted descending, frequencies = counts / N,
  richness = number of traits, entropy and IQV as
  ``ctmixtures.analysis.descriptive_stats`` computes them, configuration
  counts of the distinct 4-tuples, Kandler remaining traits = traits present
  50 generations before the end and still present at the end;
- synchronic samples ("10", "20"): individuals drawn without replacement;
- time-averaged samples: for each duration D the configurations present at
  any time in the last D generations are the keys of the labeled map (so the
  key sets nest: 10 within 25 within 50 within 100); a sample is drawn from
  them weighted by individual-generations, its counts (mostly 0) are the
  values, and the per-locus TA statistics describe the same sampled
  individuals; TA Kandler counts are the sampled traits already present when
  the window began.

Slatkin exact-test probabilities (a Monte Carlo test in the original) are
random numbers in [0, 1] with 5 decimals; about 1 run in 50 has one NaN among
them and about 1 in 200 a +Infinity among its TA values.

Conventions taken from ``example-record.json`` (``/work/shared/ctmixtures``):
key order of the document and of the nested dicts (TA durations ``25, 100,
50, 10``; loci ``1, 0, 3, 2``), and for the labeled TA configuration maps:
``num_configurations_ta_ssize`` counts the configurations actually sampled
(non-zero counts) and ``config_entropy_ta_ssize`` / ``config_iqv_ta_ssize``
use the frequencies count / sum over those (k = number of non-zero entries);
see ``TA_CONFIG_STATS_COUNT_ZEROS``. Parameters follow the equifinality
experiments (``mmadsen/experiment-ctmixtures``): theta in [0.1, 5],
conformism and anticonformism strengths in [0.05, 0.25], the rule mixtures
of its ``conf/*.json`` files.

Every run has its own random generator (``record_rng(seed, index)``), so the
data set is deterministic for a seed whatever order or process makes it.
``write_demo`` splits runs over node folders the way the 8 cluster nodes of the
original experiments were exported, in every mongoexport era and compression,
or dumped (``mongodump`` folders or archives, see :mod:`warehouse.dumpwriter`);
optionally with each run's ``simulation_timing`` document (``make_timing``).
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from bson import ObjectId

from . import dialects, dumpwriter

POPULATION_SIZE = 100
NUM_FEATURES = 4
INIT_TRAITS_PER_FEATURE = 10
SAMPLE_SIZES = (10, 20)
TA_DURATIONS = (10, 25, 50, 100)
KANDLER_INTERVAL_GENERATIONS = 50
SIMULATION_END_TIME = 4_000_000
EXPERIMENT = "equifinality-3"
MODEL_CLASSES = ("allneutral", "mixconfequal", "mixconfdom", "mixantidom")

# Whether zero counts of the labeled TA configuration maps count as entries for
# num_configurations_ta_ssize and the k of config_iqv_ta_ssize. example-record.json
# counts only the configurations present in the sample (False).
TA_CONFIG_STATS_COUNT_ZEROS = False

FIELDS = (
    "_id", "iqv_ssize", "trait_class", "unlabeled_config_counts_ssize", "script_filename",
    "iqv_diversity", "num_trait_configurations", "kandler_interval", "unlabeled_freq_ta_ssize",
    "pop_richness", "init_traits_per_feature", "unlabeled_counts_ssize",
    "interaction_rule_classes", "entropy_ssize", "innovation_rate", "trait_configuration_counts",
    "anticonformism_strength", "model_class_label", "unlabeled_counts", "config_slatkin_ta_ssize",
    "conformism_strength", "simulation_run_id", "random_seed", "num_configurations_ta_ssize",
    "kandler_remaining_count", "unlabeled_config_counts_ta_ssize", "num_features",
    "richness_ssize", "config_iqv_ta_ssize", "full_command_line", "shannon_entropy",
    "configuration_slatkin", "config_entropy_ta_ssize", "pop_class", "config_slatkin_ssize",
    "richness_ta_ssize", "unlabeled_frequencies", "entropy_ta_ssize", "sample_time",
    "slatkin_ssize", "slatkin_ta_ssize", "innovation_class", "sample_size", "network_class",
    "population_size", "kandler_remaining_tassize", "slatkin_exact", "unlabeled_freq_ssize",
    "iqv_ta_ssize",
)

# Python 2 dict order of the nested keys, as in example-record.json.
_DUR_ORDER = ("25", "100", "50", "10")
_LOCUS_ORDER = ("1", "0", "3", "2")
_SSIZE_KEYS = tuple(str(s) for s in SAMPLE_SIZES)

SCRIPT = "/usr/local/anaconda/bin/sim-ctmixture-timeaveraging.py"
_POP_CLASS = "ctmixtures.population.FixedTraitStructurePopulation"
_NETWORK_CLASS = "ctmixtures.population.CompleteGraphFactory"
_TRAIT_CLASS = "ctmixtures.traits.LocusAlleleTraitFactory"
_INNOVATION_CLASS = "ctmixtures.rules.InfiniteAllelesMutationRule"
_NEUTRAL = "ctmixtures.rules.NeutralRandomLocusCopyingRule"
_CONF = "ctmixtures.rules.ConformistCopyingRule"
_ANTI = "ctmixtures.rules.AntiConformistCopyingRule"

# model class -> (configuration file, rule weights), from experiment-ctmixtures' conf/*.json
_MODELS: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "allneutral": ("equifinality-allneutral.json", ((_NEUTRAL, 1.0),)),
    "mixconfequal": ("equifinality-confmixture-equal.json", ((_CONF, 0.5), (_ANTI, 0.5))),
    "mixconfdom": ("equifinality-confmixture-confdominant.json", ((_CONF, 0.7), (_ANTI, 0.3))),
    "mixantidom": ("equifinality-confmixture-anticonfdominant.json", ((_CONF, 0.3), (_ANTI, 0.7))),
}

_P_WHOLE_COPY = 0.2  # share of events copying a whole individual (drift, no new configuration)
_NEW_CONFIG_PER_EVENT = 0.5  # rough share of events that create a configuration
_DEFAULT_NEW_CONFIGS = (0.5, 2.8)  # new configurations per generation, drawn per run
_KEYS_OVERSHOOT = 1.4  # measured: configurations made per intended one at high turnover

_log = math.log


def _py2_str(x: float) -> str:
    """``str(x)`` of Python 2 for a float holding at most 12 significant digits."""
    return repr(x)


def _entropy(freqs: Iterable[float]) -> float:
    """``diversity_shannon_entropy`` of ctmixtures (0.0, never -0.0, for one trait)."""
    sw = 0.0
    for f in freqs:
        sw += f * _log(f)
    return 0.0 if sw == 0 else -sw


def _iqv(freqs: list[float]) -> float:
    """``diversity_iqv`` of ctmixtures: k/(k-1) * (1 - sum f^2), 0.0 when k <= 1."""
    k = len(freqs)
    if k <= 1:
        return 0.0
    ss = 0.0
    for f in freqs:
        ss += f * f
    return float(k) / (float(k) - 1.0) * (1.0 - ss)


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


class _History:
    """The outcome of one crude simulation over the last 100 generations."""

    __slots__ = ("pop", "pools", "starts")

    def __init__(self, pop: list[tuple[int, ...]],
                 pools: dict[int, tuple[list[tuple[int, ...]], list[int]]],
                 starts: dict[int, list[set[int]]]):
        self.pop = pop          # final population: one trait tuple per individual
        self.pools = pools      # duration -> (configurations seen, cumulative weights)
        self.starts = starts    # duration -> per-locus trait sets at the window start


def _simulate(rng: random.Random, theta: float, rules: tuple[tuple[str, float], ...],
              conformism: float, anticonformism: float, new_configs_per_gen: float) -> _History:
    n, loci = POPULATION_SIZE, NUM_FEATURES
    rand = rng.random
    next_id = [rng.randrange(2_000, 60_000)]

    # conformist-dominated populations are less diverse, anticonformist ones more even
    conf_share = sum(w for r, w in rules if r == _CONF)
    anti_share = sum(w for r, w in rules if r == _ANTI)
    theta_eff = theta * (1.0 - 0.6 * conf_share * (0.5 + conformism)
                         + 0.4 * anti_share * (0.5 + anticonformism))
    columns = [_crp(rng, n, max(theta_eff, 0.05), next_id) for _ in range(loci)]
    pop = list(zip(*columns))

    per_gen = max(1, round(new_configs_per_gen / _NEW_CONFIG_PER_EVENT))
    horizon = max(TA_DURATIONS)
    total = horizon * per_gen

    q_innov = min(0.4, 0.04 + 0.03 * theta)
    p_conf = conf_share * conformism * 4.0  # chance a locus copy follows the majority
    p_anti = anti_share * anticonformism * 4.0
    p_whole = _P_WHOLE_COPY

    cnt: dict[tuple[int, ...], int] = {}
    for c in pop:
        cnt[c] = cnt.get(c, 0) + 1
    wacc = dict.fromkeys(cnt, 0)  # individual-ticks accumulated; insertion = first seen
    last = dict.fromkeys(cnt, 0)
    snaps: dict[int, dict[tuple[int, ...], int]] = {}
    starts: dict[int, list[set[int]]] = {}

    def flush(t: int) -> None:
        for c, k in cnt.items():
            wacc[c] += k * (t - last[c])
            last[c] = t

    # snapshot ticks, in time order, then the end
    marks = sorted((total - d * per_gen, d) for d in TA_DURATIONS)
    bounds = [(tick, d, marks[j + 1][0] if j + 1 < len(marks) else total)
              for j, (tick, d) in enumerate(marks)]
    for begin, d, end in bounds:
        flush(begin)
        snaps[d] = dict(wacc)
        starts[d] = [set(col) for col in zip(*cnt)]
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
                    if r < p_conf + p_anti:
                        seen = [pop[int(rand() * n)][locus] for _ in range(5)]
                        if r < p_conf:
                            trait = max(seen, key=seen.count)
                        else:
                            trait = min(seen, key=seen.count)
                    else:
                        trait = pop[int(rand() * n)][locus]
                    if trait == old[locus]:
                        continue
                new = old[:locus] + (trait,) + old[locus + 1:]
            pop[i] = new
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
    flush(total)

    pools: dict[int, tuple[list[tuple[int, ...]], list[int]]] = {}
    for d in TA_DURATIONS:
        before = snaps[d]
        configs: list[tuple[int, ...]] = []
        cum: list[int] = []
        acc = 0
        get = before.get
        for c, w in wacc.items():
            w -= get(c, 0)
            if w > 0:
                acc += w
                configs.append(c)
                cum.append(acc)
        pools[d] = (configs, cum)
    return _History(pop, pools, starts)


def _slatkin(rand: Callable[[], float]) -> float:
    return round(rand(), 5)


def _locus_stats(columns: Iterable[tuple[int, ...]], size: int
                 ) -> tuple[list[list[int]], list[list[float]], list[int], list[float], list[float]]:
    counts, freqs, richness, entropy, iqv = [], [], [], [], []
    for col in columns:
        c = sorted(Counter(col).values(), reverse=True)
        f = [x / size for x in c]
        counts.append(c)
        freqs.append(f)
        richness.append(len(c))
        entropy.append(_entropy(f))
        iqv.append(_iqv(f))
    return counts, freqs, richness, entropy, iqv


def _object_id(ts: int, machine: bytes, counter: int) -> ObjectId:
    return ObjectId(ts.to_bytes(4, "big") + machine + (counter & 0xFFFFFF).to_bytes(3, "big"))


def make_record(rng: random.Random, index: int, model_class: str | None = None,
                config_keys: int | None = None) -> dict[str, Any]:
    """One ``mixture_model_stats`` document (48 fields plus ``_id``).

    ``model_class`` defaults to cycling through ``MODEL_CLASSES`` by ``index``.
    ``config_keys`` makes large records: the longest TA duration's labeled
    configuration map then holds between about ``config_keys / 15`` and
    ``config_keys`` keys per sample size (11,000: records of 0.1 to 1.5 MB as
    one JSON line). By default it holds tens to a few hundred keys and the
    record is 10 to 80 KB, about 40 KB on average.
    """
    if model_class is None:
        model_class = MODEL_CLASSES[index % len(MODEL_CLASSES)]
    if model_class not in _MODELS:
        raise ValueError(f"unknown model class {model_class!r}; expected one of "
                         f"{', '.join(MODEL_CLASSES)}")
    conf_file, rules = _MODELS[model_class]
    rand = rng.random

    theta = float("%.12g" % rng.uniform(0.1, 5.0))
    if model_class == "allneutral":
        conformism = anticonformism = 0.0
    else:
        conformism = float("%.12g" % rng.uniform(0.05, 0.25))
        anticonformism = float("%.12g" % rng.uniform(0.05, 0.25))
    seed = rng.randrange(2**53 + 1, 2**63)
    run_id = uuid.UUID(int=rng.getrandbits(128), version=4).urn
    oid = _object_id(1_410_833_235 + index, rng.getrandbits(40).to_bytes(5, "big"), index)

    if config_keys is None:
        new_per_gen = rng.uniform(*_DEFAULT_NEW_CONFIGS)
    else:  # the longest duration's map gets between config_keys/15 and config_keys
        target = rng.uniform(config_keys / 15, config_keys)
        new_per_gen = max(0.1, (target - 60) / max(TA_DURATIONS) / _KEYS_OVERSHOOT)
    hist = _simulate(rng, theta, rules, conformism, anticonformism, new_per_gen)
    pop = hist.pop
    n = POPULATION_SIZE

    # --- whole population census
    u_counts, u_freqs, richness, entropy, iqv = _locus_stats(zip(*pop), n)
    config_counts = sorted(Counter(pop).values(), reverse=True)
    final_traits = [set(col) for col in zip(*pop)]
    kandler_start = hist.starts[KANDLER_INTERVAL_GENERATIONS]
    kandler = [len(kandler_start[i] & final_traits[i]) for i in range(NUM_FEATURES)]
    slatkin_exact = [_slatkin(rand) for _ in range(NUM_FEATURES)]

    # --- synchronic samples
    richness_ss: dict[str, Any] = {}
    slatkin_ss: dict[str, Any] = {}
    entropy_ss: dict[str, Any] = {}
    iqv_ss: dict[str, Any] = {}
    ufreq_ss: dict[str, Any] = {}
    ucount_ss: dict[str, Any] = {}
    uconfig_ss: dict[str, Any] = {}
    cslatkin_ss: dict[str, Any] = {}
    for ssize, skey in zip(SAMPLE_SIZES, _SSIZE_KEYS):
        sample = [pop[j] for j in rng.sample(range(n), ssize)]
        c, f, r, e, q = _locus_stats(zip(*sample), ssize)
        ucount_ss[skey], ufreq_ss[skey], richness_ss[skey] = c, f, r
        entropy_ss[skey], iqv_ss[skey] = e, q
        slatkin_ss[skey] = [_slatkin(rand) for _ in range(NUM_FEATURES)]
        uconfig_ss[skey] = sorted(Counter(sample).values(), reverse=True)
        cslatkin_ss[skey] = _slatkin(rand)

    # --- time-averaged samples
    ta_ufreq: dict[str, Any] = {}
    ta_rich: dict[str, Any] = {}
    ta_slat: dict[str, Any] = {}
    ta_ent: dict[str, Any] = {}
    ta_iqv: dict[str, Any] = {}
    ta_cc: dict[str, Any] = {}
    ta_ncfg: dict[str, Any] = {}
    ta_cslat: dict[str, Any] = {}
    ta_cent: dict[str, Any] = {}
    ta_ciqv: dict[str, Any] = {}
    ta_kand: dict[str, Any] = {}
    labels: dict[tuple[int, ...], str] = {}
    fmt = "(" + ", ".join(["%d"] * NUM_FEATURES) + ")"
    for dkey in _DUR_ORDER:
        dur = int(dkey)
        configs, cum = hist.pools[dur]
        keys = []
        for cfg in configs:
            s = labels.get(cfg)
            if s is None:
                s = labels[cfg] = fmt % cfg
            keys.append(s)
        start = hist.starts[dur]
        per_locus: list[dict[str, tuple[list[float], int, float, float]]] = [
            {} for _ in range(NUM_FEATURES)]
        cc_d: dict[str, Any] = {}
        ncfg_d: dict[str, Any] = {}
        cent_d: dict[str, Any] = {}
        ciqv_d: dict[str, Any] = {}
        cslat_d: dict[str, Any] = {}
        kand_d: dict[str, Any] = {}
        for ssize, skey in zip(SAMPLE_SIZES, _SSIZE_KEYS):
            drawn = rng.choices(configs, cum_weights=cum, k=ssize)
            counts = dict.fromkeys(keys, 0)
            for cfg in drawn:
                counts[labels[cfg]] += 1
            cc_d[skey] = counts
            if TA_CONFIG_STATS_COUNT_ZEROS:
                present = list(counts.values())
            else:
                present = [v for v in counts.values() if v]
            tot = sum(present)
            cf = [v / tot for v in present]
            ncfg_d[skey] = len(present)
            cent_d[skey] = _entropy([x for x in cf if x > 0])
            ciqv_d[skey] = _iqv(cf)
            cslat_d[skey] = _slatkin(rand)
            kl = []
            for i, col in enumerate(zip(*drawn)):
                tc = Counter(col)
                freqs = sorted((x / ssize for x in tc.values()), reverse=True)
                per_locus[i][skey] = (freqs, len(freqs), _entropy(freqs), _iqv(freqs))
                kl.append(len(start[i].intersection(tc)))
            kand_d[skey] = kl
        ta_ufreq[dkey] = {lk: {s: per_locus[int(lk)][s][0] for s in _SSIZE_KEYS}
                          for lk in _LOCUS_ORDER}
        ta_rich[dkey] = {lk: {s: per_locus[int(lk)][s][1] for s in _SSIZE_KEYS}
                         for lk in _LOCUS_ORDER}
        ta_slat[dkey] = {lk: {s: _slatkin(rand) for s in _SSIZE_KEYS} for lk in _LOCUS_ORDER}
        ta_ent[dkey] = {lk: {s: per_locus[int(lk)][s][2] for s in _SSIZE_KEYS}
                        for lk in _LOCUS_ORDER}
        ta_iqv[dkey] = {lk: {s: per_locus[int(lk)][s][3] for s in _SSIZE_KEYS}
                        for lk in _LOCUS_ORDER}
        ta_cc[dkey], ta_ncfg[dkey], ta_cslat[dkey] = cc_d, ncfg_d, cslat_d
        ta_cent[dkey], ta_ciqv[dkey], ta_kand[dkey] = cent_d, ciqv_d, kand_d

    configuration_slatkin = _slatkin(rand)

    # --- the odd non-finite value, as the Slatkin Monte Carlo test sometimes gave
    if rand() < 0.02:
        where = int(rand() * 4)
        if where == 0:
            slatkin_exact[int(rand() * NUM_FEATURES)] = math.nan
        elif where == 1:
            slatkin_ss[_SSIZE_KEYS[int(rand() * 2)]][int(rand() * NUM_FEATURES)] = math.nan
        elif where == 2:
            ta_slat[_DUR_ORDER[int(rand() * 4)]][_LOCUS_ORDER[int(rand() * 4)]][
                _SSIZE_KEYS[int(rand() * 2)]] = math.nan
        else:
            configuration_slatkin = math.nan
    if rand() < 0.005:
        ta_slat[_DUR_ORDER[int(rand() * 4)]][_LOCUS_ORDER[int(rand() * 4)]][
            _SSIZE_KEYS[int(rand() * 2)]] = math.inf

    command = (
        f"{SCRIPT} --experiment {EXPERIMENT} --configuration /home/sgeadmin/{conf_file}"
        f" --popsize {n} --maxinittraits {INIT_TRAITS_PER_FEATURE} --numloci {NUM_FEATURES}"
        f" --kandlerinterval {KANDLER_INTERVAL_GENERATIONS} --innovationrate {_py2_str(theta)}"
        f" --periodic 0 --simulationendtime {SIMULATION_END_TIME}"
        f" --conformismstrength {_py2_str(conformism)}"
        f" --anticonformismstrength {_py2_str(anticonformism)} --debug 0 --seed {seed}"
    )
    rule_text = "{" + ", ".join(f"u'{r}': {w!r}" for r, w in rules) + "}"

    return {
        "_id": oid,
        "iqv_ssize": iqv_ss,
        "trait_class": _TRAIT_CLASS,
        "unlabeled_config_counts_ssize": uconfig_ss,
        "script_filename": SCRIPT,
        "iqv_diversity": iqv,
        "num_trait_configurations": len(config_counts),
        "kandler_interval": KANDLER_INTERVAL_GENERATIONS * n,
        "unlabeled_freq_ta_ssize": ta_ufreq,
        "pop_richness": richness,
        "init_traits_per_feature": INIT_TRAITS_PER_FEATURE,
        "unlabeled_counts_ssize": ucount_ss,
        "interaction_rule_classes": rule_text,
        "entropy_ssize": entropy_ss,
        "innovation_rate": theta,
        "trait_configuration_counts": config_counts,
        "anticonformism_strength": anticonformism,
        "model_class_label": model_class,
        "unlabeled_counts": u_counts,
        "config_slatkin_ta_ssize": ta_cslat,
        "conformism_strength": conformism,
        "simulation_run_id": run_id,
        "random_seed": seed,
        "num_configurations_ta_ssize": ta_ncfg,
        "kandler_remaining_count": kandler,
        "unlabeled_config_counts_ta_ssize": ta_cc,
        "num_features": NUM_FEATURES,
        "richness_ssize": richness_ss,
        "config_iqv_ta_ssize": ta_ciqv,
        "full_command_line": command,
        "shannon_entropy": entropy,
        "configuration_slatkin": configuration_slatkin,
        "config_entropy_ta_ssize": ta_cent,
        "pop_class": _POP_CLASS,
        "config_slatkin_ssize": cslatkin_ss,
        "richness_ta_ssize": ta_rich,
        "unlabeled_frequencies": u_freqs,
        "entropy_ta_ssize": ta_ent,
        "sample_time": SIMULATION_END_TIME,
        "slatkin_ssize": slatkin_ss,
        "slatkin_ta_ssize": ta_slat,
        "innovation_class": _INNOVATION_CLASS,
        "sample_size": list(SAMPLE_SIZES),
        "network_class": _NETWORK_CLASS,
        "population_size": n,
        "kandler_remaining_tassize": ta_kand,
        "slatkin_exact": slatkin_exact,
        "unlabeled_freq_ssize": ufreq_ss,
        "iqv_ta_ssize": ta_iqv,
    }


def record_rng(seed: int, index: int) -> random.Random:
    """The random generator of run ``index`` of the data set ``seed``.

    Every run has its own, so any run (or node) can be made alone, in any order
    or process, and still come out the same.
    """
    return random.Random(f"ctmixtures-demo/{seed}/{index}")


def generate(n_runs: int, seed: int = 0, config_keys: int | None = None,
             start: int = 0) -> Iterator[dict[str, Any]]:
    """Runs ``start … start + n_runs - 1`` of the data set ``seed``, lazily.

    The same arguments give the same records; ``generate(n, s)`` is a prefix
    of ``generate(n + k, s)``.
    """
    for index in range(start, start + n_runs):
        yield make_record(record_rng(seed, index), index, config_keys=config_keys)


def timing_rng(seed: int, index: int) -> random.Random:
    """The random generator of run ``index``'s ``simulation_timing`` document."""
    return random.Random(f"ctmixtures-demo/{seed}/{index}/timing")


def make_timing(run: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The ``simulation_timing`` document of a run (fields in ctmixtures' order).

    ``elapsed_time`` has a fractional part, as ``time()`` differences do: the
    JSON eras 2.4 and 3.x print a whole double as an integer, and documents
    kept whole would then differ between a dump and an export.
    """
    elapsed = round(rng.uniform(600.0, 7200.0), 6)
    if elapsed.is_integer():
        elapsed += 0.5
    return {
        "_id": _object_id(1_410_833_235 + int(elapsed), rng.getrandbits(40).to_bytes(5, "big"),
                          rng.getrandbits(24)),
        "script_filename": run["script_filename"],
        "rule_class": run["interaction_rule_classes"],
        "pop_class": run["pop_class"],
        "simulation_run_id": run["simulation_run_id"],
        "experiment_name": EXPERIMENT,
        "elapsed_time": elapsed,
        "run_length": run["sample_time"],
        "popsize": run["population_size"],
    }


_COMPRESSION_CYCLE = ("gzip", "zstd", "bzip2", "xz", "none")
_FILE_STEM = "mixture_model_stats.json"
FORMS = ("mongoexport", "dump", "archive")
DATABASE = f"{EXPERIMENT}_samples_raw"  # the database on every node
RUNS = "mixture_model_stats"
TIMING = "simulation_timing"
ARCHIVE_SEGMENT_RUNS = 25  # runs per archive segment: the two collections interleave


def _node_plan(nodes: int, eras: str, compression: str) -> list[tuple[str, str, bool, bool]]:
    """Per node: (era, compression, --jsonArray?, split into two members/frames?)."""
    if eras != "mixed" and eras not in dialects.ERAS:
        raise ValueError(f"eras must be 'mixed' or one of {', '.join(dialects.ERAS)}")
    if compression != "mixed" and compression not in dialects.COMPRESSIONS:
        raise ValueError(f"compression must be 'mixed' or one of {', '.join(dialects.COMPRESSIONS)}")
    array_node = None
    if eras == "mixed" and nodes >= 2:
        array_node = min(6, nodes)  # node6: a 3.x --jsonArray export when there are 8 nodes
    plan = []
    for k in range(1, nodes + 1):
        era = dialects.ERAS[(k - 1) % len(dialects.ERAS)] if eras == "mixed" else eras
        if compression == "mixed":
            comp = _COMPRESSION_CYCLE[(k - 1) % len(_COMPRESSION_CYCLE)]
            # a compression met again later in the cycle is written as two
            # members / streams / frames (cat a.gz b.gz, pbzip2, pzstd)
            split = k > len(_COMPRESSION_CYCLE) and comp != "none"
        else:
            comp, split = compression, False
        plan.append((era, comp, k == array_node, split))
    return plan


def write_demo(out_dir: str | Path, n_runs: int = 2000, nodes: int = 8, seed: int = 0,
               eras: str = "mixed", compression: str = "mixed", config_keys: int | None = None,
               progress: Callable[[int], Any] | None = None, workers: int = 1,
               form: str = "mongoexport", timing: bool = False) -> list[Path]:
    """Write ``n_runs`` records split over ``out_dir/node1 … nodeN``.

    Node k holds the next contiguous block of ``generate(n_runs, seed)``, in
    one file ``mixture_model_stats.json`` plus the compression suffix
    (``.gz``, ``.zst``, ``.bz2``, ``.xz``). ``eras="mixed"`` cycles the nodes
    through ``dialects.ERAS`` and makes node 6 (or the last node) a
    ``--jsonArray`` export; ``compression="mixed"`` cycles gzip, zstd, bzip2,
    xz, none, and writes nodes past the fifth as two gzip members / zstd
    frames / bzip2 streams. ``_id`` values are unique within a node but, as
    on cloned cluster nodes, repeat across nodes. ``progress(k)`` is called
    with the number of runs just written (``tqdm.update`` fits). ``workers``
    > 1 writes nodes in that many processes (same output; progress then
    comes a node at a time).

    ``timing`` adds each run's ``simulation_timing`` document (see
    :func:`make_timing`): in ``simulation_timing.json`` beside the runs.
    ``form`` writes each node as mongoexport JSON (above), as a mongodump
    folder ``nodeK/dump/<DATABASE>/<collection>.bson`` with its
    ``.metadata.json`` (each file compressed: ``.gz`` is ``mongodump --gzip``),
    or as a mongodump archive ``nodeK/<DATABASE>.archive`` (compressed as a
    whole), its collections in interleaved segments. Eras only apply to
    mongoexport, and so do the ``--jsonArray`` node and split members.
    Returns the data files written (not the metadata), in node order.
    """
    if nodes < 1:
        raise ValueError("nodes must be at least 1")
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}")
    out = Path(out_dir)
    plan = _node_plan(nodes, eras, compression)
    base, extra = divmod(n_runs, nodes)
    jobs = []
    start = 0
    for k, (era, comp, as_array, split) in enumerate(plan, start=1):
        count = base + (1 if k <= extra else 0)
        jobs.append(_NodeJob(out / f"node{k}", seed, start, count, config_keys, era, comp,
                             as_array, split, form, timing))
        start += count
    written: list[Path] = []
    if workers <= 1 or nodes == 1:
        for job in jobs:
            written += _write_node(job, progress)
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, nodes)) as pool:
            for job, files in zip(jobs, pool.map(_write_node, jobs)):
                written += files
                if progress is not None:
                    progress(job.runs)
    return written


class _NodeJob(NamedTuple):
    folder: Path  # out/nodeK
    seed: int
    start: int
    runs: int
    config_keys: int | None
    era: str
    compression: str
    as_array: bool
    split: bool
    form: str = "mongoexport"
    timing: bool = False


def _object_ids(seed: int) -> Iterator[ObjectId]:
    """The ``_id`` of each document of a node: the same on every node, as when
    one machine image was cloned onto all (same 5-byte machine id, same
    counter start, inserts at the same pace)."""
    rng = random.Random(f"ctmixtures-demo/{seed}/object-ids")
    machine = rng.getrandbits(40).to_bytes(5, "big")
    first_ts = 1_410_833_235 + rng.randrange(0, 86_400)
    first_counter = rng.randrange(0, 1 << 24)
    for j in itertools.count():
        yield _object_id(first_ts + j // 4, machine, first_counter + j)


def _write_node(job: _NodeJob, progress: Callable[[int], Any] | None = None) -> list[Path]:
    """Write one node's data in its form; returns the data files."""
    job.folder.mkdir(parents=True, exist_ok=True)
    pairs = _node_pairs(job, progress)
    if job.form == "dump":
        return _write_dump_node(job, pairs)
    if job.form == "archive":
        return [_write_archive_node(job, pairs)]
    return _write_export_node(job, pairs)


def _write_export_node(job: _NodeJob, pairs: Iterator[tuple[dict, dict | None]]) -> list[Path]:
    path = job.folder / (_FILE_STEM + dialects.SUFFIXES[job.compression])
    timings: list[dict[str, Any]] = []
    docs = _runs_keeping_timings(pairs, timings)
    half = job.runs // 2 if job.split and job.runs >= 2 else None
    with dialects.open_writer(path, job.compression) as fh:
        if job.as_array:  # written a document at a time: split between two of them
            dialects.write_json_array(fh, _split_at(docs, half, fh), job.era)
        elif half is not None:
            dialects.write_json_lines(fh, itertools.islice(docs, half), job.era)
            fh.new_member()
            dialects.write_json_lines(fh, docs, job.era)
        else:
            dialects.write_json_lines(fh, docs, job.era)
    if not job.timing:
        return [path]
    timing_path = job.folder / (f"{TIMING}.json" + dialects.SUFFIXES[job.compression])
    with dialects.open_writer(timing_path, job.compression) as fh:
        dialects.write_json_lines(fh, timings, job.era)
    return [path, timing_path]


def _write_dump_node(job: _NodeJob, pairs: Iterator[tuple[dict, dict | None]]) -> list[Path]:
    out = job.folder / "dump"
    timings: list[dict[str, Any]] = []
    runs = _runs_keeping_timings(pairs, timings)
    written = [dumpwriter.write_collection(out, DATABASE, RUNS, runs, job.compression)]
    if job.timing:
        written.append(dumpwriter.write_collection(out, DATABASE, TIMING, timings,
                                                   job.compression))
    return written


def _write_archive_node(job: _NodeJob, pairs: Iterator[tuple[dict, dict | None]]) -> Path:
    path = job.folder / (f"{DATABASE}.archive" + dialects.SUFFIXES[job.compression])
    collections = [RUNS, TIMING] if job.timing else [RUNS]
    with dialects.open_writer(path, job.compression) as fh:
        writer = dumpwriter.ArchiveWriter(fh, [(DATABASE, c) for c in collections])
        while chunk := list(itertools.islice(pairs, ARCHIVE_SEGMENT_RUNS)):
            writer.segment(DATABASE, RUNS, (run for run, _ in chunk))
            if job.timing:
                writer.segment(DATABASE, TIMING, (timing for _, timing in chunk if timing))
        writer.close()
    return path


def _runs_keeping_timings(pairs: Iterator[tuple[dict, dict | None]],
                          timings: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The run documents; their timing documents (small) collect in ``timings``."""
    for run, timing in pairs:
        if timing is not None:
            timings.append(timing)
        yield run


def _node_pairs(job: _NodeJob, progress: Callable[[int], Any] | None
                ) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each run document of the node with its timing document (None without timing)."""
    for index, run in enumerate(_node_docs(job, progress), start=job.start):
        yield run, make_timing(run, timing_rng(job.seed, index)) if job.timing else None


def _node_docs(job: _NodeJob, progress: Callable[[int], Any] | None) -> Iterator[dict[str, Any]]:
    records = generate(job.runs, job.seed, job.config_keys, start=job.start)
    for doc, oid in zip(records, _object_ids(job.seed)):
        doc["_id"] = oid
        yield doc
        if progress is not None:
            progress(1)


def _split_at(docs: Iterator[dict[str, Any]], half: int | None,
              fh: dialects.CompressedWriter) -> Iterator[dict[str, Any]]:
    for j, doc in enumerate(docs):
        if j == half:
            fh.new_member()
        yield doc
