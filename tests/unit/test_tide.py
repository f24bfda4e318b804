"""The rising tide and capped proportional allocation, against plain references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trimtab.core.tide import capped_proportional, rising_tide


def tide_by_events(excess: list[float], capacity: list[float], amount: float) -> list[float]:
    """Sell the farthest down to the next farthest, then together, one event at a time.

    The rule, followed literally but without small dollar steps: the securities standing
    highest above their level (among those with capacity left) sell together, each the
    same dollars, until the next event — one of them runs out of capacity, they come down
    to the next security's level, or the amount is raised. At most two events per
    security, so this is exact and fast.
    """
    sold = [0.0] * len(excess)
    left = amount
    while left > 1e-9:
        open_ = [i for i, c in enumerate(capacity) if c - sold[i] > 1e-12]
        if not open_:
            break
        level = {i: excess[i] - sold[i] for i in open_}
        top = max(level.values())
        sellers = [i for i in open_ if level[i] >= top - 1e-9]
        below = [level[i] for i in open_ if level[i] < top - 1e-9]
        drop = min(capacity[i] - sold[i] for i in sellers)  # until one runs out
        if below:
            drop = min(drop, top - max(below))  # until they meet the next one down
        drop = min(drop, left / len(sellers))  # until the amount is raised
        for i in sellers:
            sold[i] += drop
        left -= drop * len(sellers)
    return sold


def test_the_reference_by_hand() -> None:
    # 5 and 3 above their levels, 4 dollars to raise: the first sells 2 to meet the second
    # at 3, then each sells 1; capacity 1.5 stops the first, the second sells on alone.
    assert tide_by_events([5.0, 3.0], [10.0, 10.0], 4.0) == [3.0, 1.0]
    assert tide_by_events([5.0, 3.0], [1.5, 10.0], 4.0) == [1.5, 2.5]
    assert tide_by_events([5.0, -1.0], [1.0, 2.0], 10.0) == [1.0, 2.0]


def test_the_generate_cash_example() -> None:
    # Seed 003: FB 4.5 and ORCL 8.5 points above adjusted target; raise 10 points.
    sold = rising_tide(
        np.array([[4500.0, 8500.0, -1000.0]]),
        np.array([[4500.0, 8500.0, 0.0]]),
        np.array([10000.0]),
    )
    assert sold.tolist() == [[3000.0, 7000.0, 0.0]]


def test_more_than_capacity_sells_everything() -> None:
    sold = rising_tide(np.array([[5.0, 1.0]]), np.array([[2.0, 1.0]]), np.array([100.0]))
    assert sold.tolist() == [[2.0, 1.0]]


@given(
    st.lists(st.tuples(st.integers(-500, 2000), st.integers(0, 1500)), min_size=1, max_size=6),
    st.integers(0, 4000),
)
def test_rising_tide_matches_the_step_by_step_rule(
    lines: list[tuple[int, int]], amount: int
) -> None:
    excess = [float(e) for e, _ in lines]
    capacity = [float(c) for _, c in lines]
    got = rising_tide(np.array([excess]), np.array([capacity]), np.array([float(amount)]))[0]
    want = tide_by_events(excess, capacity, float(amount))
    assert got == pytest.approx(want, abs=0.02 * len(lines))
    assert got.sum() == pytest.approx(min(float(amount), sum(capacity)), abs=1e-6)


@given(
    st.lists(st.tuples(st.integers(1, 100), st.integers(0, 500)), min_size=1, max_size=6),
    st.integers(0, 2000),
)
def test_capped_proportional_fills_in_proportion_and_respects_caps(
    lines: list[tuple[int, int]], funds: int
) -> None:
    weight = np.array([[float(w) for w, _ in lines]])
    cap = np.array([[float(c) for _, c in lines]])
    out = capped_proportional(weight, cap, np.array([float(funds)]))[0]
    assert (out <= cap[0] + 1e-9).all() and (out >= 0).all()
    assert out.sum() == pytest.approx(min(float(funds), cap.sum()), abs=1e-6)
    # Uncapped entries receive in proportion to their weights.
    free = (out < cap[0] - 1e-9) & (cap[0] > 0)
    if free.sum() >= 2:
        ratios = out[free] / weight[0][free]
        assert ratios == pytest.approx(np.full(ratios.shape, ratios[0]), rel=1e-9)
