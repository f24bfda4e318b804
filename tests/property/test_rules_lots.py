"""The vectorised lot relief of a batch equals relieving each position on its own."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference.lots import ORDERS, relieve
from trimtab.core.lots import (
    METHOD_CODE,
    Lot,
    LotArrays,
    LotMethod,
    in_relief_order,
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
    method=st.sampled_from(list(LotMethod)),
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
        source=np.arange(len(flat), dtype=np.int64),
    )
    free = np.zeros((1, k))
    np.add.at(free, (0, np.array(slots)), arrays.quantity * eligible)
    sold = np.floor(free * np.array(fractions[:k])[None, :]).clip(0, free)
    price = np.array([[p for _, p in positions]])
    code = np.array([METHOD_CODE[method]], dtype=np.int8)
    done = relieve_lots(arrays, eligible, sold, price, code, AS_OF)
    # Lots put in relief order once (as a book's are) relieve the same lots the same way.
    ordered = in_relief_order(arrays, code, k)
    assert ordered.source is not None
    again = relieve_lots(ordered, eligible[ordered.source], sold, price, code, AS_OF)
    assert ordered.source[again.index].tolist() == done.index.tolist()
    np.testing.assert_array_equal(again.quantity, done.quantity)
    np.testing.assert_array_equal(again.gain, done.gain)
    start = 0
    for j, (lots, p) in enumerate(positions):
        ok = list(eligible[start : start + len(lots)])
        single = relieve(lots, ok, float(sold[0, j]), p, AS_OF, ORDERS[method])
        mine = (done.index >= start) & (done.index < start + len(lots))
        # The same lots, in the same order, the same shares and gains, as one position's relief.
        assert (done.index[mine] - start).tolist() == [r.index for r in single.reliefs]
        np.testing.assert_allclose(
            done.quantity[mine], [r.quantity for r in single.reliefs], atol=1e-9
        )
        gains = done.gain[mine]
        long = done.long_term[mine]
        assert long.tolist() == [r.long_term for r in single.reliefs]
        known = ~np.isnan(gains)
        assert abs(gains[known & long].sum() - single.long_term_gain) < 1e-6
        assert abs(gains[known & ~long].sum() - single.short_term_gain) < 1e-6
        start += len(lots)
