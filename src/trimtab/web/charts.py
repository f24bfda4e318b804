"""Server-drawn SVG pictures: an account's weights before, at target and after a proposal.

No script and no third-party code: bars are rectangles, labels are text, and the picture
has a ``<title>`` and a ``<desc>`` listing every number, so a screen reader gets what the
eye does. Colours come from the style sheet (classes), as the page's CSP allows no inline
styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

from trimtab.service.proposal_weights import WeightRow
from trimtab.web.display import pct

WIDTH = 640
LABEL = 90
"""Room for the symbol at the left, pixels."""
VALUE = 70
"""Room for the number at a bar's end, pixels."""
BAR = 11
GAP = 3
GROUP_GAP = 12
TOP = 30
"""Room for the legend, pixels."""
SERIES = (("before", "Before"), ("target", "Target"), ("after", "After"))


def _bars(row: WeightRow) -> list[tuple[str, str, Decimal | None]]:
    return [
        ("before", "Before", row.before_pct),
        ("target", "Target", row.target_pct),
        ("after", "After", row.after_pct),
    ]


def weights_chart(rows: Sequence[WeightRow], *, title: str, ident: str) -> Markup:
    """A horizontal bar chart of ``rows``: for each symbol three bars, before, target and
    after, in percent of the account's value, each labelled with its number. ``ident``
    makes the ids of the title and description unique on the page."""
    top = max(
        [Decimal(1)] + [abs(v) for r in rows for _, _, v in _bars(r) if v is not None],
    )
    scale = (WIDTH - LABEL - VALUE) / float(top)
    group = len(SERIES) * (BAR + GAP) + GROUP_GAP
    height = TOP + group * len(rows) + 4
    tid, did = f"{ident}-title", f"{ident}-desc"
    out = [
        f'<svg class="weights" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{tid} {did}">',
        f'<title id="{tid}">{escape(title)}</title>',
        f'<desc id="{did}">'
        + escape(
            "; ".join(
                f"{r.symbol}: before {pct(r.before_pct)}, "
                + (f"target {pct(r.target_pct)}" if r.target_pct is not None else "no target")
                + f", after {pct(r.after_pct)}"
                for r in rows
            )
        )
        + "</desc>",
    ]
    x = LABEL
    for kind, name in SERIES:  # the legend
        out.append(f'<rect class="bar-{kind}" x="{x}" y="6" width="12" height="12"/>')
        out.append(f'<text x="{x + 16}" y="16">{name}</text>')
        x += 90
    for i, row in enumerate(rows):
        y0 = TOP + i * group
        mid = y0 + (len(SERIES) * (BAR + GAP)) / 2 + 4
        out.append(f'<text class="symbol" x="{LABEL - 8}" y="{mid:.1f}" text-anchor="end">')
        out.append(f"{escape(row.symbol)}</text>")
        for j, (kind, name, value) in enumerate(_bars(row)):
            y = y0 + j * (BAR + GAP)
            if value is None:
                out.append(f'<text x="{LABEL + 2}" y="{y + BAR - 1}">no target</text>')
                continue
            w = max(float(abs(value)) * scale, 0.0)
            out.append(
                f'<rect class="bar-{kind}" x="{LABEL}" y="{y}" width="{w:.1f}" height="{BAR}">'
                f"<title>{escape(row.symbol)} {name.lower()}: {pct(value)}</title></rect>"
            )
            out.append(f'<text x="{LABEL + w + 4:.1f}" y="{y + BAR - 1}">{pct(value)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
