"""The what-if report's charts, drawn with matplotlib (no window: figures are rendered
straight to SVG, points in large clouds rasterised by Agg) and returned as inline SVG text
that refers to nothing outside itself.

- :func:`drift_chart`: the distribution of each account's largest drift before the trades
  and after each logic's, one panel per logic;
- :func:`frontier_chart`: each logic's book turnover against its mean drift after, one
  point per logic (and the book before, at no turnover);
- :func:`scatter_chart`: each account's turnover against its drift after, one panel per
  logic (at most :data:`MOST_POINTS` accounts, the same ones in every panel).
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import numpy.typing as npt
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from trimtab.whatif.compare import Comparison

MOST_POINTS = 5000
"""Accounts drawn in each panel of the scatter chart (a seeded sample of larger books)."""
BEFORE_COLOUR = "#9aa0a6"
COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#393b79",
)
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "p", "h")
_PREAMBLE = re.compile(r"^.*?(?=<svg)", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')


def _svg(fig: Figure, salt: str) -> str:
    """``fig`` as SVG to put inside HTML: no XML preamble nor namespace declarations (an
    HTML page needs neither), text as text; ``salt`` keeps ids unique within the page."""
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    return _NAMESPACES.sub("", _PREAMBLE.sub("", buffer.getvalue(), count=1))


def _grid(count: int) -> tuple[int, int]:
    columns = min(3, max(count, 1))
    return math.ceil(max(count, 1) / columns), columns


def _panels(count: int, height: float, *, share_y: bool) -> tuple[Figure, list[Axes]]:
    """One panel per logic, three to a row, on the same scales (the y scale too when
    ``share_y``)."""
    rows, columns = _grid(count)
    fig = Figure(figsize=(3.6 * columns, height * rows), layout="constrained")
    grid = fig.subplots(rows, columns, squeeze=False, sharex=True, sharey=share_y)
    axes = grid.ravel().tolist()
    for ax in axes:
        ax.tick_params(labelbottom=True, labelleft=True)
    for extra in axes[count:]:
        extra.set_visible(False)
    return fig, axes[:count]


def drift_chart(c: Comparison) -> str:
    """Histograms of the largest drift per account (percent), before and after, per logic."""
    before = c.max_drift_before * 100.0
    afters = [f.max_drift_after * 100.0 for f in c.figures]
    every = np.concatenate([before, *afters]) if c.size else np.zeros(1)
    top = max(float(np.percentile(every, 99.5)), 0.5)
    bins = np.linspace(0.0, top, 41).tolist()
    fig, axes = _panels(len(c.logics), 2.6, share_y=False)
    for i, (ax, logic, after) in enumerate(zip(axes, c.logics, afters, strict=True)):
        ax.hist(np.minimum(before, top), bins=bins, color=BEFORE_COLOUR, alpha=0.55, label="before")
        colour = COLOURS[i % len(COLOURS)]
        ax.hist(
            np.minimum(after, top), bins=bins, histtype="step", lw=1.6, color=colour, label="after"
        )
        ax.set_title(logic.value, fontsize=9)
        ax.set_xlabel("largest drift, % of value", fontsize=8)
        ax.set_ylabel("accounts", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(
        f"Largest drift per account, before and after (last bin: {top:.2f}% and more)", fontsize=10
    )
    return _svg(fig, "drift")


def frontier_chart(c: Comparison) -> str:
    """Each logic's book turnover (percent of the book's value) against the mean of its
    accounts' largest drift after, with the book before at no turnover."""
    book = float(c.value.sum())
    fig = Figure(figsize=(10.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    mean_before = float(c.max_drift_before.mean()) * 100.0 if c.size else 0.0
    ax.scatter([0.0], [mean_before], s=60, color=BEFORE_COLOUR, zorder=3, label="before")
    for i, (logic, f) in enumerate(zip(c.logics, c.figures, strict=True)):
        x = float(f.turnover.sum()) * 100.0 / book if book > 0 else 0.0
        y = float(f.max_drift_after.mean()) * 100.0 if c.size else 0.0
        marker = MARKERS[i % len(MARKERS)]
        label = f"{logic.value} ({x:.2f}%, {y:.2f}%)"
        ax.scatter(
            [x], [y], s=60, marker=marker, color=COLOURS[i % len(COLOURS)], zorder=3, label=label
        )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.set_xlabel("turnover, % of the book's value")
    ax.set_ylabel("mean largest drift after, %")
    ax.set_title("Turnover against drift after, per logic", fontsize=10)
    ax.grid(alpha=0.3)
    ax.margins(x=0.08, y=0.12)
    return _svg(fig, "frontier")


def _sample(n: int) -> npt.NDArray[np.intp]:
    if n <= MOST_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, MOST_POINTS, replace=False))


def scatter_chart(c: Comparison) -> str:
    """Each account's turnover (percent of its value) against its largest drift after, one
    panel per logic, the same accounts in every panel."""
    rows = _sample(c.size)
    value = c.value[rows]
    fig, axes = _panels(len(c.logics), 2.8, share_y=True)
    for i, (ax, logic, f) in enumerate(zip(axes, c.logics, c.figures, strict=True)):
        turnover = np.divide(
            f.turnover[rows] * 100.0, value, out=np.zeros(rows.size), where=value > 0
        )
        ax.scatter(
            turnover,
            f.max_drift_after[rows] * 100.0,
            s=3,
            alpha=0.35,
            color=COLOURS[i % len(COLOURS)],
            linewidths=0,
            rasterized=True,
        )
        ax.set_title(logic.value, fontsize=9)
        ax.set_xlabel("turnover, % of account value", fontsize=8)
        ax.set_ylabel("largest drift after, %", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    shown = (
        f"{rows.size:,} of {c.size:,} accounts" if rows.size < c.size else f"{c.size:,} accounts"
    )
    fig.suptitle(f"Turnover against drift after, per account ({shown})", fontsize=10)
    return _svg(fig, "scatter")
