"""Rules prepared once per book (``SlotRules.prepared``) and cut into chunks apply exactly as
the rules themselves: the same sell limits, rule flags and eligible lots, on many accounts
whose positions have several lots under price-dependent locks (sell limits to rounding: the
free shares are summed in another order)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pytest

from trimtab.core.batch import AccountBatch
from trimtab.core.engine import Method, propose
from trimtab.core.lots import LotArrays
from trimtab.core.rules import RuledBatch, SlotRules, apply_slot_rules, realize

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


def applied(seed: int, spans: tuple[tuple[int, int], ...]) -> Iterator[Applied]:
    """For each span of a random book: the chunk, its rules applied as they are and as
    prepared, and the book index of the chunk's first lot in each (prepared, as given)."""
    batch, rules = random_book(seed)
    prepared = rules.prepared()
    for start, stop in spans:
        chunk = batch.rows(start, stop)
        plain = apply_slot_rules(chunk, rules.rows(start, stop))
        fast = apply_slot_rules(chunk, prepared.rows(start, stop))
        a = int(np.searchsorted(prepared.lots.row, start))
        c = int(np.searchsorted(rules.lots.row, start))
        yield Applied(chunk, plain, fast, prepared.lots, a, c)


class Applied(NamedTuple):
    chunk: AccountBatch
    plain: RuledBatch
    fast: RuledBatch
    lots: LotArrays  # the prepared lots of the book
    first: int
    first_given: int

    def given(self, index: npt.NDArray[np.int64]) -> list[int]:
        """The chunk's indices, among its lots as given, of its prepared lots ``index``."""
        assert self.lots.source is not None
        return (self.lots.source[self.first + index] - self.first_given).tolist()


@pytest.mark.parametrize("seed", range(10))
def test_prepared_rules_apply_as_the_rules_do(seed: int) -> None:
    done = list(applied(seed, ((0, N), (0, 97), (97, 250), (250, N))))
    for one in done:
        plain, fast = one.plain, one.fast
        # Free shares are summed in another order: equal to rounding, but never below
        # nothing, and nothing where every lot is held back.
        np.testing.assert_allclose(fast.batch.sell_limit, plain.batch.sell_limit, rtol=1e-13)
        assert (fast.batch.sell_limit >= 0).all()
        assert (fast.batch.sell_limit[plain.batch.sell_limit == 0] == 0).all()
        np.testing.assert_array_equal(fast.rule_reason, plain.rule_reason)
        mine = one.given(np.arange(fast.lot_eligible.size))
        np.testing.assert_array_equal(fast.lot_eligible, plain.lot_eligible[mine])
    # The price-dependent locks did hold lots back and flag positions.
    whole = done[0]
    assert (whole.plain.batch.sell_limit < whole.chunk.quantity).any()


@pytest.mark.parametrize("seed", range(5))
def test_prepared_rules_relieve_the_same_lots(seed: int) -> None:
    sold = 0
    for one in applied(seed, ((0, 97), (97, 250), (250, N))):
        proposal = propose(one.fast.batch, Method.REBALANCE_TO_TARGET)
        mine, theirs = realize(proposal, one.fast, AS_OF), realize(proposal, one.plain, AS_OF)
        assert mine.keys() == theirs.keys()
        for key, sale in mine.items():
            other = theirs[key]
            # The same lots (by their index in the book's lots), shares and gains.
            index = np.array([r.index for r in sale.reliefs])
            assert one.given(index) == [r.index for r in other.reliefs]
            assert [r.quantity for r in sale.reliefs] == [r.quantity for r in other.reliefs]
            assert sale.short_term_gain == pytest.approx(other.short_term_gain, abs=1e-6)
            assert sale.long_term_gain == pytest.approx(other.long_term_gain, abs=1e-6)
        sold += len(mine)
    assert sold > 100
