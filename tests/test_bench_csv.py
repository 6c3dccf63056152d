"""The CSV benchmark (make bench): .import, the build and the floor, side by side."""

from __future__ import annotations

import shutil

import pytest

from warehouse.bench.csv_files import _affinity, _figures, bench_csv, report


def test_the_floor_types_fields_as_the_warehouse_does():
    assert _affinity("tasampled", "sample_size") == "INTEGER"
    assert _affinity("tasampled", "config_slatkin_ta_ssize") == "REAL"
    assert _affinity("population", "model_class_label") == "TEXT"
    assert _affinity("simulation", "random_seed") == "INTEGER"
    assert _affinity("simulation", "kandler_interval") == "INTEGER"
    assert _affinity("simulation", "network_class") == "TEXT"


def test_ratios_are_import_time_over_our_time():
    figures = _figures(rows=1000, import_s=0.5, build_s=2.0, import_cpu_s=0.4, build_cpu_s=1.6,
                       floor_s=0.625)
    assert figures["ratio"] == 0.25 and figures["cpu_ratio"] == 0.25
    assert figures["floor_ratio"] == 0.8
    assert figures["import_rows_per_s"] == 2000 and figures["build_rows_per_s"] == 500


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="no sqlite3 shell on PATH")
def test_every_file_is_timed_three_ways(tmp_path):
    # enough rows for .import to outlast the shell's start-up, which is subtracted
    results = bench_csv(tmp_path, runs=400, repeats=1)
    assert set(results["files"]) == {"simulation-data", "population-data", "sampled-data",
                                     "tasampled-data"}
    for figures in [*results["files"].values(), results["all"]]:
        assert figures["rows"] > 0
        assert figures["import_s"] > 0 and figures["build_s"] > 0 and figures["floor_s"] > 0
        assert figures["floor_ratio"] > 0
    assert results["all"]["rows"] == sum(f["rows"] for f in results["files"].values())
    assert "floor ratio" in report(results)
