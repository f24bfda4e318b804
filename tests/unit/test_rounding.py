"""Share rounding and the overdraft rule, checked against a literal one-unit-at-a-time rule."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from trimtab.core.batch import make_batch
from trimtab.core.logics import Plan
from trimtab.core.money import cents
from trimtab.core.rounding import round_plan


def literal_trim(
    held: list[float], buys: list[float], price: list[float], target: list[float], cash: float
) -> list[float]:
    """The rule, literally: rank buys by dollars above target after the trade (first slot
    first on ties, to a micro-dollar); take one share at a time from the first until cash is
    not below zero or the buy is gone, then from the next."""
    value = cash + sum(h * p for h, p in zip(held, price, strict=True))
    q = list(buys)
    left = cash - sum(round(b * p, 2) for b, p in zip(q, price, strict=True))
    ranked = sorted(
        (i for i in range(len(q)) if q[i] >= 1),
        key=lambda i: (-round((held[i] + q[i]) * price[i] - target[i] * value, 6), i),
    )
    for i in ranked:
        while left < -1e-6 and q[i] >= 1:
            left += round(q[i] * price[i], 2)
            q[i] -= 1
            left -= round(q[i] * price[i], 2)
    return q


@given(
    st.lists(
        st.tuples(
            st.integers(0, 50),  # shares held
            st.integers(0, 60),  # shares the plan buys
            st.integers(100, 20000),  # price in cents
            st.integers(0, 40),  # target, percent
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 5000),
)
def test_threshold_trim_takes_the_same_units_as_the_literal_rule(
    lines: list[tuple[int, int, int, int]], cash_cents: int
) -> None:
    held = [float(h) for h, _, _, _ in lines]
    buys = [float(b) for _, b, _, _ in lines]
    price = [p / 100 for _, _, p, _ in lines]
    target = [t / 100 for _, _, _, t in lines]
    cash = cash_cents / 100
    assume(cash + sum(h * p for h, p in zip(held, price, strict=True)) > 0)
    k = len(lines)
    arr = np.array
    batch = make_batch(
        price=arr([price]),
        quantity=arr([held]),
        target=arr([target]),
        lower=arr([target]),
        upper=arr([target]),
        in_model=np.ones((1, k), dtype=bool),
        valid=np.ones((1, k), dtype=bool),
        cash=arr([cash]),
        cash_target=arr([0.0]),
    )
    plan = Plan(
        dollars=arr([buys]) * arr([price]),
        full_sell=np.zeros((1, k), dtype=bool),
        reason=np.zeros((1, k), dtype=np.uint32),
        status=np.zeros(1, dtype=np.int8),
        message=np.zeros(1, dtype=np.int8),
    )
    out = round_plan(batch, plan, unit=1.0, min_trade_value=0.0)
    expected = literal_trim(held, buys, price, target, cash)
    assert out.quantity[0].tolist() == expected
    assert out.cash_after[0] >= 0
    spent = float(cents(out.quantity[0] * arr(price)).sum())
    assert out.cash_after[0] == round(cash - spent, 2)
