"""Share rounding and the overdraft rule, checked against a literal one-unit-at-a-time rule."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from trimtab.core.batch import make_batch
from trimtab.core.logics import Plan
from trimtab.core.money import cents
from trimtab.core.rounding import round_plan


def literal_trim(
    held: list[float],
    buys: list[float],
    price: list[float],
    target: list[float],
    cash: float,
    unit: float = 1.0,
) -> list[float]:
    """The brief's rule, literally: while cash is below zero, take one unit from the buy
    whose dollars above target after the trade are now the largest (first slot first on
    ties, to a micro-dollar), recomputing cash from the cent order values each time."""
    value = cash + sum(h * p for h, p in zip(held, price, strict=True))
    q = list(buys)

    def left() -> float:
        return cash - sum(round(b * p + 1e-9, 2) for b, p in zip(q, price, strict=True))

    while left() < -1e-6:
        live = [i for i in range(len(q)) if q[i] >= unit - 1e-12]
        if not live:
            break
        i = min(
            live,
            key=lambda i: (-round((held[i] + q[i]) * price[i] - target[i] * value, 6), i),
        )
        q[i] = round(q[i] - unit, 9)
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
def test_level_trim_takes_the_same_units_as_the_literal_rule(
    lines: list[tuple[int, int, int, int]], cash_cents: int
) -> None:
    held = [float(h) for h, _, _, _ in lines]
    buys = [float(b) for _, b, _, _ in lines]
    price = [p / 100 for _, _, p, _ in lines]
    target = [t / 100 for _, _, _, t in lines]
    cash = cash_cents / 100
    assume(cash + sum(h * p for h, p in zip(held, price, strict=True)) > 0)
    batch, plan = _one_account(held, buys, price, target, cash)
    out = round_plan(batch, plan, unit=1.0, min_trade_value=0.0)
    expected = literal_trim(held, buys, price, target, cash)
    assert out.quantity[0].tolist() == expected
    assert out.cash_after[0] >= 0
    spent = float(cents(out.quantity[0] * np.array(price)).sum())
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


def _one_account(
    held: list[float], buys: list[float], price: list[float], target: list[float], cash: float
) -> tuple[Any, Plan]:
    arr = np.array
    k = len(held)
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
    return batch, plan


def test_the_trim_chooses_again_after_every_unit() -> None:
    """By hand: $1 of cash, no holdings, 0% targets; buys of 1 A and 2 B at $1 ($3).
    B is $2 above target, A $1: B gives one share (now $1 above), then A and B tie at $1
    and the first slot, A, gives its share. Cash is then $0: A 0, B 1. (Trimming the
    first-ranked buy until it is gone would give A 1, B 0.)"""
    batch, plan = _one_account([0.0, 0.0], [1.0, 2.0], [1.0, 1.0], [0.0, 0.0], 1.0)
    out = round_plan(batch, plan, unit=1.0, min_trade_value=0.0)
    assert out.quantity[0].tolist() == [0.0, 1.0]
    assert out.cash_after[0] == 0.0


@given(
    st.lists(
        st.tuples(
            st.integers(0, 5_000),  # thousandths of a share held
            st.integers(0, 5_000),  # thousandths of a share bought
            st.integers(100, 5000),  # price in cents
            st.integers(0, 40),  # target, percent
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(0, 300),
)
def test_fractional_trim_takes_the_same_units_as_the_literal_rule(
    lines: list[tuple[int, int, int, int]], overdraft_cents: int
) -> None:
    """With fractional shares (units of 0.001) the rule may move from buy to buy after
    every unit; the vectorised level equals the literal one-unit-at-a-time rule."""
    unit = 0.001
    held = [h / 1000 for h, _, _, _ in lines]
    price = [p / 100 for _, _, p, _ in lines]
    # A buy of half a cent or less is no trade (before any trim): round_plan's HALF_CENT.
    buys = [
        b / 1000 if b / 1000 * p > 0.005 else 0.0
        for (_, b, _, _), p in zip(lines, price, strict=True)
    ]
    target = [t / 100 for _, _, _, t in lines]
    spent = sum(round(b * p + 1e-9, 2) for b, p in zip(buys, price, strict=True))
    cash = max(round(spent - overdraft_cents / 100, 2), 0.0)
    assume(cash + sum(h * p for h, p in zip(held, price, strict=True)) > 0)
    batch, plan = _one_account(held, buys, price, target, cash)
    out = round_plan(batch, plan, unit=unit, min_trade_value=0.0)
    expected = literal_trim(held, buys, price, target, cash, unit)
    np.testing.assert_allclose(out.quantity[0], expected, rtol=0.0, atol=1e-9)
    assert out.cash_after[0] >= 0
