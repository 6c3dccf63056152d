"""The export CSV reader: headers and eras, both splitting paths, errors with their line."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
from pathlib import Path

import pytest
import zstandard

from warehouse.errors import WarehouseError
from warehouse.formats import csvfile
from warehouse.profiles.ctmixtures.csv import headers as exportcsv
from warehouse.pipeline.loading import detect
from warehouse.sources import open_source


def csv_text(header, rows, quoting=csv.QUOTE_ALL, terminator="\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=quoting, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def read(path: Path):
    """(format, [(line, row)]) of a file, through the opener and the sniffer."""
    with open_source(path) as opened:
        detected = detect(opened.stream, path)
        rows = []
        for record in detected.records:
            chunk = record.document
            assert record.line == chunk.first_line
            assert record.collection == f"csv:{chunk.file.kind}"
            rows += [(chunk.line(i), row) for i, row in enumerate(chunk.rows)]
        return detected.format, rows


def sample_rows(n: int, width: int) -> list[list[str]]:
    return [[f"urn:uuid:{i}", "allneutral"] + [f"{i}.{j}5" for j in range(width - 2)]
            for i in range(n)]


@pytest.mark.parametrize("header,kind,era", [
    (exportcsv.SIMULATION, "simulation", "2.5"),
    (exportcsv.POPULATION_25, "population", "2.5"),
    (exportcsv.POPULATION_2014, "population", "2014-10"),
    (exportcsv.SAMPLED, "sampled", "2.5"),
    (exportcsv.TASAMPLED_25, "tasampled", "2.5"),
    (exportcsv.TASAMPLED_2014, "tasampled", "2014-10"),
    (exportcsv.SLATKIN_LOCUS, "pop-slatkin-locus", "2014-10"),
    (exportcsv.RICHNESS_LOCUS, "pop-richness-locus", "2014-10"),
])
def test_header_tells_kind_and_era_whatever_the_name(tmp_path, header, kind, era):
    path = tmp_path / "mixture_model_stats.json"  # a misleading name: the content decides
    path.write_text(csv_text(header, sample_rows(3, len(header))))
    form, rows = read(path)
    assert form == f"csv-{kind}-{era}"
    assert [line for line, _ in rows] == [2, 3, 4]
    assert rows[1][1][0] == "urn:uuid:1" and len(rows[1][1]) == len(header)


def test_header_counts_match_format_md():
    assert len(exportcsv.SIMULATION) == 18 and exportcsv.SIMULATION.count("network_class") == 2
    assert len(exportcsv.POPULATION_25) == 26 and len(exportcsv.POPULATION_2014) == 19
    assert len(exportcsv.SAMPLED) == 18
    assert len(exportcsv.TASAMPLED_25) == 28 and len(exportcsv.TASAMPLED_2014) == 24
    assert exportcsv.TASAMPLED_2014[-1] == "kandler_locus_mean_tassize"
    assert "slatkin_locus_mean" not in exportcsv.POPULATION_2014


def test_sampled_era_is_told_by_the_first_row(tmp_path):
    header = exportcsv.SAMPLED
    good = sample_rows(2, len(header))
    buggy = [row[:] for row in good]
    for row in buggy:  # entropy max and mean empty: the 2014-10 exporter
        row[header.index("entropy_locus_max")] = row[header.index("entropy_locus_mean")] = ""
    (tmp_path / "a.csv").write_text(csv_text(header, good))
    (tmp_path / "b.csv").write_text(csv_text(header, buggy))
    assert read(tmp_path / "a.csv")[0] == "csv-sampled-2.5"
    assert read(tmp_path / "b.csv")[0] == "csv-sampled-2014-10"
    assert exportcsv.sampled_2014_row(header, buggy[0])
    assert not exportcsv.sampled_2014_row(header, good[0])


def test_unknown_header_is_an_error_at_line_1_listing_the_expected(tmp_path):
    path = tmp_path / "B-population-data.csv"
    path.write_text('"simulation_run_id","model_class_label","something_else"\n"a","b","c"\n')
    with pytest.raises(WarehouseError) as caught:
        read(path)
    error = caught.value
    assert (error.path, error.line) == (str(path), 1)
    text = str(error)
    assert text.startswith(f"{path}:1: unknown CSV header (3 columns: simulation_run_id")
    assert "tasampled (2.5): simulation_run_id, model_class_label, innovation_rate, ta_duration" in text
    assert "population (2014-10)" in text and "pop-richness-locus (2014-10)" in text


def test_a_text_file_without_commas_is_not_claimed(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world\n")
    with pytest.raises(WarehouseError, match="unknown format"):
        read(path)


@pytest.mark.parametrize("quoting", [csv.QUOTE_ALL, csv.QUOTE_MINIMAL])
def test_ragged_rows_are_errors_naming_their_line(tmp_path, quoting):
    header = exportcsv.SLATKIN_LOCUS
    rows = [["urn:uuid:1", "allneutral", "0.5", "0.1"]] * 3
    text = csv_text(header, rows, quoting) + csv_text(header, [rows[0][:3]], quoting).split("\n", 1)[1]
    text += csv_text(header, rows, quoting).split("\n", 1)[1]
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(WarehouseError) as caught:
        read(path)
    assert (caught.value.line, caught.value.message) == (5, "expected 4 fields, found 3")
    long_row = [rows[0] + ["extra"]]
    path.write_text(csv_text(header, rows + long_row, quoting))
    with pytest.raises(WarehouseError) as caught:
        read(path)
    assert (caught.value.line, caught.value.message) == (5, "expected 4 fields, found 5")


def test_not_utf8_names_the_line(tmp_path):
    header = exportcsv.RICHNESS_LOCUS
    data = csv_text(header, [["urn:uuid:1", "allneutral", "0.5", "3"]] * 4).encode()
    lines = data.split(b"\n")
    lines[3] = lines[3].replace(b"allneutral", b"all\xffneutral")
    path = tmp_path / "x.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(WarehouseError) as caught:
        read(path)
    assert caught.value.line == 4 and "not UTF-8" in caught.value.message
    path.write_bytes(b'"simulation_run_id","model_\xe9"\n')
    with pytest.raises(WarehouseError) as caught:
        read(path)
    assert caught.value.line == 1 and "not UTF-8" in caught.value.message


def tricky_rows(width: int) -> list[list[str]]:
    rows = sample_rows(6, width)
    rows[1][1] = 'with "quotes", and a comma'
    rows[3][1] = "two\nlines"
    rows[4][2] = ""
    return rows


@pytest.mark.parametrize("quoting,terminator,bom,final_newline", [
    (csv.QUOTE_ALL, "\n", False, True),
    (csv.QUOTE_ALL, "\r\n", True, True),
    (csv.QUOTE_ALL, "\n", False, False),
    (csv.QUOTE_MINIMAL, "\n", False, True),
    (csv.QUOTE_MINIMAL, "\r\n", True, False),
])
def test_any_csv_dialect_reads_as_the_csv_module_reads_it(tmp_path, quoting, terminator, bom,
                                                          final_newline):
    header = exportcsv.SLATKIN_LOCUS
    plain = sample_rows(5, 4)
    rows = plain + tricky_rows(4) + plain
    text = csv_text(header, rows, quoting, terminator)
    if not final_newline:
        text = text.removesuffix(terminator)
    path = tmp_path / "x.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    form, got = read(path)
    assert form == "csv-pop-slatkin-locus-2014-10"
    assert [row for _, row in got] == rows
    lines = [line for line, _ in got]
    # the row after the two-line field starts one line later
    assert lines[:9] == [2, 3, 4, 5, 6, 7, 8, 9, 10] and lines[9] == 12


def test_chunks_cut_anywhere_keep_rows_and_lines(tmp_path, monkeypatch):
    header = exportcsv.TASAMPLED_25
    rows = sample_rows(200, len(header))
    path = tmp_path / "x.csv"
    path.write_text(csv_text(header, rows))
    whole = read(path)[1]
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 333)
    monkeypatch.setattr(csvfile, "SLOW_CHUNK_ROWS", 7)
    assert read(path)[1] == whole
    assert [line for line, _ in whole] == list(range(2, 202))
    path.write_text(csv_text(header, rows[:100] + tricky_rows(len(header)) + rows[100:]))
    chunked = read(path)[1]
    assert len(chunked) == 206 and chunked[-1] == (208, rows[-1])


def test_blank_lines_hold_no_rows(tmp_path):
    header = exportcsv.RICHNESS_LOCUS
    path = tmp_path / "x.csv"
    path.write_text(csv_text(header, [["a", "b", "1", "2"]]) + "\n" + '"c","d","3","4"\n\n')
    assert read(path)[1] == [(2, ["a", "b", "1", "2"]), (4, ["c", "d", "3", "4"])]


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress,
                                      zstandard.ZstdCompressor().compress])
def test_any_compression(tmp_path, compress):
    header = exportcsv.SAMPLED
    text = csv_text(header, sample_rows(50, len(header)))
    (tmp_path / "plain.csv").write_text(text)
    (tmp_path / "packed.bin").write_bytes(compress(text.encode()))
    assert read(tmp_path / "packed.bin") == read(tmp_path / "plain.csv")


def test_header_only_file_has_no_records(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(csv_text(exportcsv.SIMULATION, []))
    assert read(path) == ("csv-simulation-2.5", [])
