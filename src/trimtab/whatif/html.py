"""The what-if report: one self-contained HTML file (styles and SVG charts inline, no script,
nothing fetched), readable offline and printable."""

from __future__ import annotations

from html import escape
from pathlib import Path

from trimtab.whatif.charts import drift_chart, frontier_chart, scatter_chart
from trimtab.whatif.compare import Comparison
from trimtab.whatif.report import COLUMNS, cell
from trimtab.whatif.tables import disagreement_table, summary_table

SHOWN = (*COLUMNS[:10], ("worst_account", "Worst account", "text"), *COLUMNS[10:])

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1240px;
       color: #202124; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
p.meta { color: #5f6368; margin-top: 0; }
table { border-collapse: collapse; font-size: .8rem; margin: .5rem 0; }
th, td { padding: .3rem .4rem; border-bottom: 1px solid #dadce0; text-align: right;
         white-space: nowrap; }
th { background: #f1f3f4; white-space: normal; vertical-align: bottom; }
div.wide { overflow-x: auto; } td.text, th.text { text-align: left; }
tr.before td { color: #5f6368; font-style: italic; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption, dd { color: #3c4043; font-size: .9rem; } dt { font-weight: 600; }
"""


def _book(kind: str) -> str:
    """Book totals to the dollar (the files keep the cents)."""
    return "dollars" if kind == "money" else kind


def _align(kind: str) -> str:
    return "text" if kind == "text" else "num"


def _summary(c: Comparison) -> str:
    head = "".join(f'<th class="{_align(kind)}">{escape(label)}</th>' for _, label, kind in SHOWN)
    rows = []
    for i, row in enumerate(summary_table(c).to_pylist()):
        cells = "".join(
            f'<td class="{_align(kind)}">{escape(cell(row[name], _book(kind)))}</td>'
            for name, _, kind in SHOWN
        )
        rows.append(f'<tr class="{"before" if i == 0 else "logic"}">{cells}</tr>')
    body = "".join(rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="wide">{table}</div>'


def _disagreement(c: Comparison, top: int) -> str:
    rows = disagreement_table(c, top).to_pylist()
    if not rows:
        return "<p>Every logic gives every account the same turnover and drift.</p>"
    head = (
        '<th class="text">Account</th><th>Value $</th><th>Turnover spread %</th>'
        '<th>Drift-after spread %</th><th class="text">Most turnover</th>'
        '<th class="text">Least turnover</th>'
    )
    body = "".join(
        f'<tr><td class="text">{escape(r["account_id"])}</td><td>{r["value"]:,.2f}</td>'
        f"<td>{r['turnover_spread_pct']:.2f}</td><td>{r['drift_after_spread_pct']:.2f}</td>"
        f'<td class="text">{escape(r["most_turnover"])} ({r["most_turnover_pct"]:.2f}%)</td>'
        f'<td class="text">{escape(r["least_turnover"])} ({r["least_turnover_pct"]:.2f}%)</td></tr>'
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


DEFINITIONS = """
<dl>
<dt>Turnover</dt><dd>Dollars bought plus dollars sold (order values), in dollars and in
percent of the book's value before the trades.</dd>
<dt>Largest drift</dt><dd>An account's largest difference between a security's weight and
its target, in percent of the account's value, as <code>trimtab drift</code> reports it;
after: once the logic's trades are made. Out of band: accounts with a security outside its
band.</dd>
<dt>Gains and tax</dt><dd>Realised gains of the sales, short- and long-term, from the tax
lots (zero without lots). Estimated tax: per taxable account, short- and long-term results
netted (a net loss of one kind offsets a gain of the other), each remainder taxed at its
rate; qualified accounts owe none.</dd>
<dt>Approval</dt><dd>Accounts whose proposal realises gains an approver must see.</dd>
<dt>Disagreement</dt><dd>Turnover spread: an account's largest minus smallest turnover in
percent of its value across the logics; drift-after spread likewise for its largest drift
after. The accounts with the largest turnover spread come first.</dd>
</dl>
"""


def render_report(c: Comparison, *, top: int = 10, title: str = "") -> str:
    """The report as one HTML document."""
    heading = "What-if: every trade logic over the book"
    meta = (
        f"{escape(title) + ' · ' if title else ''}{c.size:,} accounts · "
        f"book value ${float(c.value.sum()):,.2f} · {len(c.logics)} logics · tax at "
        f"{c.rates.short_term:g}% short-term, {c.rates.long_term:g}% long-term"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(heading)}</title><style>{STYLE}</style></head><body>",
        f'<h1>{escape(heading)}</h1><p class="meta">{meta}</p>',
        "<h2>Per logic</h2>",
        "<p>The first row is the book as it is; each other row is the book after that "
        "logic's trades. Dollar figures are book totals, to the dollar.</p>",
        _summary(c),
        "<h2>Turnover against drift</h2>",
        _figure(
            frontier_chart(c),
            "Each logic's turnover (percent of the book's value) and the mean of its "
            "accounts' largest drift after: lower and further left is better.",
        ),
        _figure(
            scatter_chart(c),
            "Each account's turnover (percent of its value) and largest drift after, per logic.",
        ),
        "<h2>Drift before and after</h2>",
        _figure(
            drift_chart(c),
            "How many accounts have each largest drift: grey before the trades, the line after.",
        ),
        f"<h2>Where the logics disagree most (top {top})</h2>",
        _disagreement(c, top),
        "<h2>Definitions</h2>",
        DEFINITIONS,
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(c: Comparison, path: Path, *, top: int = 10, title: str = "") -> Path:
    """:func:`render_report` written to ``path``; returns ``path``."""
    path.write_text(render_report(c, top=top, title=title), encoding="utf-8")
    return path
