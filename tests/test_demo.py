"""The demo generator: complete, internally consistent, deterministic records."""

from __future__ import annotations

import ast
import bz2
import gzip
import io
import json
import lzma
import math
import random
import re
import uuid
import zlib
from collections import Counter
from pathlib import Path

import pytest
import zstandard
from bson import ObjectId

from warehouse import demo
from warehouse.demo import compressed, dialects

EXAMPLE = Path("/work/shared/ctmixtures/example-record.json")

STORED_FIELDS = {
    "simulation_run_id", "sample_time", "model_class_label", "script_filename",
    "full_command_line", "random_seed", "interaction_rule_classes", "pop_class",
    "network_class", "trait_class", "innovation_class", "num_features",
    "init_traits_per_feature", "conformism_strength", "anticonformism_strength",
    "innovation_rate", "sample_size", "population_size", "kandler_interval",
    "slatkin_exact", "shannon_entropy", "iqv_diversity", "pop_richness",
    "kandler_remaining_count", "num_trait_configurations", "trait_configuration_counts",
    "configuration_slatkin", "unlabeled_frequencies", "unlabeled_counts",
    "richness_ssize", "slatkin_ssize", "entropy_ssize", "iqv_ssize", "unlabeled_freq_ssize",
    "unlabeled_counts_ssize", "unlabeled_config_counts_ssize", "config_slatkin_ssize",
    "richness_ta_ssize", "slatkin_ta_ssize", "entropy_ta_ssize", "iqv_ta_ssize",
    "unlabeled_freq_ta_ssize", "unlabeled_config_counts_ta_ssize",
    "num_configurations_ta_ssize", "config_slatkin_ta_ssize", "config_entropy_ta_ssize",
    "config_iqv_ta_ssize", "kandler_remaining_tassize",
}
CONFIG_FILES = {
    "allneutral": "equifinality-allneutral.json",
    "mixconfequal": "equifinality-confmixture-equal.json",
    "mixconfdom": "equifinality-confmixture-confdominant.json",
    "mixantidom": "equifinality-confmixture-anticonfdominant.json",
}
LABEL = re.compile(r"^\((\d+), (\d+), (\d+), (\d+)\)$")
RULES = {
    "allneutral": {"ctmixtures.rules.NeutralRandomLocusCopyingRule": 1.0},
    "mixconfequal": {"ctmixtures.rules.ConformistCopyingRule": 0.5,
                     "ctmixtures.rules.AntiConformistCopyingRule": 0.5},
    "mixconfdom": {"ctmixtures.rules.ConformistCopyingRule": 0.7,
                   "ctmixtures.rules.AntiConformistCopyingRule": 0.3},
    "mixantidom": {"ctmixtures.rules.ConformistCopyingRule": 0.3,
                   "ctmixtures.rules.AntiConformistCopyingRule": 0.7},
}


@pytest.fixture(scope="module")
def records():
    return list(demo.generate(600, seed=2024))


def entropy(freqs):
    return -sum(f * math.log(f) for f in freqs)


def iqv(freqs):
    k = len(freqs)
    return 0.0 if k <= 1 else k / (k - 1) * (1 - sum(f * f for f in freqs))


def close(a, b):
    return abs(a - b) <= 1e-12


def check_locus_lists(counts, freqs, richness, ent, q, size):
    assert len(counts) == len(freqs) == len(richness) == len(ent) == len(q) == 4
    for c, f, r, e, i in zip(counts, freqs, richness, ent, q):
        assert all(type(x) is int and x > 0 for x in c)
        assert c == sorted(c, reverse=True) and sum(c) == size
        assert f == [x / size for x in c]
        assert r == len(c)
        assert close(e, entropy(f)) and e >= 0.0
        assert close(i, iqv(f))


def test_fields_and_order(records):
    rec = records[0]
    assert len(STORED_FIELDS) == 48
    assert set(rec) == STORED_FIELDS | {"_id"}
    assert list(rec) == list(demo.FIELDS)
    assert isinstance(rec["_id"], ObjectId)
    if EXAMPLE.exists():  # same key order as the reference record
        example = json.loads(EXAMPLE.read_text().replace("+Infinity", "Infinity"))
        assert list(example) == list(rec)
        for field in ("slatkin_ta_ssize", "unlabeled_config_counts_ta_ssize"):
            assert list(example[field]) == list(rec[field])
        assert list(example["iqv_ta_ssize"]["25"]) == list(rec["iqv_ta_ssize"]["25"])


def test_parameters(records):
    for rec in records[:40]:
        label = rec["model_class_label"]
        assert ast.literal_eval(rec["interaction_rule_classes"]) == RULES[label]
        assert rec["interaction_rule_classes"].startswith("{u'ctmixtures.rules.")
        for key in ("conformism_strength", "anticonformism_strength", "innovation_rate"):
            assert type(rec[key]) is float
        if label == "allneutral":
            assert rec["conformism_strength"] == rec["anticonformism_strength"] == 0.0
        else:
            assert 0.05 <= rec["conformism_strength"] <= 0.25
            assert 0.05 <= rec["anticonformism_strength"] <= 0.25
        theta = rec["innovation_rate"]
        assert 0.1 <= theta <= 5.0 and float("%.12g" % theta) == theta
        seed = rec["random_seed"]
        assert type(seed) is int and 2**53 < seed < 2**63
        assert rec["simulation_run_id"].startswith("urn:uuid:")
        assert uuid.UUID(rec["simulation_run_id"][9:]).version == 4
        assert (rec["population_size"], rec["num_features"], rec["sample_size"]) == (100, 4, [10, 20])
        assert rec["kandler_interval"] == 5000 and rec["init_traits_per_feature"] == 10

        # the command line repeats every parameter and the seed
        words = rec["full_command_line"].split()
        assert words[0] == rec["script_filename"]
        args = dict(zip(words[1::2], words[2::2]))
        assert int(args["--seed"]) == seed
        assert float(args["--innovationrate"]) == theta
        assert float(args["--conformismstrength"]) == rec["conformism_strength"]
        assert float(args["--anticonformismstrength"]) == rec["anticonformism_strength"]
        assert int(args["--popsize"]) == rec["population_size"]
        assert int(args["--numloci"]) == rec["num_features"]
        assert int(args["--maxinittraits"]) == rec["init_traits_per_feature"]
        assert int(args["--kandlerinterval"]) * rec["population_size"] == rec["kandler_interval"]
        assert int(args["--simulationendtime"]) == rec["sample_time"]
        assert args["--configuration"] == "/home/sgeadmin/" + CONFIG_FILES[label]
        assert args["--experiment"] == "equifinality-3" and args["--periodic"] == "0"
    assert Counter(r["model_class_label"] for r in records[:40]) == {c: 10 for c in demo.MODEL_CLASSES}


def test_population_census_consistent(records):
    for rec in records[:60]:
        check_locus_lists(rec["unlabeled_counts"], rec["unlabeled_frequencies"], rec["pop_richness"],
                          rec["shannon_entropy"], rec["iqv_diversity"], 100)
        configs = rec["trait_configuration_counts"]
        assert configs == sorted(configs, reverse=True) and sum(configs) == 100
        assert rec["num_trait_configurations"] == len(configs)
        # at least as many configurations as traits at the richest locus
        assert len(configs) >= max(rec["pop_richness"])
        for kept, rich in zip(rec["kandler_remaining_count"], rec["pop_richness"]):
            assert type(kept) is int and 0 <= kept <= rich


def test_samples_consistent(records):
    for rec in records[:60]:
        for ssize in ("10", "20"):
            n = int(ssize)
            check_locus_lists(rec["unlabeled_counts_ssize"][ssize], rec["unlabeled_freq_ssize"][ssize],
                              rec["richness_ssize"][ssize], rec["entropy_ssize"][ssize],
                              rec["iqv_ssize"][ssize], n)
            configs = rec["unlabeled_config_counts_ssize"][ssize]
            assert configs == sorted(configs, reverse=True) and sum(configs) == n
            assert len(configs) >= max(rec["richness_ssize"][ssize])
        assert list(rec["config_slatkin_ssize"]) == ["10", "20"]


def test_time_averaged_consistent(records):
    durations = ("25", "100", "50", "10")
    loci = ("1", "0", "3", "2")
    zeros_seen = 0
    for rec in records[:60]:
        for field in ("richness_ta_ssize", "slatkin_ta_ssize", "entropy_ta_ssize",
                      "iqv_ta_ssize", "unlabeled_freq_ta_ssize"):
            assert list(rec[field]) == list(durations)
            for dur in durations:
                assert list(rec[field][dur]) == list(loci)
                for locus in loci:
                    assert list(rec[field][dur][locus]) == ["10", "20"]
        previous_keys: set[str] = set()
        for dur in ("10", "25", "50", "100"):  # longer windows hold every shorter one's configs
            keys = set(rec["unlabeled_config_counts_ta_ssize"][dur]["10"])
            assert previous_keys <= keys
            previous_keys = keys
            for ssize in ("10", "20"):
                n = int(ssize)
                counts = rec["unlabeled_config_counts_ta_ssize"][dur][ssize]
                assert set(counts) == keys
                assert all(LABEL.match(k) for k in counts)
                values = list(counts.values())
                assert all(type(v) is int and v >= 0 for v in values) and sum(values) == n
                zeros_seen += values.count(0)
                present = values if demo.TA_CONFIG_STATS_COUNT_ZEROS else [v for v in values if v]
                freqs = [v / n for v in present]
                assert rec["num_configurations_ta_ssize"][dur][ssize] == len(present)
                assert close(rec["config_entropy_ta_ssize"][dur][ssize],
                             entropy([f for f in freqs if f]))
                assert close(rec["config_iqv_ta_ssize"][dur][ssize], iqv(freqs))

                # the per-locus TA statistics describe the same sampled configurations
                for i, locus in enumerate(("0", "1", "2", "3")):
                    traits: Counter[int] = Counter()
                    for label, c in counts.items():
                        if c:
                            traits[int(LABEL.match(label).group(i + 1))] += c
                    f = sorted((c / n for c in traits.values()), reverse=True)
                    assert rec["unlabeled_freq_ta_ssize"][dur][locus][ssize] == f
                    assert rec["richness_ta_ssize"][dur][locus][ssize] == len(f)
                    assert close(rec["entropy_ta_ssize"][dur][locus][ssize], entropy(f))
                    assert close(rec["iqv_ta_ssize"][dur][locus][ssize], iqv(f))
                    kept = rec["kandler_remaining_tassize"][dur][ssize][i]
                    assert type(kept) is int and 0 <= kept <= len(f)
    assert zeros_seen > 0  # labeled maps carry zero counts


def test_non_finite_values_are_rare_but_present(records):
    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from walk(v)
        elif isinstance(x, list):
            for v in x:
                yield from walk(v)
        elif isinstance(x, float):
            yield x

    with_nan = sum(any(math.isnan(v) for v in walk(r)) for r in records)
    with_inf = sum(any(math.isinf(v) for v in walk(r["slatkin_ta_ssize"])) for r in records)
    assert 2 <= with_nan <= 30  # about 1 run in 50
    assert 1 <= with_inf <= 12  # about 1 run in 200
    for rec in records:  # every statistic here is non-negative
        assert all(v >= 0.0 for v in walk(rec) if not math.isnan(v))


def test_size_of_default_records(records):
    sizes = [len(dialects.dumps(r, "3.x")) for r in records[:100]]
    mean = sum(sizes) / len(sizes)
    assert 30_000 <= mean <= 50_000
    assert min(sizes) > 3_000 and max(sizes) < 200_000


def test_deterministic_for_a_seed():
    a = [dialects.dumps(r, "4.2-canonical") for r in demo.generate(5, seed=7)]
    b = [dialects.dumps(r, "4.2-canonical") for r in demo.generate(5, seed=7)]
    c = [dialects.dumps(r, "4.2-canonical") for r in demo.generate(5, seed=8)]
    assert a == b
    assert not set(a) & set(c)


def test_runs_can_be_made_alone():
    five = [dialects.dumps(r, "4.2-canonical") for r in demo.generate(5, seed=7)]
    assert [dialects.dumps(r, "4.2-canonical") for r in demo.generate(3, seed=7)] == five[:3]
    assert [dialects.dumps(r, "4.2-canonical") for r in demo.generate(2, seed=7, start=3)] == five[3:]
    alone = demo.make_record(demo.record_rng(7, 4), 4)
    assert dialects.dumps(alone, "4.2-canonical") == five[4]


def test_make_record_options():
    rec = demo.make_record(random.Random(1), 3, model_class="mixconfdom")
    assert rec["model_class_label"] == "mixconfdom"
    with pytest.raises(ValueError):
        demo.make_record(random.Random(1), 0, model_class="pureneutral")
    big = demo.make_record(random.Random(5), 0, config_keys=3000)
    longest = len(big["unlabeled_config_counts_ta_ssize"]["100"]["10"])
    assert 3000 / 30 <= longest <= 3000 * 1.3
    for dur in ("10", "25", "50", "100"):
        assert sum(big["unlabeled_config_counts_ta_ssize"][dur]["20"].values()) == 20


def _oid_and_run_ids(text: str):
    oids = re.findall(r'"\$oid" ?: ?"([0-9a-f]{24})"', text)
    runs = re.findall(r'"simulation_run_id" ?: ?"(urn:uuid:[0-9a-f-]{36})"', text)
    return oids, runs


def _decompress(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        return gzip.decompress(raw)
    if path.suffix == ".bz2":
        return bz2.decompress(raw)
    if path.suffix == ".xz":
        return lzma.decompress(raw)
    if path.suffix == ".zst":
        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw),
                                                          read_across_frames=True).read()
    return raw


MAGIC = {".gz": b"\x1f\x8b", ".zst": b"\x28\xb5\x2f\xfd", ".bz2": b"BZh",
         ".xz": b"\xfd7zXZ\x00", ".json": b""}


def test_write_demo_mixed(tmp_path):
    steps = []
    files = demo.write_demo(tmp_path, n_runs=40, seed=3, progress=steps.append)
    assert sum(steps) == 40
    assert [f.parent.name for f in files] == [f"node{k}" for k in range(1, 9)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"node{k}" for k in range(1, 9))
    assert [f.suffix for f in files] == [".gz", ".zst", ".bz2", ".xz", ".json", ".gz", ".zst", ".bz2"]
    assert all(f.name.startswith("mixture_model_stats.json") for f in files)
    expected_runs = [r["simulation_run_id"] for r in demo.generate(40, seed=3)]
    seen_runs = []
    texts = []
    for f in files:
        raw = f.read_bytes()
        assert raw.startswith(MAGIC[f.suffix])
        text = _decompress(f).decode()
        texts.append(text)
        oids, runs = _oid_and_run_ids(text)
        assert len(runs) == 5 and len(set(oids)) == len(oids) == 5  # unique within a node
        seen_runs += runs
    assert seen_runs == expected_runs
    # eras cycle 2.4, 3.x, 4.2 relaxed, 4.2 canonical; node 6 is a --jsonArray export
    assert texts[0].startswith('{ "_id" : { "$oid" : "') and texts[4].startswith('{ "_id" : ')
    assert '"random_seed":{"$numberLong":"' in texts[1]
    assert re.search(r'"random_seed":\d{16,19},', texts[2])
    assert '"population_size":{"$numberInt":"100"}' in texts[3]
    assert texts[5].startswith("[{") and texts[5].endswith("}]\n") and texts[5].count("\n") == 1
    for k, text in enumerate(texts):
        if k != 5:
            assert text.count("\n") == 5 and text.endswith("}\n")
    # later nodes are two gzip members / zstd frames / bzip2 streams
    d = zlib.decompressobj(31)
    d.decompress(files[5].read_bytes())
    assert d.unused_data.startswith(b"\x1f\x8b")
    assert files[6].read_bytes().count(b"\x28\xb5\x2f\xfd") == 2
    assert files[7].read_bytes().count(b"BZh9") == 2
    # _id values repeat across nodes (one cloned machine image), as FORMAT.md warns
    assert _oid_and_run_ids(texts[0])[0][0] == _oid_and_run_ids(texts[1])[0][0]
    # every line of a JSON-lines node parses (4.2 relaxed is strict JSON)
    for line in texts[2].splitlines():
        json.loads(line)


def test_write_demo_single_era_and_compression(tmp_path):
    files = demo.write_demo(tmp_path / "a", n_runs=9, nodes=4, seed=1, eras="3.x", compression="gzip")
    assert [f.relative_to(tmp_path / "a").as_posix() for f in files] == [
        f"node{k}/mixture_model_stats.json.gz" for k in range(1, 5)]
    lines = [gzip.decompress(f.read_bytes()).decode().splitlines() for f in files]
    assert [len(x) for x in lines] == [3, 2, 2, 2]
    assert all(line.startswith('{"_id":{"$oid":"') for x in lines for line in x)
    again = demo.write_demo(tmp_path / "b", n_runs=9, nodes=4, seed=1, eras="3.x", compression="gzip")
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in again]  # deterministic
    steps = []
    parallel = demo.write_demo(tmp_path / "p", n_runs=9, nodes=4, seed=1, eras="3.x",
                               compression="gzip", workers=2, progress=steps.append)
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in parallel]
    assert sum(steps) == 9
    with pytest.raises(ValueError):
        demo.write_demo(tmp_path / "c", n_runs=1, eras="2.6")
    with pytest.raises(ValueError):
        demo.write_demo(tmp_path / "c", n_runs=1, compression="lz4")


def test_timing_documents(records):
    fields = ["_id", "script_filename", "rule_class", "pop_class", "simulation_run_id",
              "experiment_name", "elapsed_time", "run_length", "popsize"]
    timings = [demo.make_timing(run, demo.timing_rng(2024, i)) for i, run in enumerate(records[:50])]
    for run, timing in zip(records, timings):
        assert list(timing) == fields  # ctmixtures' SimulationTiming order, plus popsize
        assert isinstance(timing["_id"], ObjectId)
        assert timing["simulation_run_id"] == run["simulation_run_id"]
        assert timing["rule_class"] == run["interaction_rule_classes"]
        assert (timing["script_filename"], timing["pop_class"]) == (run["script_filename"],
                                                                     run["pop_class"])
        assert (timing["run_length"], timing["popsize"]) == (run["sample_time"],
                                                             run["population_size"])
        assert timing["experiment_name"] == "equifinality-3"
        elapsed = timing["elapsed_time"]
        assert type(elapsed) is float and 600 <= elapsed <= 7201 and not elapsed.is_integer()
    assert len({t["_id"] for t in timings}) == 50
    again = demo.make_timing(records[3], demo.timing_rng(2024, 3))
    assert again == timings[3]  # deterministic per (seed, run)


def test_write_demo_with_timing_keeps_the_runs_files(tmp_path):
    plain = demo.write_demo(tmp_path / "a", n_runs=6, nodes=2, seed=1, eras="3.x",
                            compression="gzip")
    timed = demo.write_demo(tmp_path / "b", n_runs=6, nodes=2, seed=1, eras="3.x",
                            compression="gzip", timing=True)
    assert [f.relative_to(tmp_path / "b").as_posix() for f in timed] == [
        "node1/mixture_model_stats.json.gz", "node1/simulation_timing.json.gz",
        "node2/mixture_model_stats.json.gz", "node2/simulation_timing.json.gz"]
    assert [f.read_bytes() for f in plain] == [timed[0].read_bytes(), timed[2].read_bytes()]
    lines = gzip.decompress(timed[3].read_bytes()).decode().splitlines()
    assert len(lines) == 3 and all(line.startswith('{"_id":{"$oid":"') for line in lines)
    assert '"elapsed_time":' in lines[0] and '"simulation_run_id":"urn:uuid:' in lines[0]
