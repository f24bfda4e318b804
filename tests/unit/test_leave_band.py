"""Minimum Transaction when the bands' room cannot pay for the buys: the exact programme of
:mod:`trimtab.optimize.leave_band` against exhaustive search, on hard accounts where the
shortcut's extra sells inside the intervals fall short."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.test_optimize import _grid, _lexicographic_best, _score_one, _scores
from tests.unit.test_optimize_hard_shapes import hard_account
from trimtab.core.batch import AccountBatch
from trimtab.optimize.leave_band import leave_bands
from trimtab.optimize.problem import account_problem, quantities
from trimtab.optimize.programs import cash_floor, least_violation_units

TOL = 1e-6
"""Dollars: the programme is exact (no solver gap)."""


def _short_of_room(seed: int) -> tuple[AccountBatch, np.ndarray, np.ndarray, float] | None:
    batch = hard_account(seed)
    p = account_problem(batch, 0, 1.0)
    low, high = least_violation_units(p)
    x0 = np.clip(0.0, low, high)
    shortfall = float(x0 @ p.unit_value) - (p.cash - cash_floor(p))
    if shortfall <= float((x0 - low) @ p.unit_value):
        return None  # the shortcut's extra sells inside the intervals suffice
    return batch, x0, low, shortfall


def test_leave_bands_matches_exhaustive_search() -> None:
    checked = 0
    for seed in range(400):
        case = _short_of_room(seed)
        if case is None:
            continue
        batch, x0, low, shortfall = case
        p = account_problem(batch, 0, 1.0)
        units = leave_bands(p, x0, low, shortfall)
        assert units is not None, seed
        trades, _ = _grid(batch)
        s = _scores(batch, trades)
        floor = cash_floor(p)
        want = _lexicographic_best(s["violation"], s["turnover"], s["cash_after"] >= floor - 1e-9)
        got = _score_one(batch, quantities(p, units, p.slots.size))
        assert got["cash_after"] >= floor - 1e-9, seed
        assert got["violation"] == pytest.approx(want[0], abs=TOL), seed
        assert got["turnover"] == pytest.approx(want[1], abs=TOL), seed
        checked += 1
    assert checked >= 80
