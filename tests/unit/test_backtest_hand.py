"""A hand-worked backtest: three securities, ten days, one account, calendar rebalancing.

The book: account X1 (non-qualified, HIFO lots, no cash) on model M1: A 50% [45, 55],
B 30% [25, 35], C 20% [15, 25]. It holds 50 A in two lots (5 shares, basis $60, bought
2026-06-01: short term in January 2027; 45 shares, basis $360, bought 2020-01-02: long
term), 30 B and 20 C (no lots: each becomes one lot bought on the first day at $10).

Closes (A, B, C); B pays a $0.50 dividend on 2026-12-29:

    day  date        A   B   C   value before/after the trade
    0    2026-12-23  10  10  10  50*10 + 30*10 + 20*10            = 1000.00
    1    2026-12-24  11  10  10  550 + 300 + 200                   = 1050.00
    2    2026-12-28  12  10  10  600 + 300 + 200                   = 1100.00
    3    2026-12-29  12  10  10  + dividend 30 * 0.50 = 15 in cash = 1115.00
    4    2026-12-30  13  10   9  650 + 300 + 180 + 15              = 1145.00
    5    2026-12-31  14  10   8  700 + 300 + 160 + 15              = 1175.00
    6    2027-01-04  15  10   8  first market day of a month: trade (below)
    7    2027-01-05  15  11   8
    8    2027-01-06  14  11   8
    9    2027-01-07  14  11   9

Monthly calendar, rebalance to target, proposed at the close of day 5 (value 1175):
A 50% = 587.50 = 41.96 shares: sell 8 (42 left); B 30% = 352.50 = 35.25: buy 5;
C 20% = 235 = 29.375: buy 9. Filled at day 6's closes: A -8 * 15 = -120.00, B 5 * 10 =
50.00, C 9 * 8 = 72.00. Costs $1 a trade and 10 bps: 3 + 242 * 0.001 = 3.242 -> 3.24.
Cash 15 + 120 - 50 - 72 - 3.24 = 9.76.

HIFO relieves the $12/share lot first: 5 shares, proceeds 75, basis 60: short-term gain
15; then 3 shares of the $8/share lot: proceeds 45, basis 24: long-term gain 21. Tax at
37% and 20%: 5.55 + 4.20 = 9.75.

Values after the trade: day 6: 42*15 + 35*10 + 29*8 + 9.76 = 1221.76; day 7: 630 + 385 +
232 + 9.76 = 1256.76; day 8: 588 + 385 + 232 + 9.76 = 1214.76; day 9: 588 + 385 + 261 +
9.76 = 1243.76. After-tax value 1243.76 - 9.75 = 1234.01. Worst drift: A at day 5,
700 / 1175 = 59.5745% against 50%: 9.5745 points.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from trimtab.backtest.app import BacktestRequest, run_backtest
from trimtab.backtest.results import summary_table
from trimtab.backtest.setup import load_setup

DAYS = [
    "2026-12-23",
    "2026-12-24",
    "2026-12-28",
    "2026-12-29",
    "2026-12-30",
    "2026-12-31",
    "2027-01-04",
    "2027-01-05",
    "2027-01-06",
    "2027-01-07",
]
CLOSES = {
    "A": [10, 11, 12, 12, 13, 14, 15, 15, 14, 14],
    "B": [10, 10, 10, 10, 10, 10, 10, 11, 11, 11],
    "C": [10, 10, 10, 10, 9, 8, 8, 8, 8, 9],
}
VALUES = [1000, 1050, 1100, 1115, 1145, 1175, 1221.76, 1256.76, 1214.76, 1243.76]
# The target weights' return each day (closes and the dividend), from the table above.
TARGET_RETURNS = [
    0.5 * 1 / 10,
    0.5 * 1 / 11,
    0.3 * 0.5 / 10,
    0.5 * 1 / 12 - 0.2 * 1 / 10,
    0.5 * 1 / 13 - 0.2 * 1 / 9,
    0.5 * 1 / 14,
    0.3 * 1 / 10,
    -0.5 * 1 / 15,
    0.2 * 1 / 8,
]


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def hand_book(tmp_path: Path) -> tuple[Path, Path]:
    book = tmp_path / "book"
    _write(
        book / "prices.csv",
        [
            {"symbol": s, "price": 10.0, "sub_asset_class": c, "asset_class": "Equity"}
            for s, c in (("A", "Large Value"), ("B", "Core Bond"), ("C", "Small Cap"))
        ],
    )
    _write(
        book / "models.csv",
        [
            {"model_id": "M1", "symbol": "A", "target_pct": 50, "min_pct": 45, "max_pct": 55},
            {"model_id": "M1", "symbol": "B", "target_pct": 30, "min_pct": 25, "max_pct": 35},
            {"model_id": "M1", "symbol": "C", "target_pct": 20, "min_pct": 15, "max_pct": 25},
        ],
    )
    _write(
        book / "accounts.csv",
        [
            {
                "account_id": "X1",
                "model_id": "M1",
                "cash": 0.0,
                "household_id": "H1",
                "registration": "non_qualified",
                "rebalancing": "true",
                "lot_method": "hifo",
            }
        ],
    )
    _write(
        book / "positions.csv",
        [
            {"account_id": "X1", "symbol": "B", "quantity": 30},
            {"account_id": "X1", "symbol": "C", "quantity": 20},
        ],
    )
    _write(
        book / "lots.csv",
        [
            {
                "account_id": "X1",
                "symbol": "A",
                "quantity": 5,
                "cost_basis": 60.0,
                "acquired": "2026-06-01",
            },
            {
                "account_id": "X1",
                "symbol": "A",
                "quantity": 45,
                "cost_basis": 360.0,
                "acquired": "2020-01-02",
            },
        ],
    )
    prices = tmp_path / "prices.csv"
    _write(
        prices,
        [
            {
                "date": d,
                "symbol": s,
                "close": float(CLOSES[s][i]),
                "dividend": 0.5 if (s == "B" and i == 3) else "",
            }
            for i, d in enumerate(DAYS)
            for s in ("A", "B", "C")
        ],
    )
    return book, prices


@pytest.fixture
def hand(tmp_path: Path) -> tuple[Path, Path]:
    return hand_book(tmp_path)


def _request(book: Path, prices: Path, policies: str) -> BacktestRequest:
    return BacktestRequest(
        book=book,
        prices=prices,
        flows=None,
        policies=policies,
        logics="rebalance_to_target",
        cost_per_trade=1.0,
        cost_bps=10.0,
    )


def test_hand_worked_monthly_rebalance(hand: tuple[Path, Path]) -> None:
    book, prices = hand
    (result,) = run_backtest(_request(book, prices, "calendar:monthly"))
    np.testing.assert_allclose(result.value, VALUES, rtol=0, atol=0.005)
    assert result.trades.tolist() == [0, 0, 0, 0, 0, 0, 3, 0, 0, 0]
    assert result.events.sum() == 1
    assert result.traded[6] == pytest.approx(242.0)
    assert result.cost == pytest.approx(3.24)
    assert result.cash_end[0] == pytest.approx(9.76)
    assert result.quantity[0, :3].tolist() == [42.0, 35.0, 29.0]  # model order A, B, C
    assert result.short_term[0] == pytest.approx(15.0)
    assert result.long_term[0] == pytest.approx(21.0)
    assert result.tax[0] == pytest.approx(9.75)
    setup = load_setup(book, prices)
    row = summary_table(setup, [result]).to_pylist()[0]
    assert row["ending_value"] == 1243.76
    assert row["after_tax_value"] == 1234.01
    assert row["worst_drift_pct"] == 9.5745
    assert row["turnover"] == 242.0


def test_hand_worked_lots(hand: tuple[Path, Path]) -> None:
    """The lots after the trade: what HIFO left of A, and a lot per buy at its dollars."""
    book, prices = hand
    (result,) = run_backtest(_request(book, prices, "calendar:monthly"))
    lots = result.lots
    found = sorted(
        (int(s), float(q), float(b), date.fromordinal(int(a)).isoformat())
        for s, q, b, a in zip(lots.slot, lots.quantity, lots.basis, lots.acquired, strict=True)
    )
    assert found == [
        (0, 42.0, 336.0, "2020-01-02"),  # 45 - 3 shares at $8
        (1, 5.0, 50.0, "2027-01-04"),
        (1, 30.0, 300.0, "2026-12-23"),  # B held at the start, at the first close
        (2, 9.0, 72.0, "2027-01-04"),
        (2, 20.0, 200.0, "2026-12-23"),
    ]


def test_hand_worked_tracking_error(hand: tuple[Path, Path]) -> None:
    """Daily active return = value return less the target weights' return; annualised."""
    book, prices = hand
    (result,) = run_backtest(_request(book, prices, "calendar:monthly"))
    values = np.array(VALUES)
    active = values[1:] / values[:-1] - 1 - np.array(TARGET_RETURNS)
    expected = float(np.std(active, ddof=1) * np.sqrt(252) * 100)
    assert result.tracking_error[0] == pytest.approx(expected, rel=1e-9)
    assert active[0] == pytest.approx(0.0)  # day 1: only A moved, the account held 50% A


def test_hold_keeps_the_hand_book(hand: tuple[Path, Path]) -> None:
    """Never trading: value is the holdings at each close plus the dividend."""
    book, prices = hand
    (result,) = run_backtest(_request(book, prices, "hold"))
    expected = [
        50 * CLOSES["A"][i] + 30 * CLOSES["B"][i] + 20 * CLOSES["C"][i] + (15 if i >= 3 else 0)
        for i in range(10)
    ]
    np.testing.assert_allclose(result.value, expected, rtol=0, atol=0.005)
    assert result.trades.sum() == 0
