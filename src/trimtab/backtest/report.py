"""The backtest's HTML report: the summary table and charts drawn with matplotlib.

One self-contained file: the charts are SVG inlined in the page, no script, no font or
style sheet fetched, so it opens offline. Charts: book value over time per run, the mean
largest drift over time per run, and turnover and estimated tax per run.
"""

from __future__ import annotations

import io
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from trimtab.backtest.run import RunResult
from trimtab.backtest.setup import Setup

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1250px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; }
table { margin: 0.8em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
th { background: #f4f4f4; vertical-align: bottom; }
td { white-space: nowrap; }
p.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0; }
"""


LABELS = {
    "policy": "Policy",
    "logic": "Logic",
    "tracking_error_pct": "Tracking error %",
    "book_tracking_error_pct": "Book tracking error %",
    "rebalance_events": "Rebalance events",
    "trades": "Trades",
    "turnover": "Turnover $",
    "turnover_pct_per_year": "Turnover % a year",
    "trading_costs": "Costs $",
    "short_term_gains": "Short-term gains $",
    "long_term_gains": "Long-term gains $",
    "estimated_tax": "Estimated tax $",
    "ending_value": "Ending value $",
    "after_tax_value": "After-tax value $",
    "mean_drift_pct": "Mean drift, points",
    "worst_drift_pct": "Worst drift, points",
}
"""Column headings of the summary table (the file columns' names spelled out)."""


def _svg(figure: Figure) -> str:
    """The figure as an SVG element (without the XML prolog), to inline in the page."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _charts(setup: Setup, results: list[RunResult], summary: pa.Table) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text stays text: small and searchable
    days = setup.history.days.astype("datetime64[D]").astype(object)
    names = [r.run.name for r in results]
    charts = []
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for r in results:
        ax.plot(days, r.value / 1e6, linewidth=1.1, label=r.run.name)
    ax.set_ylabel("book value, $ millions")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    charts.append(("Book value over time", _svg(fig)))
    plt.close(fig)

    base = next((r for r in results if r.run.method is None), results[0])
    fig, ax = plt.subplots(figsize=(10, 3.6))
    for r in results:
        ax.plot(days, (r.value - base.value) / 1e3, linewidth=1.0, label=r.run.name)
    ax.set_ylabel(f"less {base.run.name}, $ thousands")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    charts.append((f"Book value less that of {base.run.name}", _svg(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 4.2))
    for r in results:
        ax.plot(days[1:], r.mean_drift[1:], linewidth=1.0, label=r.run.name)
    ax.set_ylabel("mean largest drift, percent points")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    charts.append(("Drift over time (mean over accounts of the largest security drift)", _svg(fig)))
    plt.close(fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.5 + 0.45 * len(results) + 1))
    y = np.arange(len(results))
    turnover = summary.column("turnover_pct_per_year").to_pylist()
    tax = summary.column("estimated_tax").to_pylist()
    left.barh(y, turnover, color="#4c72b0")
    left.set_yticks(y, names, fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("turnover, percent per year")
    right.barh(y, [t / 1e3 for t in tax], color="#dd8452")
    right.set_yticks(y, [""] * len(results))
    right.invert_yaxis()
    right.set_xlabel("estimated tax, $ thousands")
    for a in (left, right):
        a.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    charts.append(("Turnover and estimated tax", _svg(fig)))
    plt.close(fig)
    return charts


TABLES = (
    (
        "policy",
        "logic",
        "rebalance_events",
        "trades",
        "turnover",
        "turnover_pct_per_year",
        "trading_costs",
        "mean_drift_pct",
        "worst_drift_pct",
    ),
    (
        "policy",
        "logic",
        "tracking_error_pct",
        "book_tracking_error_pct",
        "short_term_gains",
        "long_term_gains",
        "estimated_tax",
        "ending_value",
        "after_tax_value",
    ),
)
"""The summary shown as two tables: trading and drift, then tracking, gains and values
(dollars of $10,000 or more without cents; the files keep them)."""


def _table(summary: pa.Table, columns: tuple[str, ...]) -> str:
    head = "".join(f"<th>{escape(LABELS[c])}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(row[c])}</td>" for c in columns) + "</tr>"
        for row in summary.to_pylist()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def render_report(setup: Setup, results: list[RunResult], summary: pa.Table, title: str) -> str:
    """The report as one HTML document."""
    days = setup.history.days
    tables = "".join(_table(summary, columns) for columns in TABLES)
    figures = "".join(
        f"<h2>{escape(name)}</h2><figure>{svg}</figure>"
        for name, svg in _charts(setup, results, summary)
    )
    managed = int(setup.managed.sum())
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p>{setup.size:,} accounts ({managed:,} with rebalancing on), {days.size:,} market "
        f"days from {days[0]} to {days[-1]}.</p>"
        f"{tables}"
        "<p class='note'>Tracking error: annualised standard deviation of each account's daily "
        "return less the return of its target weights rebalanced daily, mean over accounts. "
        "Turnover: half the dollars traded over the mean book value, per year. Estimated tax: "
        "net short- and long-term gains per account and year at the given rates, qualified "
        "accounts untaxed; after-tax value is the ending value less it. Drift: each "
        "account's largest security drift at each close after the first.</p>"
        f"{figures}</body></html>"
    )
