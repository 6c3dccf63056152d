"""`warehouse report`: one self-contained HTML page picturing what a warehouse holds.

Sections: what was loaded (runs, files, nodes), runs per model class and node,
parameter coverage by model class, distributions of the population census
statistics, and the problems the warehouse records (tables such as
``disagreement``, ``csv_correction``, ``conflict`` or a failure table), shown
only when the warehouse has them. Every figure is written as a PNG file and
inlined in ``index.html`` as base64, so the page can be mailed on its own.
"""

from __future__ import annotations

import base64
import html
import io
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import __version__
from .frames import connect, read_view

PARAMETERS = ("innovation_rate", "conformism_strength", "anticonformism_strength")
CENSUS_STATISTICS = (
    ("num_trait_configurations", "trait configurations"),
    ("config_entropy", "configuration entropy"),
    ("richness_locus_mean", "richness, mean over loci"),
    ("entropy_locus_mean", "entropy, mean over loci"),
    ("iqv_locus_mean", "IQV, mean over loci"),
    ("slatkin_locus_mean", "Slatkin exact p, mean over loci"),
    ("kandler_locus_mean", "Kandler survivors, mean over loci"),
    ("neiman_tf_locus_mean", "Neiman t_f, mean over loci"),
)
PROBLEM_TABLE = re.compile(r"fail|conflict|disagree|correction|skipped")
PROBLEM_ROWS_SHOWN = 20


@dataclass
class Page:
    """The report being written: HTML fragments and the PNG files behind them."""

    out: Path
    parts: list[str] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)

    def figure(self, fig: Figure, name: str, alt: str) -> None:
        """Write ``fig`` as ``name``.png and inline it in the page."""
        buffer = io.BytesIO()
        FigureCanvasAgg(fig).print_png(buffer)
        data = buffer.getvalue()
        path = self.out / f"{name}.png"
        path.write_bytes(data)
        self.images.append(path)
        encoded = base64.b64encode(data).decode("ascii")
        self.add(f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}" '
                 f'title="{html.escape(name)}.png">')


def report(db: str | Path, out_dir: str | Path) -> Path:
    """Write ``out_dir``/index.html (and its figures as PNG files); return its path."""
    out = Path(out_dir)
    with closing(connect(db)) as con:  # a warehouse, or an error before anything is written
        out.mkdir(parents=True, exist_ok=True)
        page = Page(out)
        colors = class_colors(con)
        overview(page, con, Path(db))
        runs_per_class_and_node(page, con, colors)
        if count(con, "run"):
            parameter_coverage(page, db, colors)
            census_distributions(page, db, colors)
        problems(page, con)
    index = out / "index.html"
    index.write_text(document(Path(db).name, page.parts), encoding="utf-8")
    return index


# -- sections -----------------------------------------------------------------

def overview(page: Page, con: sqlite3.Connection, db: Path) -> None:
    facts = [
        ("runs", count(con, "run")),
        ("model classes", scalar(con, "SELECT count(DISTINCT model_class_label) FROM run")),
        ("nodes", scalar(con, "SELECT count(DISTINCT node) FROM run")),
        ("files loaded", count(con, "source")),
        ("duplicate runs skipped", scalar(con, "SELECT coalesce(sum(duplicates), 0) FROM source")),
        ("samples", count(con, "sample")),
    ]
    page.add(f"<h1>Warehouse report: {html.escape(db.name)}</h1>")
    page.add(f'<p class="note">{html.escape(str(db))}, written '
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by warehouse {__version__}.</p>")
    page.add(table(["", "count"], facts, table_id="overview"))
    ledger = con.execute("SELECT coalesce(node, '(none)'), format, compression, count(*), sum(runs) "
                         "FROM source GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
    page.add("<h2>Files loaded</h2>")
    page.add(table(["node", "format", "compression", "files", "runs"], ledger, table_id="files"))


def runs_per_class_and_node(page: Page, con: sqlite3.Connection, colors: dict[str, Any]) -> None:
    counts = con.execute("SELECT coalesce(model_class_label, '(none)'), coalesce(node, '(none)'), "
                         "count(*) FROM run GROUP BY 1, 2").fetchall()
    classes = sorted({c for c, _, _ in counts})
    nodes = sorted({n for _, n, _ in counts})
    grid = {(c, n): k for c, n, k in counts}
    rows = [[c, *(grid.get((c, n), 0) for n in nodes), sum(grid.get((c, n), 0) for n in nodes)]
            for c in classes]
    rows.append(["total", *(sum(grid.get((c, n), 0) for c in classes) for n in nodes),
                 sum(k for _, _, k in counts)])
    page.add("<h2>Runs per model class and node</h2>")
    page.add(table(["model class", *nodes, "total"], rows, table_id="runs-per-class-node",
                   total_row=True))
    if counts:
        page.figure(stacked_bars(classes, nodes, grid, colors), "runs_per_class_and_node",
                    "runs per node, stacked by model class")


def parameter_coverage(page: Page, db: str | Path, colors: dict[str, Any]) -> None:
    runs = read_view(db, "simulation_data")
    page.add("<h2>Parameter coverage</h2>")
    page.add('<p class="note">Each point is a run. Neutral runs have both conformism strengths 0.</p>')
    fig = Figure(figsize=(13, 4), layout="constrained")
    hist_axes, *scatter_axes = fig.subplots(1, 3)
    edges = shared_bins(runs["innovation_rate"])
    for label, group in runs.groupby("model_class_label", observed=True):
        rate = finite(group["innovation_rate"])
        hist_axes.hist(rate, bins=edges, histtype="step", linewidth=1.5, color=colors[label], label=label)
        for ax, name in zip(scatter_axes, PARAMETERS[1:]):
            ax.scatter(group["innovation_rate"], group[name], s=6, alpha=0.6, color=colors[label],
                       label=label, rasterized=True)
    hist_axes.set(xlabel="innovation rate (theta)", ylabel="runs", title="innovation rate")
    for ax, name in zip(scatter_axes, PARAMETERS[1:]):
        ax.set(xlabel="innovation rate (theta)", ylabel=name.replace("_", " "),
               title=name.replace("_", " "))
    hist_axes.legend(fontsize="small")
    page.figure(fig, "parameter_coverage", "innovation rate histogram and conformism scatter plots")
    page.add(table(["model class", "parameter", "runs", "smallest", "largest", "distinct values"],
                   parameter_ranges(runs), table_id="parameter-ranges"))


def census_distributions(page: Page, db: str | Path, colors: dict[str, Any]) -> None:
    population = read_view(db, "population_data")
    page.add("<h2>Population census statistics</h2>")
    page.add('<p class="note">From <code>population_data</code>, one value per run at the end of '
             "the run; histograms per model class. NaN and infinite values are left out and "
             "counted below.</p>")
    fig = Figure(figsize=(13, 6.5), layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    labels = population["model_class_label"]
    left_out = []
    for ax, (column, title) in zip(axes, CENSUS_STATISTICS):
        values = floats(population[column])
        left_out.append((column, int(np.isnan(values).sum()), int(np.isinf(values).sum())))
        edges = shared_bins(values)
        for label in sorted(labels.dropna().unique()):
            ax.hist(finite(values[(labels == label).to_numpy()]), bins=edges, histtype="step",
                    linewidth=1.3, color=colors[label], label=label)
        ax.set(title=title, ylabel="runs")
    axes[0].legend(fontsize="small")
    page.figure(fig, "census_distributions", "histograms of population census statistics")
    page.add(table(["statistic", "NaN or missing", "infinite"], left_out, table_id="left-out"))


def problems(page: Page, con: sqlite3.Connection) -> None:
    """Failures, conflicts, disagreements and corrections, for the tables that exist."""
    totals = {name: count(con, name) for name in problem_tables(con)}
    if not totals:
        return
    page.add('<h2 id="problems">Recorded problems</h2>')
    page.add(table(["table", "rows"], totals.items(), table_id="problem-counts"))
    for name, rows_total in totals.items():
        if rows_total:
            problem_rows(page, con, name, rows_total)


def problem_rows(page: Page, con: sqlite3.Connection, name: str, rows_total: int) -> None:
    cursor = con.execute(f'SELECT * FROM "{name}" LIMIT {PROBLEM_ROWS_SHOWN}')
    header = [d[0] for d in cursor.description]
    page.add(f'<h3 id="problems-{html.escape(name)}"><code>{html.escape(name)}</code>: '
             f"{rows_total:,} rows</h3>")
    page.add(table(header, cursor.fetchall(), table_id=f"rows-{name}"))
    if rows_total > PROBLEM_ROWS_SHOWN:
        page.add(f'<p class="note">First {PROBLEM_ROWS_SHOWN} rows shown; all are in the table.</p>')


# -- data ---------------------------------------------------------------------

def problem_tables(con: sqlite3.Connection) -> list[str]:
    names = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [name for (name,) in names if PROBLEM_TABLE.search(name)]


def parameter_ranges(runs) -> list[tuple]:
    rows = []
    for label, group in runs.groupby("model_class_label", observed=True):
        for name in PARAMETERS:
            values = finite(group[name])
            low, high = (values.min(), values.max()) if len(values) else (None, None)
            rows.append((label, name, len(group), low, high, len(np.unique(values))))
    return rows


def floats(values) -> np.ndarray:
    """A numeric column as float64, missing values as NaN."""
    return values.to_numpy(dtype="float64", na_value=np.nan)


def finite(values) -> np.ndarray:
    values = floats(values) if hasattr(values, "to_numpy") else values
    return values[np.isfinite(values)]


def shared_bins(values, bins: int = 30) -> np.ndarray | int:
    """Bin edges over all model classes, so that their histograms compare bar by bar."""
    values = finite(values)
    return np.histogram_bin_edges(values, bins=bins) if len(values) else bins


def class_colors(con: sqlite3.Connection) -> dict[str, Any]:
    """One colour per model class, the same in every figure."""
    from matplotlib import colormaps

    labels = [label for (label,) in con.execute(
        "SELECT DISTINCT coalesce(model_class_label, '(none)') FROM run ORDER BY 1")]
    palette = colormaps["tab10"].colors  # type: ignore[attr-defined]  # a ListedColormap
    return {label: palette[i % len(palette)] for i, label in enumerate(labels)}


def count(con: sqlite3.Connection, table_name: str) -> int:
    return scalar(con, f'SELECT count(*) FROM "{table_name}"')


def scalar(con: sqlite3.Connection, sql: str) -> Any:
    return con.execute(sql).fetchone()[0]


# -- drawing and HTML ---------------------------------------------------------

def stacked_bars(classes: list[str], nodes: list[str], grid: dict[tuple[str, str], int],
                 colors: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(max(6, 0.7 * len(nodes) + 3), 4), layout="constrained")
    ax = fig.subplots()
    bottom = [0] * len(nodes)
    for c in classes:
        heights = [grid.get((c, n), 0) for n in nodes]
        ax.bar(nodes, heights, bottom=bottom, label=c, color=colors[c])
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set(xlabel="node", ylabel="runs", title="runs per node, by model class")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], table_id: str,
          total_row: bool = False) -> str:
    """An HTML table; with ``total_row`` the last row is set in bold."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    lines = ["<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows]
    if total_row and lines:
        lines[-1] = lines[-1].replace("<tr>", '<tr class="total">', 1)
    body = "".join(lines)
    return f'<table id="{html.escape(table_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        text, cls = ("" if value is None else str(value)), "text"
    elif isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iu"):
        text, cls = f"{int(value):,}", "num"
    elif isinstance(value, float) or (hasattr(value, "dtype") and value.dtype.kind == "f"):
        text, cls = f"{float(value):.6g}", "num"
    else:
        text, cls = str(value), "text"
    if len(text) > 120:
        text = text[:117] + "..."
    return f'<td class="{cls}">{html.escape(text)}</td>'


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; }
img { max-width: 100%; } .note { color: #666; font-size: 0.9em; }
"""


def document(title: str, parts: list[str]) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Warehouse report: {html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>\n" + "\n".join(parts) + "\n</body></html>\n")
