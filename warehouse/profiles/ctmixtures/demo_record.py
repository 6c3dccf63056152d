"""Realistic ctmixtures ``mixture_model_stats`` run records for the demo data set.

Each record comes from a crude simulation (``demo_population``). Every
statistic is derived from that population the way ctmixtures derives it, so
a record is internally consistent:

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

Conventions taken from ``example-record.json`` (``shared/ctmixtures``):
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
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from bson import ObjectId

from .demo_population import (ANTICONFORMIST, CONFORMIST, NEUTRAL, NUM_FEATURES, POPULATION_SIZE,
                              TA_DURATIONS, History, entropy, iqv, locus_stats, simulate)

INIT_TRAITS_PER_FEATURE = 10
SAMPLE_SIZES = (10, 20)
KANDLER_INTERVAL_GENERATIONS = 50
SIMULATION_END_TIME = 4_000_000
EXPERIMENT = "equifinality-3"
MODEL_CLASSES = ("allneutral", "mixconfequal", "mixconfdom", "mixantidom")

# Whether zero counts of the labeled TA configuration maps count as entries for
# num_configurations_ta_ssize and the k of config_iqv_ta_ssize. example-record.json
# counts only the configurations present in the sample (False).
TA_CONFIG_STATS_COUNT_ZEROS = False

# The fields of a record, in the order of example-record.json.
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

# model class -> (configuration file, rule weights), from experiment-ctmixtures' conf/*.json
_MODELS: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "allneutral": ("equifinality-allneutral.json", ((NEUTRAL, 1.0),)),
    "mixconfequal": ("equifinality-confmixture-equal.json",
                     ((CONFORMIST, 0.5), (ANTICONFORMIST, 0.5))),
    "mixconfdom": ("equifinality-confmixture-confdominant.json",
                   ((CONFORMIST, 0.7), (ANTICONFORMIST, 0.3))),
    "mixantidom": ("equifinality-confmixture-anticonfdominant.json",
                   ((CONFORMIST, 0.3), (ANTICONFORMIST, 0.7))),
}

_DEFAULT_NEW_CONFIGS = (0.5, 2.8)  # new configurations per generation, drawn per run
_KEYS_OVERSHOOT = 1.4  # measured: configurations made per intended one at high turnover


def _py2_str(x: float) -> str:
    """``str(x)`` of Python 2 for a float holding at most 12 significant digits."""
    return repr(x)


def _slatkin(rand: Callable[[], float]) -> float:
    return round(rand(), 5)


def object_id(ts: int, machine: bytes, counter: int) -> ObjectId:
    return ObjectId(ts.to_bytes(4, "big") + machine + (counter & 0xFFFFFF).to_bytes(3, "big"))


def _parameters(rng: random.Random, index: int, model_class: str,
                config_keys: int | None) -> dict[str, Any]:
    """The run's drawn parameters and identity (the first draws of its generator)."""
    theta = float("%.12g" % rng.uniform(0.1, 5.0))
    if model_class == "allneutral":
        conformism = anticonformism = 0.0
    else:
        conformism = float("%.12g" % rng.uniform(0.05, 0.25))
        anticonformism = float("%.12g" % rng.uniform(0.05, 0.25))
    seed = rng.randrange(2**53 + 1, 2**63)
    run_id = uuid.UUID(int=rng.getrandbits(128), version=4).urn
    oid = object_id(1_410_833_235 + index, rng.getrandbits(40).to_bytes(5, "big"), index)
    if config_keys is None:
        new_per_gen = rng.uniform(*_DEFAULT_NEW_CONFIGS)
    else:  # the longest duration's map gets between config_keys/15 and config_keys
        target = rng.uniform(config_keys / 15, config_keys)
        new_per_gen = max(0.1, (target - 60) / max(TA_DURATIONS) / _KEYS_OVERSHOOT)
    return {"theta": theta, "conformism": conformism, "anticonformism": anticonformism,
            "seed": seed, "run_id": run_id, "oid": oid, "new_per_gen": new_per_gen}


def _census(rng: random.Random, hist: History) -> dict[str, Any]:
    """Whole-population statistics."""
    pop = hist.pop
    u_counts, u_freqs, richness, entropies, iqvs = locus_stats(zip(*pop), POPULATION_SIZE)
    final_traits = [set(col) for col in zip(*pop)]
    kandler_start = hist.starts[KANDLER_INTERVAL_GENERATIONS]
    return {
        "unlabeled_counts": u_counts, "unlabeled_frequencies": u_freqs,
        "pop_richness": richness, "shannon_entropy": entropies, "iqv_diversity": iqvs,
        "trait_configuration_counts": sorted(Counter(pop).values(), reverse=True),
        "kandler_remaining_count": [len(kandler_start[i] & final_traits[i])
                                    for i in range(NUM_FEATURES)],
        "slatkin_exact": [_slatkin(rng.random) for _ in range(NUM_FEATURES)],
    }


_SYNCHRONIC = ("richness_ssize", "slatkin_ssize", "entropy_ssize", "iqv_ssize",
               "unlabeled_freq_ssize", "unlabeled_counts_ssize", "unlabeled_config_counts_ssize",
               "config_slatkin_ssize")


def _synchronic_samples(rng: random.Random, pop: list[tuple[int, ...]]) -> dict[str, Any]:
    """Samples drawn without replacement, per sample size."""
    fields: dict[str, dict[str, Any]] = {name: {} for name in _SYNCHRONIC}
    for ssize, skey in zip(SAMPLE_SIZES, _SSIZE_KEYS):
        sample = [pop[j] for j in rng.sample(range(POPULATION_SIZE), ssize)]
        c, f, r, e, q = locus_stats(zip(*sample), ssize)
        fields["unlabeled_counts_ssize"][skey] = c
        fields["unlabeled_freq_ssize"][skey] = f
        fields["richness_ssize"][skey] = r
        fields["entropy_ssize"][skey], fields["iqv_ssize"][skey] = e, q
        fields["slatkin_ssize"][skey] = [_slatkin(rng.random) for _ in range(NUM_FEATURES)]
        fields["unlabeled_config_counts_ssize"][skey] = sorted(Counter(sample).values(),
                                                               reverse=True)
        fields["config_slatkin_ssize"][skey] = _slatkin(rng.random)
    return fields


_TA_SAMPLE = ("unlabeled_config_counts_ta_ssize", "num_configurations_ta_ssize",
              "config_entropy_ta_ssize", "config_iqv_ta_ssize", "config_slatkin_ta_ssize",
              "kandler_remaining_tassize")
_TA_LOCUS = ("unlabeled_freq_ta_ssize", "richness_ta_ssize", "entropy_ta_ssize",
             "iqv_ta_ssize")  # per locus: (frequencies, richness, entropy, iqv)


def _ta_sample(rng: random.Random, configs: list, cum: list[int], keys: list[str],
               labels: dict, start: list[set[int]], ssize: int, skey: str,
               fields: dict[str, dict[str, Any]], per_locus: list[dict[str, tuple]]) -> None:
    """One time-averaged sample of one duration: its config map and statistics."""
    drawn = rng.choices(configs, cum_weights=cum, k=ssize)
    counts = dict.fromkeys(keys, 0)
    for cfg in drawn:
        counts[labels[cfg]] += 1
    if TA_CONFIG_STATS_COUNT_ZEROS:
        present = list(counts.values())
    else:
        present = [v for v in counts.values() if v]
    tot = sum(present)
    cf = [v / tot for v in present]
    fields["unlabeled_config_counts_ta_ssize"][skey] = counts
    fields["num_configurations_ta_ssize"][skey] = len(present)
    fields["config_entropy_ta_ssize"][skey] = entropy([x for x in cf if x > 0])
    fields["config_iqv_ta_ssize"][skey] = iqv(cf)
    fields["config_slatkin_ta_ssize"][skey] = _slatkin(rng.random)
    kandler = []
    for i, col in enumerate(zip(*drawn)):
        tc = Counter(col)
        freqs = sorted((x / ssize for x in tc.values()), reverse=True)
        per_locus[i][skey] = (freqs, len(freqs), entropy(freqs), iqv(freqs))
        kandler.append(len(start[i].intersection(tc)))
    fields["kandler_remaining_tassize"][skey] = kandler


def _ta_samples(rng: random.Random, hist: History) -> dict[str, Any]:
    """Time-averaged samples per duration and sample size, with their labeled maps."""
    out: dict[str, dict[str, Any]] = {name: {} for name in _TA_SAMPLE + _TA_LOCUS}
    out["slatkin_ta_ssize"] = {}
    labels: dict[tuple[int, ...], str] = {}
    fmt = "(" + ", ".join(["%d"] * NUM_FEATURES) + ")"
    for dkey in _DUR_ORDER:
        configs, cum = hist.pools[int(dkey)]
        keys = []
        for cfg in configs:
            s = labels.get(cfg)
            if s is None:
                s = labels[cfg] = fmt % cfg
            keys.append(s)
        per_locus: list[dict[str, tuple]] = [{} for _ in range(NUM_FEATURES)]
        fields: dict[str, dict[str, Any]] = {name: {} for name in _TA_SAMPLE}
        for ssize, skey in zip(SAMPLE_SIZES, _SSIZE_KEYS):
            _ta_sample(rng, configs, cum, keys, labels, hist.starts[int(dkey)], ssize, skey,
                       fields, per_locus)
        for position, name in enumerate(_TA_LOCUS):
            out[name][dkey] = {lk: {s: per_locus[int(lk)][s][position] for s in _SSIZE_KEYS}
                               for lk in _LOCUS_ORDER}
        out["slatkin_ta_ssize"][dkey] = {lk: {s: _slatkin(rng.random) for s in _SSIZE_KEYS}
                                         for lk in _LOCUS_ORDER}
        for name in _TA_SAMPLE:
            out[name][dkey] = fields[name]
    return out


def _non_finite(rand: Callable[[], float], values: dict[str, Any]) -> None:
    """The odd NaN or infinity, as the Slatkin Monte Carlo test sometimes gave."""
    if rand() < 0.02:
        where = int(rand() * 4)
        if where == 0:
            values["slatkin_exact"][int(rand() * NUM_FEATURES)] = math.nan
        elif where == 1:
            values["slatkin_ssize"][_SSIZE_KEYS[int(rand() * 2)]][
                int(rand() * NUM_FEATURES)] = math.nan
        elif where == 2:
            values["slatkin_ta_ssize"][_DUR_ORDER[int(rand() * 4)]][_LOCUS_ORDER[int(rand() * 4)]][
                _SSIZE_KEYS[int(rand() * 2)]] = math.nan
        else:
            values["configuration_slatkin"] = math.nan
    if rand() < 0.005:
        values["slatkin_ta_ssize"][_DUR_ORDER[int(rand() * 4)]][_LOCUS_ORDER[int(rand() * 4)]][
            _SSIZE_KEYS[int(rand() * 2)]] = math.inf


def _command_line(conf_file: str, p: dict[str, Any]) -> str:
    return (
        f"{SCRIPT} --experiment {EXPERIMENT} --configuration /home/sgeadmin/{conf_file}"
        f" --popsize {POPULATION_SIZE} --maxinittraits {INIT_TRAITS_PER_FEATURE}"
        f" --numloci {NUM_FEATURES}"
        f" --kandlerinterval {KANDLER_INTERVAL_GENERATIONS} --innovationrate {_py2_str(p['theta'])}"
        f" --periodic 0 --simulationendtime {SIMULATION_END_TIME}"
        f" --conformismstrength {_py2_str(p['conformism'])}"
        f" --anticonformismstrength {_py2_str(p['anticonformism'])} --debug 0 --seed {p['seed']}"
    )


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
    p = _parameters(rng, index, model_class, config_keys)
    hist = simulate(rng, p["theta"], rules, p["conformism"], p["anticonformism"],
                    p["new_per_gen"])
    values = _census(rng, hist)
    values.update(_synchronic_samples(rng, hist.pop))
    values.update(_ta_samples(rng, hist))
    values["configuration_slatkin"] = _slatkin(rng.random)
    _non_finite(rng.random, values)
    values.update({
        "_id": p["oid"],
        "trait_class": _TRAIT_CLASS,
        "script_filename": SCRIPT,
        "num_trait_configurations": len(values["trait_configuration_counts"]),
        "kandler_interval": KANDLER_INTERVAL_GENERATIONS * POPULATION_SIZE,
        "init_traits_per_feature": INIT_TRAITS_PER_FEATURE,
        "interaction_rule_classes": "{" + ", ".join(f"u'{r}': {w!r}" for r, w in rules) + "}",
        "innovation_rate": p["theta"],
        "anticonformism_strength": p["anticonformism"],
        "model_class_label": model_class,
        "conformism_strength": p["conformism"],
        "simulation_run_id": p["run_id"],
        "random_seed": p["seed"],
        "num_features": NUM_FEATURES,
        "full_command_line": _command_line(conf_file, p),
        "pop_class": _POP_CLASS,
        "sample_time": SIMULATION_END_TIME,
        "innovation_class": _INNOVATION_CLASS,
        "sample_size": list(SAMPLE_SIZES),
        "network_class": _NETWORK_CLASS,
        "population_size": POPULATION_SIZE,
    })
    return {name: values[name] for name in FIELDS}


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
        "_id": object_id(1_410_833_235 + int(elapsed), rng.getrandbits(40).to_bytes(5, "big"),
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
