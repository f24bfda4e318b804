"""The daily evaluation of a backtest: the service's trigger functions over every account.

On market day ``t`` the triggers read the book at the close of day ``t - 1`` (custodian
data is a market day old), as :mod:`trimtab.service.evaluate` does, with the state kept by
the previous day's evaluation. The book's target codes are its model codes (a target never
changes in a replay), the rebalancing switch never toggles and no restriction ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.backtest.setup import Setup
from trimtab.core.drift import DriftResult
from trimtab.core.partial import class_drift
from trimtab.core.triggers import (
    NO_DAY,
    SwitchChanges,
    TriggerFlags,
    TriggerInputs,
    TriggerState,
    evaluate_triggers,
)

Days = npt.NDArray[np.int64]


@dataclass(slots=True)
class Activity:
    """Per account, the day numbers of the latest trade, deposit and withdrawal (or NO_DAY)."""

    last_trade: Days
    last_deposit: Days
    last_withdrawal: Days

    @staticmethod
    def none(n: int) -> Activity:
        return Activity(*(np.full(n, NO_DAY, dtype=np.int64) for _ in range(3)))


def evaluate_day(
    setup: Setup,
    t: int,
    close: DriftResult,
    market: npt.NDArray[np.float64],
    cash: npt.NDArray[np.float64],
    activity: Activity,
    previous: TriggerState,
) -> tuple[TriggerFlags, TriggerState]:
    """The triggers of market day ``t`` (>= 1) from the book at the close of ``t - 1``:
    ``close`` its drift, ``market`` its dollars per slot (N, K), ``cash`` its cash (N,)."""
    day_numbers = setup.history.days.astype(np.int64)
    data_day = int(day_numbers[t - 1])
    window_start = int(day_numbers[t - 2]) if t >= 2 else data_day - 1
    base = setup.base
    diff = class_drift(market, close.value, base.target, setup.classes, setup.n_classes) * 100.0
    n = setup.size
    arrays = setup.loaded.arrays
    inputs = TriggerInputs(
        day=int(day_numbers[t]),
        data_day=data_day,
        window_start=window_start,
        value=close.value,
        cash=cash,
        model_cash=arrays.model_cash[arrays.account_model] * 100.0,
        out_of_band=close.out_of_band,
        class_diff=diff,
        target=arrays.account_model.astype(np.int64),
        held=setup.rules.hold,
        first_seen=np.full(n, int(day_numbers[0]), dtype=np.int64),
        last_trade=activity.last_trade,
        last_deposit=activity.last_deposit,
        last_withdrawal=activity.last_withdrawal,
        last_restriction_end=np.full(n, NO_DAY, dtype=np.int64),
        switches=SwitchChanges.none(),
    )
    return evaluate_triggers(inputs, previous, setup.params)
