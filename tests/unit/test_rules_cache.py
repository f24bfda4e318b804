"""Rules prepared once per book (``SlotRules.prepared``) and cut into chunks apply exactly as
the rules themselves: the same sell limits, rule flags and eligible lots, on many accounts
whose positions have several lots under price-dependent locks (sell limits to rounding: the
free shares are summed in another order)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from trimtab.core.batch import AccountBatch
from trimtab.core.engine import Method, propose
from trimtab.core.lots import LotArrays
from trimtab.core.rules import SlotRules, apply_slot_rules, realise

N, K, LOTS = 300, 6, 3
AS_OF = date(2026, 11, 23)


def random_book(seed: int) -> tuple[AccountBatch, SlotRules]:
    rng = np.random.default_rng(seed)
    valid = np.ones((N, K), dtype=bool)
    quantity = np.round(rng.random((N, K)) * 100) * (rng.random((N, K)) < 0.8)
    price = rng.choice([5.0, 20.0, 80.0], (N, K))
    target = np.full((N, K), 0.9 / K)
    batch = AccountBatch(
        price=price,
        quantity=quantity,
        target=target,
        lower=target * 0.9,
        upper=target * 1.1,
        in_model=valid,
        valid=valid,
        cash=rng.random(N) * 500,
        cash_target=np.full(N, 0.1),
        sell_limit=quantity,
        buy_allowed=valid,
    )
    rows, cols = np.nonzero(quantity > 0)
    m = rows.size * LOTS
    shares = np.repeat(quantity[rows, cols] / LOTS, LOTS)
    # Some positions' lots fall short of the holding; some lots have no basis.
    shares *= np.where(rng.random(m) < 0.05, 0.5, 1.0)
    basis = shares * np.repeat(price[rows, cols], LOTS) * rng.uniform(0.5, 1.5, m)
    basis[rng.random(m) < 0.05] = np.nan
    none = SlotRules.none(N, K)
    rules = SlotRules(
        restrictions=none.restrictions,
        elective=rng.random((N, K)) < 0.05,
        gain_lock=rng.random((N, K)) < 0.3,
        basis_unlocked=rng.random((N, K)) < 0.1,
        wash_window=rng.random((N, K)) < 0.3,
        wash_buy=none.wash_buy,
        short_term=none.short_term,
        hold=none.hold,
        ruled=np.ones(N, dtype=bool),
        method=rng.integers(0, 4, N).astype(np.int8),
        lots=LotArrays(
            row=np.repeat(rows, LOTS).astype(np.int32),
            slot=np.repeat(cols, LOTS).astype(np.int32),
            quantity=shares,
            basis=basis,
            acquired=rng.integers(730_000, 740_000, m).astype(np.int64),
            rank=np.full(m, np.inf),
        ),
    )
    return batch, rules


@pytest.mark.parametrize("seed", range(10))
def test_prepared_rules_apply_as_the_rules_do(seed: int) -> None:
    batch, rules = random_book(seed)
    prepared = rules.prepared()
    source = prepared.lots.source
    assert source is not None
    for start, stop in ((0, N), (0, 97), (97, 250), (250, N)):
        chunk = batch.rows(start, stop)
        plain = apply_slot_rules(chunk, rules.rows(start, stop))
        fast = apply_slot_rules(chunk, prepared.rows(start, stop))
        # Free shares are summed in another order: equal to rounding, but never below
        # nothing, and nothing where every lot is held back.
        np.testing.assert_allclose(fast.batch.sell_limit, plain.batch.sell_limit, rtol=1e-13)
        assert (fast.batch.sell_limit >= 0).all()
        assert (fast.batch.sell_limit[plain.batch.sell_limit == 0] == 0).all()
        np.testing.assert_array_equal(fast.rule_reason, plain.rule_reason)
        a, b = np.searchsorted(prepared.lots.row, (start, stop))
        lots = rules.lots.row
        c = np.searchsorted(lots, start)
        np.testing.assert_array_equal(fast.lot_eligible, plain.lot_eligible[source[a:b] - c])
    # The price-dependent locks did hold lots back and flag positions.
    assert (plain.batch.sell_limit < chunk.quantity).any()


@pytest.mark.parametrize("seed", range(5))
def test_prepared_rules_relieve_the_same_lots(seed: int) -> None:
    batch, rules = random_book(seed)
    prepared = rules.prepared()
    source = prepared.lots.source
    assert source is not None
    sold = 0
    for start, stop in ((0, 97), (97, 250), (250, N)):
        chunk = batch.rows(start, stop)
        plain = apply_slot_rules(chunk, rules.rows(start, stop))
        fast = apply_slot_rules(chunk, prepared.rows(start, stop))
        proposal = propose(fast.batch, Method.REBALANCE_TO_TARGET)
        a = int(np.searchsorted(prepared.lots.row, start))
        c = int(np.searchsorted(rules.lots.row, start))
        mine, theirs = realise(proposal, fast, AS_OF), realise(proposal, plain, AS_OF)
        assert mine.keys() == theirs.keys()
        for key, sale in mine.items():
            other = theirs[key]
            # The same lots (by their index in the book's lots), shares and gains.
            assert [source[a + r.index] - c for r in sale.reliefs] == [
                r.index for r in other.reliefs
            ]
            assert [r.quantity for r in sale.reliefs] == [r.quantity for r in other.reliefs]
            assert sale.short_term_gain == pytest.approx(other.short_term_gain, abs=1e-6)
            assert sale.long_term_gain == pytest.approx(other.long_term_gain, abs=1e-6)
        sold += len(mine)
    assert sold > 100
