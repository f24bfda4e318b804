"""A comparison shown and written: the terminal table (Rich) and the ``--out`` folder.

``--out DIR`` receives ``summary.csv`` / ``summary.parquet`` (:func:`summary_table`),
``accounts.csv`` / ``accounts.parquet`` (:func:`accounts_table`), ``disagreement.csv`` /
``disagreement.parquet`` (:func:`disagreement_table`) and ``report.html``
(:mod:`trimtab.whatif.html`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich import box
from rich.console import Console
from rich.table import Table

from trimtab.whatif.compare import Comparison
from trimtab.whatif.tables import accounts_table, disagreement_table, summary_table

COLUMNS: Sequence[tuple[str, str, str]] = (  # the worst account: in the files and report
    ("logic", "Logic", "text"),
    ("accounts_traded", "Accts traded", "count"),
    ("trades", "Trades", "count"),
    ("turnover", "Turnover $", "money"),
    ("turnover_pct", "Turnover %", "pct"),
    ("short_term_gain", "ST gain $", "money"),
    ("long_term_gain", "LT gain $", "money"),
    ("estimated_tax", "Est. tax $", "money"),
    ("mean_drift_pct", "Mean drift %", "pct"),
    ("worst_drift_pct", "Worst drift %", "pct"),
    ("out_of_band_accounts", "Out of band", "count"),
    ("cash", "Cash $", "money"),
    ("needs_approval", "Approval", "count"),
    ("failed", "Failed", "count"),
)
"""The summary's columns as the terminal and the HTML report show them."""


def cell(value: Any, kind: str) -> str:
    """A summary value as shown: ``money`` with separators to the cent, ``dollars`` to the
    dollar, ``pct`` to 2 places."""
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "dollars":
        return f"{value:,.0f}"
    if kind == "pct":
        return f"{value:.2f}"
    if kind == "count":
        return f"{value:,}"
    return str(value)


def print_comparison(c: Comparison, *, top: int = 10, console: Console | None = None) -> None:
    """The summary and the accounts where the logics disagree most, as Rich tables."""
    summary = summary_table(c).to_pylist()
    table = Table(
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        title=f"What-if: {c.size:,} accounts, {len(c.logics)} logics",
        caption=(
            "Drift, out of band and cash after each logic's trades; "
            f"tax at {c.rates.short_term:g}% short-term, {c.rates.long_term:g}% long-term"
        ),
    )
    cells = [
        [cell(row[name], "dollars" if kind == "money" else kind) for name, _, kind in COLUMNS]
        for row in summary
    ]
    for i, (_, label, kind) in enumerate(COLUMNS):
        # numbers whole, headers wrapped: each column as wide as its widest cell or word
        width = max([len(r[i]) for r in cells] + [len(w) for w in label.split()])
        table.add_column(
            label, justify="left" if kind == "text" else "right", min_width=width, max_width=width
        )
    for r in cells:
        table.add_row(*r)
    needed = sum(c.min_width or 0 for c in table.columns) + 3 * len(table.columns) + 2
    console = console or Console(width=max(Console().width, needed, 120))
    console.print(table)
    worst = disagreement_table(c, top).to_pylist()
    if not worst:
        return
    spread = Table(
        title="Where the logics disagree most",
        caption="Spread: largest minus smallest across the logics, points of account value",
    )
    for label in (
        "Account",
        "Value $",
        "Turnover spread %",
        "Drift-after spread %",
        "Most",
        "Least",
    ):
        spread.add_column(
            label, justify="left" if label in ("Account", "Most", "Least") else "right"
        )
    for r in worst:
        spread.add_row(
            r["account_id"],
            f"{r['value']:,.2f}",
            f"{r['turnover_spread_pct']:.2f}",
            f"{r['drift_after_spread_pct']:.2f}",
            f"{r['most_turnover']} ({r['most_turnover_pct']:.2f})",
            f"{r['least_turnover']} ({r['least_turnover_pct']:.2f})",
        )
    console.print(spread)


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns as plain text (CSV has no dictionaries)."""
    columns = [
        col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col
        for col in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def write_comparison(c: Comparison, out: Path, *, top: int = 10, title: str = "") -> list[Path]:
    """The numbers as CSV and Parquet and the HTML report in the folder ``out`` (made when
    missing); returns the files written."""
    from trimtab.whatif.html import write_report

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (
        ("summary", summary_table(c)),
        ("accounts", accounts_table(c)),
        ("disagreement", disagreement_table(c, top)),
    ):
        pq.write_table(table, out / f"{name}.parquet")
        pacsv.write_csv(_plain(table), out / f"{name}.csv")
        written += [out / f"{name}.csv", out / f"{name}.parquet"]
    written.append(write_report(c, out / "report.html", top=top, title=title))
    return written
