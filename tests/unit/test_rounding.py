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


def test_overdraft_trim_never_cuts_a_raised_buy_below_the_minimum() -> None:
    """The rare case, by hand: a $15.8 billion account's cash covers, to the cent, a buy of
    170,854,667 shares at $92.76 ($15,848,478,910.92) and a $78.36 buy (2 shares at $39.18)
    raised to the $100 minimum (3 shares, $117.54). In floating point the cash left is
    -0.0000019, which the overdraft trim takes for an overdraft; the raised buy ranks first
    (most above its 0% target). Trimming it one share would leave $78.36, below the minimum:
    it must go whole (dropped, with its reason) or stay raised."""
    from trimtab.core.reasons import Reason

    arr = np.array
    price = arr([[92.76, 39.18]])
    batch = make_batch(
        price=price,
        quantity=arr([[0.0, 0.0]]),
        target=arr([[1.0, 0.0]]),
        lower=arr([[0.0, 0.0]]),
        upper=arr([[1.0, 1.0]]),
        in_model=np.ones((1, 2), dtype=bool),
        valid=np.ones((1, 2), dtype=bool),
        cash=arr([15_848_479_028.46]),
        cash_target=arr([0.0]),
    )
    plan = Plan(
        dollars=arr([[170_854_667 * 92.76 + 0.001, 2 * 39.18 + 1.0]]),
        full_sell=np.zeros((1, 2), dtype=bool),
        reason=np.zeros((1, 2), dtype=np.uint32),
        status=np.zeros(1, dtype=np.int8),
        message=np.zeros(1, dtype=np.int8),
    )
    out = round_plan(batch, plan, unit=1.0, min_trade_value=100.0)
    small = float(out.order_value[0, 1])
    assert small == 0.0 or small >= 100.0, small
    assert out.quantity[0].tolist() == [170_854_667.0, 0.0]
    reason = int(plan.reason[0, 1])
    assert reason & Reason.BELOW_MIN_TRADE
    assert not reason & Reason.MIN_TRADE_RAISED
    assert out.cash_after[0] == 117.54
