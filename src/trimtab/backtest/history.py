"""The backtest's inputs besides the book: a daily price history and cash flows.

Price history (CSV or Parquet): ``date``, ``symbol``, ``close`` (dollars per share, > 0),
optional ``dividend`` (dollars per share paid in cash on that date, >= 0). Every symbol of
the book needs a close on every date of the history; the dates are the market days replayed.
Symbols the book does not know are ignored.

Cash flows (CSV or Parquet): ``date``, ``account_id``, ``amount`` (dollars, positive a
deposit, negative a withdrawal; rounded to the cent). A flow is booked at the close of the
first history date on or after its date.

Errors name ``file row N column C`` (row 1 is the first row after the header).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.errors import BookError
from trimtab.io.arrow import as_numpy
from trimtab.io.tables import Column, first_row, numbers, read_table, require_values

Dollars = npt.NDArray[np.float64]
Days = npt.NDArray[np.datetime64]

HISTORY_COLUMNS = [
    Column("date", pa.date32()),
    Column("symbol", pa.string(), key=True),
    Column("close", pa.float64()),
    Column("dividend", pa.float64(), required=False, nullable=True),
]
FLOW_COLUMNS = [
    Column("date", pa.date32()),
    Column("account_id", pa.string(), key=True),
    Column("amount", pa.float64()),
]


@dataclass(frozen=True, slots=True)
class PriceHistory:
    """Closes and dividends by day and symbol code of a book.

    Attributes:
        days: the market days, ascending, (T,) ``datetime64[D]``.
        close: dollars per share, (T, S + 1); the last column is 1.0 (padding slots).
        dividend: dollars per share paid on the day, (T, S + 1); 0 on padding.
    """

    days: Days
    close: Dollars
    dividend: Dollars

    @property
    def size(self) -> int:
        """Number of days."""
        return int(self.days.shape[0])


@dataclass(frozen=True, slots=True)
class CashFlows:
    """Deposits (+) and withdrawals (-) in dollars, each on its day index and account code."""

    day: npt.NDArray[np.int64]
    account: npt.NDArray[np.int64]
    amount: Dollars

    @staticmethod
    def none() -> CashFlows:
        """No flows."""
        return CashFlows(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))

    def on(self, t: int, n: int) -> Dollars:
        """Dollars flowing into each of ``n`` accounts on day ``t``, (N,)."""
        lo, hi = np.searchsorted(self.day, [t, t + 1])
        out = np.bincount(self.account[lo:hi], weights=self.amount[lo:hi], minlength=n)
        return out.astype(np.float64)


def _codes(values: pa.ChunkedArray, names: pa.Array) -> npt.NDArray[np.int64]:
    """Index of each value in ``names``, -1 where absent."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(pa.string())
    found = pc.index_in(values, value_set=names)
    codes: npt.NDArray[np.int64] = as_numpy(pc.fill_null(found, -1)).astype(np.int64)
    return codes


def read_history(path: Path, symbols: tuple[str, ...]) -> PriceHistory:
    """The history at ``path`` laid on the book's ``symbols`` (sorted). Raises
    :class:`BookError` naming the file, row and column."""
    label = path.name
    if not path.is_file():
        raise BookError(str(path), "no such file")
    table = read_table(path, HISTORY_COLUMNS)
    if table.num_rows == 0:
        raise BookError(label, "no rows: the table has a header only")
    require_values(label, table, ["date", "symbol", "close"])
    close = numbers(label, table, "close")
    bad = ~(close > 0)
    if bad.any():
        r = first_row(bad)
        raise BookError(
            f"{label} row {r} column close", f"must be greater than 0, got {close[r - 1]:g}"
        )
    if "dividend" in table.column_names:
        div = np.nan_to_num(as_numpy(table.column("dividend")), nan=0.0)
        bad = ~np.isfinite(div) | (div < 0)
        if bad.any():
            r = first_row(bad)
            raise BookError(
                f"{label} row {r} column dividend",
                f"must be a number at least 0, got {div[r - 1]:g}",
            )
    else:
        div = np.zeros(table.num_rows)
    sym = _codes(table.column("symbol"), pa.array(symbols, pa.string()))
    day_number = as_numpy(table.column("date").cast(pa.int32())).astype(np.int64)
    keep = sym >= 0
    days = np.unique(day_number[keep])
    s = len(symbols)
    t = np.searchsorted(days, day_number)
    rows = np.flatnonzero(keep)
    _, first = np.unique(t[rows] * s + sym[rows], return_index=True)
    if first.size < rows.size:
        seen = np.zeros(rows.size, dtype=bool)
        seen[first] = True
        r = int(rows[np.flatnonzero(~seen)[0]]) + 1
        raise BookError(
            f"{label} row {r} column symbol",
            f"duplicate key (date={table.column('date')[r - 1].as_py()}, "
            f"symbol={table.column('symbol')[r - 1].as_py()})",
        )
    closes = np.full((days.size, s + 1), np.nan)
    closes[:, s] = 1.0
    dividends = np.zeros((days.size, s + 1))
    closes[t[keep], sym[keep]] = close[keep]
    dividends[t[keep], sym[keep]] = div[keep]
    missing = np.isnan(closes)
    if missing.any():
        d, k = np.argwhere(missing)[0]
        when = days[d].astype("datetime64[D]")
        raise BookError(
            f"{label} column symbol",
            f"no close for {symbols[k]!r} on {when} (every symbol of the book needs a close on "
            "every date)",
        )
    if days.size < 2:
        raise BookError(f"{label} column date", "needs at least two dates")
    return PriceHistory(days=days.astype("datetime64[D]"), close=closes, dividend=dividends)


def read_flows(path: Path, account_ids: list[str], days: Days) -> CashFlows:
    """The cash flows at ``path`` by day index of ``days`` and account code. Raises
    :class:`BookError` naming the file, row and column."""
    label = path.name
    if not path.is_file():
        raise BookError(str(path), "no such file")
    table = read_table(path, FLOW_COLUMNS)
    require_values(label, table, ["date", "account_id", "amount"])
    amount = np.round(numbers(label, table, "amount"), 2)
    account = _codes(table.column("account_id"), pa.array(account_ids))
    if (account < 0).any():
        r = first_row(account < 0)
        raise BookError(
            f"{label} row {r} column account_id",
            f"unknown account {table.column('account_id')[r - 1].as_py()!r}",
        )
    day_number = as_numpy(table.column("date").cast(pa.int32())).astype(np.int64)
    numbers_of_days = days.astype(np.int64)
    outside = (day_number < numbers_of_days[0]) | (day_number > numbers_of_days[-1])
    if outside.any():
        r = first_row(outside)
        raise BookError(
            f"{label} row {r} column date",
            f"{table.column('date')[r - 1].as_py()} is outside the price history "
            f"({days[0]} to {days[-1]})",
        )
    t = np.searchsorted(numbers_of_days, day_number)
    order = np.argsort(t, kind="stable")
    return CashFlows(day=t[order], account=account[order], amount=amount[order])
