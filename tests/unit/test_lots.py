"""Lot relief methods, holding periods, locks on lots and realised gains (worked by hand)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from tests.reference.lots import (
    LotLocks,
    eligible_lots,
    fifo,
    hifo,
    in_given_order,
    is_long_term,
    lifo,
    minimum_tax,
    relieve,
)
from trimtab.core.lots import Lot, LotArrays, long_term_cutoff, needs_approval, relieve_lots
from trimtab.core.reasons import RuleReason

AS_OF = date(2026, 11, 23)
PRICE = 50.0
LOTS = (
    Lot(10, 300.0, date(2024, 1, 10), "old-gain"),  # $30/share: LT gain $20/share
    Lot(10, 700.0, date(2025, 6, 1), "lt-loss"),  # $70/share: LT loss $20/share
    Lot(10, 450.0, date(2026, 3, 1), "st-gain"),  # $45/share: ST gain $5/share
    Lot(10, 600.0, date(2026, 10, 1), "st-loss"),  # $60/share: ST loss $10/share
)


def ids(order: list[int]) -> list[str | None]:
    return [LOTS[i].lot_id for i in order]


def test_fifo_lifo_hifo() -> None:
    assert ids(fifo(LOTS, PRICE, AS_OF)) == ["old-gain", "lt-loss", "st-gain", "st-loss"]
    assert ids(lifo(LOTS, PRICE, AS_OF)) == ["st-loss", "st-gain", "lt-loss", "old-gain"]
    assert ids(hifo(LOTS, PRICE, AS_OF)) == ["lt-loss", "st-loss", "st-gain", "old-gain"]
    assert ids(in_given_order(LOTS, PRICE, AS_OF)) == [lot.lot_id for lot in LOTS]


def test_minimum_tax_losses_first_long_term_before_short_term() -> None:
    assert ids(minimum_tax(LOTS, PRICE, AS_OF)) == ["lt-loss", "st-loss", "old-gain", "st-gain"]


def test_long_term_is_more_than_one_year() -> None:
    assert not is_long_term(date(2025, 11, 23), date(2026, 11, 23))
    assert is_long_term(date(2025, 11, 23), date(2026, 11, 24))
    assert not is_long_term(date(2024, 2, 29), date(2025, 2, 28))
    assert is_long_term(date(2024, 2, 29), date(2025, 3, 1))


def test_vectorised_holding_period_matches_the_date_rule() -> None:
    start = date(2023, 1, 1)
    acquired = [start + timedelta(days=d) for d in range(0, 1200, 3)] + [date(2024, 2, 29)]
    for sold in (date(2025, 2, 28), date(2025, 3, 1), date(2026, 11, 23)):
        got = np.array([a.toordinal() for a in acquired]) <= long_term_cutoff(sold)
        assert got.tolist() == [is_long_term(a, sold) for a in acquired]


def test_fifo_sale_across_two_lots_splits_short_and_long_term() -> None:
    """15 shares FIFO: 10 old-gain (+$200 LT) and 5 of lt-loss (basis $350, -$100 LT)."""
    sale = relieve(LOTS, [True] * 4, 15, PRICE, AS_OF, fifo)
    assert [(r.lot_id, r.quantity) for r in sale.reliefs] == [("old-gain", 10), ("lt-loss", 5)]
    assert sale.long_term_gain == pytest.approx(100.0)
    assert sale.short_term_gain == 0.0
    assert sale.reliefs[1].cost_basis == pytest.approx(350.0)


def test_lifo_sale_is_short_term() -> None:
    """15 shares LIFO: st-loss 10 (-$100 ST), st-gain 5 (basis $225, +$25 ST)."""
    sale = relieve(LOTS, [True] * 4, 15, PRICE, AS_OF, lifo)
    assert sale.short_term_gain == pytest.approx(-75.0)
    assert sale.long_term_gain == 0.0


def test_relief_skips_ineligible_lots() -> None:
    sale = relieve(LOTS, [False, True, True, True], 10, PRICE, AS_OF, fifo)
    assert [r.lot_id for r in sale.reliefs] == ["lt-loss"]


def test_gain_lock_keeps_lots_with_gains() -> None:
    ok, why = eligible_lots(LOTS, PRICE, LotLocks(gain_lock=True))
    assert ok == [False, True, False, True]
    assert why == RuleReason.GAIN_LOCK


def test_missing_basis_locked_until_unlocked() -> None:
    lots = (Lot(5, None, date(2020, 1, 1)), Lot(5, 100.0, date(2020, 1, 1)))
    ok, why = eligible_lots(lots, PRICE, LotLocks())
    assert ok == [False, True]
    assert why == RuleReason.MISSING_BASIS
    ok, _ = eligible_lots(lots, PRICE, LotLocks(basis_unlocked=True))
    assert ok == [True, True]
    sale = relieve(lots, ok, 10, PRICE, AS_OF, fifo)
    assert sale.unknown_basis
    assert sale.long_term_gain == pytest.approx(150.0)


def test_wash_window_keeps_loss_lots() -> None:
    ok, why = eligible_lots(LOTS, PRICE, LotLocks(wash_window=True))
    assert ok == [True, False, True, False]
    assert why == RuleReason.WASH_SALE_SELL


def test_elective_lock_keeps_every_lot() -> None:
    ok, why = eligible_lots(LOTS, PRICE, LotLocks(elective=True))
    assert ok == [False] * 4
    assert why & RuleReason.ELECTIVE_LOCK


def test_specific_lots_only_named() -> None:
    ok, why = eligible_lots(LOTS, PRICE, LotLocks(specific=frozenset({"st-gain"})))
    assert ok == [False, False, True, False]
    assert why == RuleReason.SPECIFIC_LOTS


def test_approval_threshold() -> None:
    assert needs_approval(1000.0, qualified=False)
    assert not needs_approval(999.99, qualified=False)
    assert not needs_approval(5000.0, qualified=True)


def test_batch_relief_adds_shares_within_each_position_only() -> None:
    # 60,000 positions of three lots of 1000/3 shares. The last position sells exactly its
    # first two lots: summed over the whole batch the running total reaches 6e7 shares and
    # would leave the second lot short by rounding; within the position it is exact.
    n, third = 60_000, 1000.0 / 3.0
    lots = LotArrays(
        row=np.repeat(np.arange(n, dtype=np.int32), 3),
        slot=np.zeros(3 * n, dtype=np.int32),
        quantity=np.full(3 * n, third),
        basis=np.full(3 * n, 100.0),
        acquired=np.tile(np.array([1, 2, 3], dtype=np.int64) + date(2020, 1, 1).toordinal(), n),
        rank=np.full(3 * n, np.inf),
    )
    sold = np.full((n, 1), 1.0)
    sold[-1, 0] = third + third
    done = relieve_lots(
        lots,
        np.ones(3 * n, dtype=bool),
        sold,
        np.full((n, 1), 10.0),
        np.zeros(n, dtype=np.int8),
        date(2026, 11, 23),
    )
    last = done.index >= 3 * (n - 1)
    assert done.index[last].tolist() == [3 * n - 3, 3 * n - 2]
    assert done.quantity[last].tolist() == [third, third]
    assert done.quantity[~last].tolist() == [1.0] * (n - 1)
