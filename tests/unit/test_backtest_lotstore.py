"""The backtest's lot store: lots cut per account come in the core's relief order."""

from __future__ import annotations

import numpy as np

from trimtab.backtest.lotstore import LotStore
from trimtab.core.lots import in_relief_order


def _store() -> LotStore:
    # account 1 slot 0: acquired 300 then 100 (out of order in the file); account 0 slot 2
    return LotStore(
        row=np.array([1, 0, 1]),
        slot=np.array([0, 2, 0]),
        quantity=np.array([5.0, 7.0, 3.0]),
        basis=np.array([50.0, 70.0, np.nan]),
        acquired=np.array([300, 200, 100]),
        width=3,
    )


def test_lots_come_first_in_first_out_across_the_tail() -> None:
    lots = _store()
    lots.open(np.array([1, 0]), np.array([0, 1]), np.array([2.0, 4.0]), np.array([22.0, 8.0]), 400)
    cut = lots.of(np.array([0, 1]), np.zeros(2, dtype=np.int8))
    assert cut.ordered
    assert cut.row.tolist() == [0, 0, 1, 1, 1]
    assert cut.slot.tolist() == [1, 2, 0, 0, 0]
    assert cut.acquired.tolist() == [400, 200, 100, 300, 400]
    # the core's own ordering of the same lots changes nothing
    again = in_relief_order(
        type(cut)(cut.row, cut.slot, cut.quantity, cut.basis, cut.acquired, None, None, None),
        np.zeros(2, dtype=np.int8),
        3,
    )
    assert again.source is not None and again.source.tolist() == list(range(5))
    # sources find the lots again: relieve 4 of the 5 + 3 shares of account 1's position
    assert cut.source is not None
    basis = lots.relieve(cut.source[2:4], np.array([3.0, 1.0]))
    assert np.isnan(basis[0]) and basis[1] == 10.0
    lots.compact()
    assert lots.size == 4  # the lot of 3 shares is gone
    one = lots.of(np.array([1]), np.zeros(1, dtype=np.int8))
    assert one.quantity.tolist() == [4.0, 2.0] and one.basis.tolist() == [40.0, 22.0]
    np.testing.assert_array_equal(lots.held((2, 3)), [[0.0, 4.0, 7.0], [6.0, 0.0, 0.0]])


def test_other_lot_methods_are_left_to_the_pipeline_to_order() -> None:
    cut = _store().of(np.array([1]), np.array([2], dtype=np.int8))  # hifo
    assert not cut.ordered
