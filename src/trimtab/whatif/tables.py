"""A :class:`~trimtab.whatif.compare.Comparison` as tables: the book before and each logic's
totals (:func:`summary_table`), every account under every logic (:func:`accounts_table`),
and the accounts where the logics disagree most (:func:`disagreement_table`).

Percentages are points (12.5 means 12.5 %). Dollars are to the cent.

Disagreement: for each account, the **turnover spread** is the largest minus the smallest
turnover, in percent of the account's value, among the logics compared; the **drift-after
spread** is the same for the largest drift after the trades. Accounts are ranked by
turnover spread, then drift-after spread: at the top are the accounts whose trades depend
most on the logic chosen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trimtab.core.reasons import Status
from trimtab.whatif.compare import Comparison
from trimtab.whatif.figures import AccountFigures, failed

BEFORE = "(before)"
"""The summary's first row: the book as it is, before any logic trades."""

STATUS_NAMES = pa.array([s.label for s in Status])


def _pct(part: npt.NDArray[np.float64], whole: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = np.divide(
        part * 100.0, whole, out=np.zeros_like(part), where=whole > 0
    )
    return out


def _worst(c: Comparison, drift: npt.NDArray[np.float64]) -> str:
    if drift.size == 0:
        return ""
    return str(c.account_ids[int(np.argmax(drift))])


def _row(c: Comparison, logic: str, f: AccountFigures | None) -> dict[str, object]:
    book = float(c.value.sum())
    drift = c.max_drift_before if f is None else f.max_drift_after
    oob = c.out_of_band_before if f is None else f.out_of_band_after
    cash = c.cash_before if f is None else f.cash_after
    zero = np.zeros(c.size)
    turnover = zero if f is None else f.turnover
    return {
        "logic": logic,
        "accounts": c.size,
        "accounts_traded": 0 if f is None else int(np.count_nonzero(f.trades)),
        "trades": 0 if f is None else int(f.trades.sum()),
        "turnover": round(float(turnover.sum()), 2),
        "turnover_pct": round(float(turnover.sum()) * 100.0 / book, 4) if book > 0 else 0.0,
        "short_term_gain": 0.0 if f is None else round(float(f.short_term_gain.sum()), 2),
        "long_term_gain": 0.0 if f is None else round(float(f.long_term_gain.sum()), 2),
        "estimated_tax": 0.0 if f is None else round(float(f.estimated_tax.sum()), 2),
        "mean_drift_pct": round(float(drift.mean()) * 100.0, 4) if c.size else 0.0,
        "worst_drift_pct": round(float(drift.max(initial=0.0)) * 100.0, 4),
        "worst_account": _worst(c, drift),
        "out_of_band_accounts": int(np.count_nonzero(oob)),
        "cash": round(float(cash.sum()), 2),
        "needs_approval": 0 if f is None else int(np.count_nonzero(f.needs_approval)),
        "failed": 0 if f is None else int(np.count_nonzero(failed(f))),
    }


def summary_table(c: Comparison) -> pa.Table:
    """One row for the book before (:data:`BEFORE`), then one per logic: accounts, accounts
    traded, trades, turnover (dollars and percent of the book's value), realised short- and
    long-term gains, estimated tax, mean and worst largest drift (and the worst account),
    accounts out of band, cash, accounts needing approval, failed proposals. Drift, bands
    and cash are after the logic's trades."""
    rows = [_row(c, BEFORE, None)]
    rows += [_row(c, m.value, f) for m, f in zip(c.logics, c.figures, strict=True)]
    return pa.Table.from_pylist(rows)


def accounts_table(c: Comparison) -> pa.Table:
    """One row per account and logic, accounts in book order, logics in the order given."""
    n, m = c.size, len(c.logics)
    index = np.tile(np.arange(n, dtype=np.int32), m)

    def each(name: str) -> npt.NDArray[Any]:
        return np.concatenate([getattr(f, name) for f in c.figures]) if m else np.zeros(0)

    value = c.value[index]
    turnover = each("turnover")
    return pa.table(
        {
            "account_id": pa.DictionaryArray.from_arrays(pa.array(index), c.account_ids),
            "logic": pa.DictionaryArray.from_arrays(
                pa.array(np.repeat(np.arange(m, dtype=np.int32), n)),
                pa.array([x.value for x in c.logics], pa.string()),
            ),
            "status": pa.DictionaryArray.from_arrays(
                pa.array(each("status").astype(np.int32)), STATUS_NAMES
            ),
            "value": np.round(value, 2),
            "trades": each("trades").astype(np.int32),
            "turnover": turnover,
            "turnover_pct": np.round(_pct(turnover, value), 4),
            "short_term_gain": np.round(each("short_term_gain"), 2),
            "long_term_gain": np.round(each("long_term_gain"), 2),
            "estimated_tax": each("estimated_tax"),
            "max_drift_before_pct": np.round(c.max_drift_before[index] * 100.0, 4),
            "max_drift_after_pct": np.round(each("max_drift_after") * 100.0, 4),
            "out_of_band_before": c.out_of_band_before[index],
            "out_of_band_after": each("out_of_band_after").astype(np.int32),
            "cash_before": c.cash_before[index],
            "cash_after": each("cash_after"),
            "needs_approval": each("needs_approval").astype(bool),
        }
    )


def disagreement_table(c: Comparison, top: int = 10) -> pa.Table:
    """The ``top`` accounts with the largest turnover spread (see the module), those where
    every logic gives the same turnover and drift left out: account, value, turnover
    spread, drift-after spread, and the logics that trade most and least there."""
    names = pa.array([x.value for x in c.logics], pa.string())
    if not c.logics or c.size == 0:
        return _disagreement(c, np.zeros(0, np.intp), np.zeros((0, 0)), np.zeros((0, 0)), names)
    turnover = np.stack([_pct(f.turnover, c.value) for f in c.figures], axis=1)
    drift = np.stack([f.max_drift_after * 100.0 for f in c.figures], axis=1)
    spread = np.ptp(turnover, axis=1)
    drift_spread = np.ptp(drift, axis=1)
    order = np.lexsort((np.arange(c.size), -drift_spread, -spread))
    keep = order[(spread[order] > 0) | (drift_spread[order] > 0)][:top]
    return _disagreement(c, keep, turnover, drift, names)


def _disagreement(
    c: Comparison,
    rows: npt.NDArray[np.intp],
    turnover: npt.NDArray[np.float64],
    drift: npt.NDArray[np.float64],
    names: pa.Array,
) -> pa.Table:
    t, d = turnover[rows], drift[rows]
    most = np.argmax(t, axis=1) if t.size else np.zeros(0, np.intp)
    least = np.argmin(t, axis=1) if t.size else np.zeros(0, np.intp)
    return pa.table(
        {
            "account_id": c.account_ids.take(pa.array(rows, pa.int64())),
            "value": np.round(c.value[rows], 2),
            "turnover_spread_pct": np.round(np.ptp(t, axis=1) if t.size else np.zeros(0), 4),
            "drift_after_spread_pct": np.round(np.ptp(d, axis=1) if d.size else np.zeros(0), 4),
            "most_turnover": names.take(pa.array(most, pa.int64())),
            "most_turnover_pct": np.round(t.max(axis=1, initial=0.0), 4),
            "least_turnover": names.take(pa.array(least, pa.int64())),
            "least_turnover_pct": np.round(t.min(axis=1, initial=np.inf), 4)
            if t.size
            else np.zeros(0),
        }
    )
