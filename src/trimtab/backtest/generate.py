"""Seeded price histories for a book: correlated geometric random walks over NYSE days.

Each security's daily log return is the sum of a market factor, a factor of its sub-asset
class and its own noise, with drift and volatility by asset class (equity, fixed income,
alternative). Day 0 closes at the book's prices; closes are rounded to the cent (at least
one cent). Equities and alternatives pay a quarterly dividend, fixed income a monthly one,
on the first market day of the period, as a yield on the previous close. Nothing is fetched:
the market calendar is exchange_calendars' ``XNYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trimtab.core.book import BookArrays

TRADING_DAYS = 252

# asset class: (annual drift, annual volatility, annual dividend yield, payments per year)
ASSET_CLASSES: dict[str, tuple[float, float, float, int]] = {
    "Equity": (0.07, 0.18, 0.018, 4),
    "Fixed Income": (0.03, 0.05, 0.035, 12),
    "Alternative": (0.05, 0.15, 0.03, 4),
}
OTHER = (0.05, 0.15, 0.0, 4)
MARKET_SHARE = 0.5
"""Part of an equity's (and alternative's) variance from the market factor; fixed income
takes a fifth of it."""
CLASS_SHARE = 0.3
"""Part of the variance from the security's sub-asset-class factor; the rest is its own."""


@dataclass(frozen=True, slots=True)
class HistorySpec:
    """What to generate: years of market days from ``start``, the seed, dividends or not."""

    years: float = 10.0
    seed: int = 1
    start: date = date(2026, 11, 20)
    dividends: bool = True


def _classes(prices: pa.Table, column: str) -> list[str]:
    if column not in prices.column_names:
        return [""] * prices.num_rows
    return [v or "" for v in prices.column(column).to_pylist()]


def generate_history(prices: pa.Table, spec: HistorySpec) -> pa.Table:
    """``date, symbol, close, dividend`` rows for every symbol of a book's ``prices`` table
    (``symbol``, ``price``, optional ``sub_asset_class`` and ``asset_class``)."""
    from trimtab.service.market import market_days

    days = market_days(spec.start, round(spec.years * TRADING_DAYS) + 1)
    rng = np.random.default_rng(spec.seed)
    symbols = prices.column("symbol").to_pylist()
    first = np.asarray(prices.column("price").to_numpy(zero_copy_only=False), dtype=np.float64)
    asset = _classes(prices, "asset_class")
    sub = _classes(prices, "sub_asset_class")
    params = np.array([ASSET_CLASSES.get(a, OTHER) for a in asset])
    mu, vol, yld, per_year = params[:, 0], params[:, 1], params[:, 2], params[:, 3]
    market_share = np.where(np.array(asset) == "Fixed Income", MARKET_SHARE / 5, MARKET_SHARE)
    class_names = sorted(set(sub))
    class_code = np.array([class_names.index(c) for c in sub])
    t, s = len(days), len(symbols)
    daily_vol = vol / np.sqrt(TRADING_DAYS)
    shocks = (
        np.sqrt(market_share) * rng.standard_normal((t - 1, 1))
        + np.sqrt(CLASS_SHARE) * rng.standard_normal((t - 1, len(class_names)))[:, class_code]
        + np.sqrt(1.0 - market_share - CLASS_SHARE) * rng.standard_normal((t - 1, s))
    )
    log_return = (mu / TRADING_DAYS - daily_vol**2 / 2) + daily_vol * shocks
    path = first * np.exp(np.vstack([np.zeros((1, s)), np.cumsum(log_return, axis=0)]))
    close = np.maximum(np.round(path, 2), 0.01)
    close[0] = first
    dividend = np.zeros((t, s))
    if spec.dividends:
        dividend = _dividends(days, close, yld, per_year)
    when = np.repeat(np.array(days, dtype="datetime64[D]"), s)
    return pa.table(
        {
            "date": pa.array(when, pa.date32()),
            "symbol": pa.array(symbols * t, pa.string()),
            "close": close.ravel(),
            "dividend": dividend.ravel(),
        }
    )


def _dividends(
    days: list[date],
    close: npt.NDArray[np.float64],
    yld: npt.NDArray[np.float64],
    per_year: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Per-share dividends paid on the first market day of each month (quarter) on the
    previous close, rounded to a hundredth of a cent; none on day 0."""
    month = np.array([d.year * 12 + d.month - 1 for d in days])
    new_month = np.r_[False, month[1:] != month[:-1]]
    new_quarter = np.r_[False, month[1:] // 3 != month[:-1] // 3]
    pays = np.where(per_year[None, :] >= 12, new_month[:, None], new_quarter[:, None])
    previous = np.vstack([close[:1], close[:-1]])
    out: npt.NDArray[np.float64] = np.round(previous * (yld / per_year) * pays, 4)
    return out


def generate_flows(
    account_ids: list[str],
    value: npt.NDArray[np.float64],
    history: pa.Table,
    seed: int,
    per_year: float = 2.0,
) -> pa.Table:
    """``date, account_id, amount`` rows: about ``per_year`` flows a year per account on
    random market days of ``history`` after the first, three deposits for two withdrawals,
    each 1% to 5% of the account's starting ``value``, in whole dollars (seeded)."""
    rng = np.random.default_rng(seed)
    days = np.unique(history.column("date").to_numpy(zero_copy_only=False))[1:]
    years = days.size / TRADING_DAYS
    count = rng.poisson(per_year * years, len(account_ids))
    account = np.repeat(np.arange(len(account_ids)), count)
    when = rng.choice(days, account.size) if account.size else days[:0]
    size = np.round(value[account] * rng.uniform(0.01, 0.05, account.size))
    sign = np.where(rng.random(account.size) < 0.6, 1.0, -1.0)
    order = np.argsort(when, kind="stable")
    return pa.table(
        {
            "date": pa.array(when[order], pa.date32()),
            "account_id": pa.array([account_ids[i] for i in account[order]], pa.string()),
            "amount": (size * sign)[order],
        }
    )


def book_values(arrays: BookArrays) -> npt.NDArray[np.float64]:
    """Each account's value at the book's prices, dollars."""
    out: npt.NDArray[np.float64] = arrays.cash + (
        arrays.quantity * arrays.price[arrays.slot_symbol]
    ).sum(axis=1)
    return out
