"""What one logic's proposals do to each account: the figures the what-if adds up.

Pure numpy over the pipeline's output (:class:`~trimtab.pipeline.Proposed`). Money follows
``propose-book``'s trade rows: every trade's order value and gains are rounded to the cent
first, then added up, so an account's turnover here is the sum of its rows there.

Drift is :func:`trimtab.core.drift.drift` (what ``trimtab drift`` reports) on the account's
model as the book gives it, before the trades and after them (holdings plus the proposed
shares, cash after).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Fractions, Mask
from trimtab.core.drift import DriftResult, drift
from trimtab.core.reasons import Status
from trimtab.pipeline import Partition, Proposed

Counts = npt.NDArray[np.int32]

SHORT_TERM_RATE = 37.0
"""Percent: the default tax rate on short-term gains (the top US federal rate on ordinary
income; no state tax, no net investment income tax)."""
LONG_TERM_RATE = 20.0
"""Percent: the default tax rate on long-term gains (the top US federal rate)."""


@dataclass(frozen=True, slots=True)
class TaxRates:
    """Tax rates on realised gains, percent."""

    short_term: float = SHORT_TERM_RATE
    long_term: float = LONG_TERM_RATE


def estimated_tax(short: Dollars, long: Dollars, taxable: Mask, rates: TaxRates) -> Dollars:
    """Tax on each account's realised gains, dollars to the cent, (N,).

    Short- and long-term results are netted as on a US return: a net loss of one kind
    offsets a net gain of the other, what remains of each kind is taxed at its rate, and a
    net loss is taxed nothing (no refund, no carry-forward). Accounts not ``taxable``
    (qualified registrations) owe nothing.
    """
    short_left = np.maximum(short + np.minimum(long, 0.0), 0.0)
    long_left = np.maximum(long + np.minimum(short, 0.0), 0.0)
    tax = short_left * (rates.short_term / 100.0) + long_left * (rates.long_term / 100.0)
    out: Dollars = np.where(taxable, np.round(tax, 2), 0.0)
    return out


@dataclass(frozen=True, slots=True)
class AccountFigures:
    """One logic's proposal for each of ``N`` accounts.

    Attributes:
        status: :class:`~trimtab.core.reasons.Status` code, (N,).
        trades: trade lines (buys and sells), (N,).
        turnover: dollars bought plus sold (order values, each to the cent), (N,).
        short_term_gain, long_term_gain: realised gains, dollars (each sale's to the cent), (N,).
        estimated_tax: :func:`estimated_tax`, (N,).
        max_drift_after: largest drift from target after the trades, fraction, (N,).
        out_of_band_after: securities outside their band after the trades, (N,).
        cash_after: dollars, (N,).
        needs_approval: the proposal realises gains an approver must see, (N,).
    """

    status: npt.NDArray[np.int8]
    trades: Counts
    turnover: Dollars
    short_term_gain: Dollars
    long_term_gain: Dollars
    estimated_tax: Dollars
    max_drift_after: Fractions
    out_of_band_after: Counts
    cash_after: Dollars
    needs_approval: Mask


def drift_after(before: AccountBatch, done: Proposed) -> DriftResult:
    """Drift of the accounts of ``before`` once ``done``'s trades are made."""
    p = done.proposal
    return drift(replace(before, quantity=before.quantity + p.quantity, cash=p.cash_after))


def account_figures(
    before: AccountBatch, part: Partition, done: Proposed, rates: TaxRates
) -> AccountFigures:
    """The figures of ``done``, the proposals for ``part`` whose accounts were ``before``
    (the book's batch, its targets and bands as the model gives them)."""
    p = done.proposal
    traded = p.quantity != 0
    short = np.where(traded, np.round(done.short_term_gain, 2), 0.0).sum(axis=1)
    long = np.where(traded, np.round(done.long_term_gain, 2), 0.0).sum(axis=1)
    taxable = np.ones(part.size, bool) if part.qualified is None else ~part.qualified
    after = drift_after(before, done)
    return AccountFigures(
        status=p.status.astype(np.int8),
        trades=traded.sum(axis=1, dtype=np.int32),
        turnover=np.where(traded, np.round(np.abs(p.order_value), 2), 0.0).sum(axis=1),
        short_term_gain=short,
        long_term_gain=long,
        estimated_tax=estimated_tax(short, long, taxable, rates),
        max_drift_after=after.max_drift,
        out_of_band_after=after.out_of_band,
        cash_after=np.round(p.cash_after, 2),
        needs_approval=done.needs_approval.copy(),
    )


def concat_figures(parts: list[AccountFigures]) -> AccountFigures:
    """The figures of consecutive groups of accounts as one."""
    if not parts:
        none, count = np.zeros(0), np.zeros(0, np.int32)
        return AccountFigures(
            np.zeros(0, np.int8),
            count,
            none,
            none,
            none,
            none,
            none,
            count,
            none,
            np.zeros(0, bool),
        )
    return AccountFigures(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(parts[0])}
    )


def failed(figures: AccountFigures) -> Mask:
    """Accounts whose proposal failed, (N,)."""
    out: Mask = figures.status == Status.FAILED
    return out
