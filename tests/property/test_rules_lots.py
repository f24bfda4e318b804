"""The vectorised lot relief of a batch equals relieving each position on its own."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trimtab.core.lots import (
    METHOD_CODE,
    ORDERS,
    Lot,
    LotArrays,
    LotMethod,
    relieve,
    relieve_lots,
)

AS_OF = date(2026, 11, 23)
lot_strategy = st.builds(
    Lot,
    quantity=st.integers(0, 50).map(float),
    cost_basis=st.one_of(st.none(), st.floats(1.0, 5000.0)),
    acquired=st.integers(0, 800).map(lambda d: AS_OF - timedelta(days=d)),
)


@settings(max_examples=150, deadline=None)
@given(
    positions=st.lists(
        st.tuples(st.lists(lot_strategy, min_size=1, max_size=5), st.floats(1.0, 200.0)),
        min_size=1,
        max_size=4,
    ),
    method=st.sampled_from([m for m in LotMethod if m != LotMethod.SPECIFIC]),
    fractions=st.lists(st.floats(0.0, 1.2), min_size=4, max_size=4),
    eligible_bits=st.integers(0, 2**20 - 1),
)
def test_batch_relief_equals_single(
    positions: list[tuple[list[Lot], float]],
    method: LotMethod,
    fractions: list[float],
    eligible_bits: int,
) -> None:
    k = len(positions)
    rows, slots, flat = [], [], []
    for j, (lots, _) in enumerate(positions):
        for lot in lots:
            rows.append(0)
            slots.append(j)
            flat.append(lot)
    eligible = np.array([bool(eligible_bits >> i & 1) for i in range(len(flat))])
    arrays = LotArrays(
        row=np.array(rows, dtype=np.int32),
        slot=np.array(slots, dtype=np.int32),
        quantity=np.array([lot.quantity for lot in flat]),
        basis=np.array([np.nan if lot.cost_basis is None else lot.cost_basis for lot in flat]),
        acquired=np.array([lot.acquired.toordinal() for lot in flat], dtype=np.int64),
        rank=np.full(len(flat), np.inf),
    )
    free = np.zeros((1, k))
    np.add.at(free, (0, np.array(slots)), arrays.quantity * eligible)
    sold = np.floor(free * np.array(fractions[:k])[None, :]).clip(0, free)
    price = np.array([[p for _, p in positions]])
    done = relieve_lots(
        arrays, eligible, sold, price, np.array([METHOD_CODE[method]], dtype=np.int8), AS_OF
    )
    start = 0
    for j, (lots, p) in enumerate(positions):
        ok = list(eligible[start : start + len(lots)])
        single = relieve(lots, ok, float(sold[0, j]), p, AS_OF, ORDERS[method])
        got = done.quantity[start : start + len(lots)]
        want = np.zeros(len(lots))
        for r in single.reliefs:
            want[r.index] += r.quantity
        np.testing.assert_allclose(got, want, atol=1e-9)
        gains = done.gain[start : start + len(lots)]
        long = done.long_term[start : start + len(lots)]
        known = ~np.isnan(gains)
        assert abs(gains[known & long].sum() - single.long_term_gain) < 1e-6
        assert abs(gains[known & ~long].sum() - single.short_term_gain) < 1e-6
        start += len(lots)
