"""Household rebalance on the three-account example of the Fidelity document (``003_…``).

Every expected number is typed from the seed's tables or worked out by hand from them:
household value $10,000,000; model IBM, MSFT, GE, HD, GOOG at 20% (15%–25%) each.
"""

from __future__ import annotations

import numpy as np
import pytest

from trimtab.core.batch import AccountBatch, make_batch
from trimtab.core.household import CASH, household_rebalance, household_weights
from trimtab.core.rounding import round_plan

SYMBOLS = ["IBM", "MSFT", "GE", "HD", "GOOG", "AMAT"]
PRICE = [125.0, 40.0, 32.0, 100.0, 250.0, 20.0]
# Shares held by Account A, B, C (seed tables), in SYMBOLS order.
HELD = [
    [6400, 5000, 21875, 23000, 4000, 0],
    [2400, 35000, 15625, 0, 3200, 0],
    [1200, 27500, 3125, 0, 200, 30000],
]


def _household() -> tuple[AccountBatch, np.ndarray, np.ndarray]:
    n, k = 3, 6
    target = np.zeros((n, k))
    target[:, :5] = 0.20
    in_model = np.zeros((n, k), dtype=bool)
    in_model[:, :5] = True
    valid = in_model.copy()
    valid[2, 5] = True  # only Account C holds AMAT
    batch = make_batch(
        price=np.tile(PRICE, (n, 1)),
        quantity=np.array(HELD, dtype=np.float64),
        target=target,
        lower=np.where(in_model, 0.15, 0.0),
        upper=np.where(in_model, 0.25, 0.0),
        in_model=in_model,
        valid=valid,
        cash=np.zeros(n),
        cash_target=np.zeros(n),
    )
    symbol = np.where(valid, np.arange(k, dtype=np.int32)[None, :], -1).astype(np.int32)
    return batch, symbol, np.zeros(n, dtype=np.int32)


def test_pairs_follow_the_seed() -> None:
    batch, symbol, household = _household()
    pairs = household_rebalance(batch, symbol, household).pairs
    code = {s: i for i, s in enumerate(SYMBOLS)}
    # Pair No. 1-6 of the seed: (account, sell, buy, change in % of the household).
    seed = [
        (2, "AMAT", "IBM", 6.0),
        (0, "MSFT", "IBM", 1.5),
        (0, "MSFT", "GE", 0.5),
        (1, "MSFT", "GE", 5.0),
        (0, "HD", "GE", 1.5),
        (0, "HD", "GOOG", 1.5),
    ]
    got = [(p.row, p.sell, p.buy, p.dollars / 10_000_000 * 100) for p in pairs]
    assert [g[:3] for g in got] == [(a, code[s], code[b]) for a, s, b, _ in seed]
    assert [g[3] for g in got] == pytest.approx([w for *_, w in seed])
    assert all(p.sell != CASH and p.buy != CASH for p in pairs)


def test_final_trades_weights_and_values() -> None:
    batch, symbol, household = _household()
    hp = household_rebalance(batch, symbol, household)
    rounded = round_plan(batch, hp.plan, unit=1.0, min_trade_value=0.0)
    # Shares by hand: e.g. Account A buys GE 2% of $10M = $200,000 / $32 = 6,250.
    want = np.array(
        [
            [1200, -5000, 6250, -3000, 600, 0],
            [0, -12500, 15625, 0, 0, 0],
            [4800, 0, 0, 0, 0, -30000],
        ],
        dtype=np.float64,
    )
    np.testing.assert_array_equal(rounded.quantity, want)
    assert int((rounded.quantity != 0).sum()) <= 9
    np.testing.assert_allclose(rounded.cash_after, 0.0, atol=1e-9)
    before = (batch.quantity * batch.price).sum(axis=1)
    after = ((batch.quantity + rounded.quantity) * batch.price).sum(axis=1) + rounded.cash_after
    np.testing.assert_allclose(before, [5_000_000, 3_000_000, 2_000_000])
    np.testing.assert_allclose(after, before)
    rows = np.arange(3)
    w_before, _ = household_weights(batch.quantity * batch.price, batch.cash, symbol, rows)
    w_after, cash_w = household_weights(
        (batch.quantity + rounded.quantity) * batch.price, rounded.cash_after, symbol, rows
    )
    assert [w_before[i] * 100 for i in range(6)] == pytest.approx([12.5, 27, 13, 23, 18.5, 6])
    assert [w_after[i] * 100 for i in range(6)] == pytest.approx([20, 20, 20, 20, 20, 0])
    assert cash_w == 0.0
