"""A three-account book with tax lots whose what-if figures are worked out by hand.

Prices AAA $100, BBB $50. Model M1: AAA 50% [45, 55], BBB 50% [40, 60], no cash target.
Rules are evaluated on 2026-12-01 (a lot is long-term when held more than a year).

- A1 (non-qualified): 80 AAA ($8,000) + 40 BBB ($2,000), no cash; value $10,000. AAA lots:
  20 shares for $800 bought 2020-01-02 (long-term), 60 shares for $4,800 bought 2026-09-01
  (short-term). FIFO.
- A2 (qualified): 70 AAA ($7,000) + 60 BBB ($3,000); one AAA lot, 70 shares for $3,500,
  bought 2019-05-01.
- A3 (non-qualified): 56 AAA ($5,600) + 88 BBB ($4,400); one AAA lot, 56 shares for $6,720
  ($120 a share), bought 2025-01-15.

Rebalance to target (every weight to 50%):
- A1 sells 30 AAA ($3,000) and buys 60 BBB ($3,000): turnover $6,000. FIFO relieves 20 shares
  of the 2020 lot (20 x $60 = $1,200 long-term) and 10 of the 2026 lot (10 x $20 = $200
  short-term). Tax 37% x 200 + 20% x 1,200 = $74 + $240 = $314; gains of $1,400 need approval.
- A2 sells 20 AAA, buys 40 BBB: $4,000; 20 x $50 = $1,000 long-term; qualified: no tax, no
  approval.
- A3 sells 6 AAA, buys 12 BBB: $1,200; 6 x -$20 = -$120 long-term: no tax.
- Book: 6 trades, $11,200 = 37.3333% of $30,000; short-term $200, long-term $2,080, tax $314;
  every drift after 0; cash after 0.

Rebalance to tolerance (above max: sell to target; below min: buy to min):
- A1 sells 30 AAA ($3,000, the same gains and tax), buys BBB up to 40%: $2,000, 40 shares;
  cash $1,000; turnover $5,000; BBB ends 10 points under target (on its band edge).
- A2 sells 20 AAA, buys 20 BBB ($1,000): $3,000; cash $1,000; drift after 10.
- A3 sells 6 AAA ($600); BBB (44%) is in its band: no buy; cash $600; drift after 6 (BBB).
- Book: 5 trades, $8,600 = 28.6667%; the same gains and tax; mean drift after
  (10 + 10 + 6) / 3 = 8.6667, worst 10 (A1 first); cash $2,600.

Before: largest drift A1 30 (AAA 80%), A2 20, A3 6; mean 18.6667; all three out of band.
Disagreement (turnover spread, points of account value): A1 60 - 50 = 10, A2 40 - 30 = 10,
A3 12 - 6 = 6.
"""

from __future__ import annotations

from pathlib import Path

from tests.factories import write_book

AS_OF = "2026-12-01"


def hand_book(folder: Path) -> Path:
    """The book of this module's docstring, as CSV tables in ``folder``."""
    account = {"household_id": "", "rebalancing": "true", "lot_method": "fifo"}
    return write_book(
        folder,
        prices=[{"symbol": "AAA", "price": 100.0}, {"symbol": "BBB", "price": 50.0}],
        models=[
            {"model_id": "M1", "symbol": "AAA", "target_pct": 50, "min_pct": 45, "max_pct": 55},
            {"model_id": "M1", "symbol": "BBB", "target_pct": 50, "min_pct": 40, "max_pct": 60},
        ],
        accounts=[
            {"account_id": "A1", "model_id": "M1", "cash": 0, "registration": "non_qualified"}
            | account,
            {"account_id": "A2", "model_id": "M1", "cash": 0, "registration": "qualified"}
            | account,
            {"account_id": "A3", "model_id": "M1", "cash": 0, "registration": "non_qualified"}
            | account,
        ],
        positions=[
            {"account_id": "A1", "symbol": "AAA", "quantity": 80},
            {"account_id": "A1", "symbol": "BBB", "quantity": 40},
            {"account_id": "A2", "symbol": "AAA", "quantity": 70},
            {"account_id": "A2", "symbol": "BBB", "quantity": 60},
            {"account_id": "A3", "symbol": "AAA", "quantity": 56},
            {"account_id": "A3", "symbol": "BBB", "quantity": 88},
        ],
        lots=[
            _lot("A1", 20, 800.0, "2020-01-02"),
            _lot("A1", 60, 4800.0, "2026-09-01"),
            _lot("A2", 70, 3500.0, "2019-05-01"),
            _lot("A3", 56, 6720.0, "2025-01-15"),
        ],
    )


def _lot(account: str, quantity: int, basis: float, acquired: str) -> dict[str, object]:
    return {
        "account_id": account,
        "symbol": "AAA",
        "quantity": quantity,
        "cost_basis": basis,
        "acquired": acquired,
    }
