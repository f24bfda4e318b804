"""The daily evaluation's triggers as pure functions: no database.

Every expected value is worked out by hand in the test's docstring, with the brief's
defaults unless a test says otherwise: class drift 5 points for more than 182 days or
10 points two days in a row, cash $330 above the sweep target (0.7% of value, at least
$80) or below 0.3% of value two days in a row, 550 days without a trade.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import pytest

from trimtab.core.triggers import (
    NO_DAY,
    REASONS,
    SwitchChanges,
    TriggerFlags,
    TriggerInputs,
    TriggerParams,
    TriggerState,
    evaluate_triggers,
    in_window,
    toggled,
)

DAY = date(2026, 11, 20)  # a Friday; the book is of Thursday 19 November
DATA_DAY = date(2026, 11, 19)
WINDOW_START = date(2026, 11, 18)  # the previous run's book date


def d(value: date | str) -> int:
    """A date as its day number (days since 1970-01-01)."""
    return int(np.datetime64(value, "D").astype(np.int64))


def params(n: int, **changes: Any) -> TriggerParams:
    """The defaults of the brief for ``n`` accounts; ``changes`` overrides (scalars)."""
    values: dict[str, Any] = {
        "sac_soft_pct": 5.0,
        "sac_soft_days": 182,
        "sac_hard_pct": 10.0,
        "cash_high_usd": 330.0,
        "cash_low_pct": 0.3,
        "sweep_pct": 0.7,
        "sweep_min_usd": 80.0,
        "no_trade_days": 550,
        **changes,
    }
    return TriggerParams(
        **{
            k: np.full(n, v, dtype=np.int64 if k.endswith("_days") else np.float64)
            for k, v in values.items()
        }
    )


def inputs(n: int, c: int = 1, **changes: Any) -> TriggerInputs:
    """``n`` quiet accounts of $100,000 with $1,000 cash (above 0.3% = $300, not above the
    sweep target plus $330 = $1,030), ``c`` classes on target, in band, traded yesterday,
    target code 0, no events; ``changes`` overrides fields (arrays)."""
    base = TriggerInputs(
        day=d(DAY),
        data_day=d(DATA_DAY),
        window_start=d(WINDOW_START),
        value=np.full(n, 100_000.0),
        cash=np.full(n, 1_000.0),
        model_cash=np.zeros(n),
        out_of_band=np.zeros(n, dtype=np.int32),
        class_diff=np.zeros((n, c)),
        target=np.zeros(n, dtype=np.int64),
        held=np.zeros(n, dtype=bool),
        first_seen=np.full(n, d("2020-01-02"), dtype=np.int64),
        last_trade=np.full(n, d(WINDOW_START), dtype=np.int64),
        last_deposit=np.full(n, NO_DAY, dtype=np.int64),
        last_withdrawal=np.full(n, NO_DAY, dtype=np.int64),
        last_restriction_end=np.full(n, NO_DAY, dtype=np.int64),
        switches=SwitchChanges.none(),
    )
    return replace(base, **changes)


def previous(n: int, c: int = 1, **changes: Any) -> TriggerState:
    """A previous evaluation of every account with target code 0, nothing kept."""
    base = replace(TriggerState.empty(n, c), target=np.zeros(n, dtype=np.int64))
    return replace(base, **changes)


def run(
    x: TriggerInputs, prev: TriggerState | None = None, **p: Any
) -> tuple[TriggerFlags, TriggerState]:
    n, c = x.class_diff.shape
    return evaluate_triggers(x, prev if prev is not None else previous(n, c), params(n, **p))


def fired(flags: TriggerFlags) -> list[list[str]]:
    """The reasons of each account, in the order of REASONS."""
    return [[r for r, on in zip(REASONS, row, strict=True) if on] for row in flags.matrix()]


def test_quiet_accounts_fire_nothing() -> None:
    """The defaults of :func:`inputs` are chosen inside every limit."""
    flags, state = run(inputs(3, 2))
    assert fired(flags) == [[], [], []]
    assert not state.cash_low.any()
    assert np.isnan(state.class_diff).all()
    assert (state.class_since == NO_DAY).all()


def test_cash_high_at_the_edge() -> None:
    """Sweep target of $100,000: 0.7% = $700 (above the $80 minimum); $700 + $330 = $1,030.
    Cash of $1,030.00 is not above it, $1,030.01 is. Of $5,000: 0.7% = $35, below the
    minimum, so the sweep target is $80 and the edge $410: $410.00 no, $410.01 yes."""
    x = inputs(
        4,
        value=np.array([100_000.0, 100_000.0, 5_000.0, 5_000.0]),
        cash=np.array([1_030.00, 1_030.01, 410.00, 410.01]),
    )
    flags, _ = run(x)
    assert flags.cash_high.tolist() == [False, True, False, True]


def test_cash_high_follows_the_account_parameters() -> None:
    """With cash_high_usd $1,000 and sweep 1% of $100,000 = $1,000, the edge is $2,000."""
    x = inputs(2, cash=np.array([2_000.0, 2_000.5]))
    flags, _ = run(x, cash_high_usd=1_000.0, sweep_pct=1.0)
    assert flags.cash_high.tolist() == [False, True]


def test_cash_high_measures_cash_against_the_models_cash_target_when_larger() -> None:
    """A model holding 5% cash: of $100,000 that is $5,000, above the sweep target ($700),
    so the edge is $5,000 + $330 = $5,330. $5,000 (what a rebalance to target leaves) and
    $5,330.00 are not above it; $5,330.01 and $5,331 are. The old edge ($1,030) no longer
    applies to such an account."""
    x = inputs(
        4,
        model_cash=np.full(4, 5.0),
        cash=np.array([5_000.0, 5_330.00, 5_330.01, 5_331.0]),
    )
    flags, _ = run(x)
    assert flags.cash_high.tolist() == [False, False, True, True]


def test_cash_high_keeps_the_sweep_target_when_the_models_cash_is_smaller() -> None:
    """A model with 0.5% cash: $500 of $100,000, below the sweep target ($700): the edge
    stays $1,030. Of $5,000 with 1% cash ($50), the $80 minimum stands: the edge is $410."""
    x = inputs(
        4,
        value=np.array([100_000.0, 100_000.0, 5_000.0, 5_000.0]),
        model_cash=np.array([0.5, 0.5, 1.0, 1.0]),
        cash=np.array([1_030.00, 1_030.01, 410.00, 410.01]),
    )
    flags, _ = run(x)
    assert flags.cash_high.tolist() == [False, True, False, True]


def test_cash_low_needs_two_evaluations_in_a_row() -> None:
    """0.3% of $100,000 is $300. Cash $299.99 is low; $300.00 is not (strictly below).
    It fires only where the previous evaluation was low too (accounts 0 and 2 were,
    account 2 is not low today); the state keeps today's lows for tomorrow."""
    x = inputs(4, cash=np.array([299.99, 299.99, 300.00, 0.0]))
    prev = previous(4, cash_low=np.array([True, False, True, False]))
    flags, state = run(x, prev)
    assert flags.cash_low.tolist() == [True, False, False, False]
    assert state.cash_low.tolist() == [True, True, False, True]


def test_class_drift_5_points_for_182_days_is_not_enough_183_is() -> None:
    """Class off by 6 points (> 5) today, first off on 2026-05-22 (182 days before
    2026-11-20) for account 0 and on 2026-05-21 (183 days) for account 1: fires for 1 only,
    as the limit is *more than* 182 days. Account 2 is off by exactly 5.00 points: not
    over the limit, so its stretch ends (NO_DAY kept) and nothing fires. Account 3 is off
    by -6 points for the first time: its stretch starts today."""
    x = inputs(4, class_diff=np.array([[6.0], [6.0], [5.0], [-6.0]]))
    since = np.array([[d("2026-05-22")], [d("2026-05-21")], [d("2026-01-01")], [NO_DAY]])
    prev = previous(4, class_since=since, class_diff=np.array([[6.0], [6.0], [6.0], [np.nan]]))
    flags, state = run(x, prev)
    assert d(DAY) - d("2026-05-22") == 182
    assert flags.class_drift_6m.tolist() == [False, True, False, False]
    assert state.class_since[:, 0].tolist() == [
        d("2026-05-22"),
        d("2026-05-21"),
        NO_DAY,
        d(DAY),
    ]
    assert state.class_diff[[0, 1, 3], 0].tolist() == [6.0, 6.0, -6.0]
    assert np.isnan(state.class_diff[2, 0])


def test_class_drift_6m_counts_each_class_on_its_own() -> None:
    """Two classes: the first off for 200 days but back at 4 points today (stretch over),
    the second off for 10 days: neither fires."""
    x = inputs(1, 2, class_diff=np.array([[4.0, 7.0]]))
    since = np.array([[d(DAY) - 200, d(DAY) - 10]])
    flags, state = run(x, previous(1, 2, class_since=since))
    assert not flags.class_drift_6m[0]
    assert state.class_since.tolist() == [[NO_DAY, d(DAY) - 10]]


def test_class_drift_10_points_two_days_in_a_row_vs_one() -> None:
    """10.5 points off today (> 10). Previous evaluation: 11 points (fires), -11 points (the
    size counts, not the side: fires), not kept (NaN, within 5 points: no), exactly 10.0
    (not over: no). Account 4 is 11 points off yesterday but 9.9 today: no."""
    x = inputs(5, class_diff=np.array([[10.5], [10.5], [10.5], [10.5], [9.9]]))
    prev = previous(5, class_diff=np.array([[11.0], [-11.0], [np.nan], [10.0], [11.0]]))
    flags, _ = run(x, prev)
    assert flags.class_drift_2d.tolist() == [True, True, False, False, False]


def test_class_drift_replayed_over_two_days() -> None:
    """The state one evaluation returns is the next one's previous state: an account 12
    points off on Thursday (first evaluation) and Friday fires ``class_drift_2d`` on Friday
    only; one off on Thursday only never fires."""
    thursday = inputs(
        2,
        day=d("2026-11-19"),
        data_day=d("2026-11-18"),
        window_start=d("2026-11-17"),
        class_diff=np.array([[12.0], [12.0]]),
    )
    flags, state = run(thursday, TriggerState.empty(2, 1))
    assert not flags.class_drift_2d.any()
    assert state.class_since[:, 0].tolist() == [d("2026-11-19")] * 2
    friday = inputs(2, class_diff=np.array([[12.0], [0.0]]))
    flags, state = run(friday, state)
    assert flags.class_drift_2d.tolist() == [True, False]
    assert state.class_since[:, 0].tolist() == [d("2026-11-19"), NO_DAY]


def test_no_trade_after_550_days() -> None:
    """Book date 2026-11-19. Last trade 2025-05-18 is 550 days before: fires; 2025-05-19 is
    549 days: no. No trade known: counted from the first import, 2025-05-18 (fires) or
    2025-05-19 (no); none known and first import unknown: fires."""
    assert d(DATA_DAY) - d("2025-05-18") == 550
    x = inputs(
        5,
        last_trade=np.array([d("2025-05-18"), d("2025-05-19"), NO_DAY, NO_DAY, NO_DAY]),
        first_seen=np.array(
            [d("2020-01-02"), d("2020-01-02"), d("2025-05-18"), d("2025-05-19"), NO_DAY]
        ),
    )
    flags, _ = run(x)
    assert flags.no_trade.tolist() == [True, False, True, False, True]


def test_no_trade_a_trade_before_the_first_import_counts() -> None:
    """A known trade is used even when it predates the first import: 2025-05-18 (550 days),
    first import yesterday: fires."""
    x = inputs(1, last_trade=np.array([d("2025-05-18")]), first_seen=np.array([d(WINDOW_START)]))
    assert run(x)[0].no_trade.tolist() == [True]


def test_target_changed() -> None:
    """Previous targets 0, 0, -1 (no previous evaluation), 7; today 0, 1, 1, 7: only
    account 1 changed target; account 2 is evaluated for the first time."""
    x = inputs(4, target=np.array([0, 1, 1, 7]))
    flags, state = run(x, previous(4, target=np.array([0, 0, -1, 7])))
    assert flags.target_changed.tolist() == [False, True, False, False]
    assert state.target.tolist() == [0, 1, 1, 7]


def test_out_of_band() -> None:
    """Any security outside its band fires: counts 0, 1, 3."""
    flags, _ = run(inputs(3, out_of_band=np.array([0, 1, 3], dtype=np.int32)))
    assert flags.out_of_band.tolist() == [False, True, True]


def test_events_in_the_window() -> None:
    """The window is after 2026-11-18 (previous book date) up to 2026-11-19 (this book):
    a deposit on the 18th was seen last time, one on the 19th is new, one on the 20th
    belongs to the next book; withdrawals and restriction ends alike."""
    days = np.array([d("2026-11-18"), d("2026-11-19"), d("2026-11-20"), NO_DAY])
    x = inputs(4, last_deposit=days, last_withdrawal=days[::-1], last_restriction_end=days)
    flags, _ = run(x)
    assert flags.deposit.tolist() == [False, True, False, False]
    assert flags.withdrawal.tolist() == [False, False, True, False]
    assert flags.restriction_ended.tolist() == [False, True, False, False]
    assert in_window(days, d(WINDOW_START), d(DATA_DAY)).tolist() == [False, True, False, False]


def switches(*changes: tuple[int, str, bool]) -> SwitchChanges:
    return SwitchChanges(
        account=np.array([a for a, _, _ in changes], dtype=np.int64),
        effective=np.array([d(e) for _, e, _ in changes], dtype=np.int64),
        on=np.array([on for _, _, on in changes], dtype=bool),
    )


def test_toggled_on_off_on() -> None:
    """Window after 2026-11-18 up to 2026-11-19. Account 0: on, off, on (the 19th): fires.
    Account 1: on, off, on but the last "on" on the 18th, seen by the previous run: no.
    Account 2: on, off (the 19th): no. Account 3: off, on (the 19th), only two changes: no.
    Account 4: on, on, off, on (the 19th): the last three read on, off, on: fires.
    Account 5: on, off, on on the 20th, after the book date: ignored, no.
    The accounts' changes are interleaved; each account's order is kept."""
    changes = switches(
        (0, "2026-01-05", True),
        (1, "2026-01-05", True),
        (4, "2026-01-05", True),
        (5, "2026-01-05", True),
        (0, "2026-06-01", False),
        (2, "2026-01-05", True),
        (1, "2026-06-01", False),
        (3, "2026-06-01", False),
        (4, "2026-02-01", True),
        (5, "2026-06-01", False),
        (4, "2026-06-01", False),
        (1, "2026-11-18", True),
        (0, "2026-11-19", True),
        (2, "2026-11-19", False),
        (3, "2026-11-19", True),
        (4, "2026-11-19", True),
        (5, "2026-11-20", True),
    )
    out = toggled(changes, 7, d(WINDOW_START), d(DATA_DAY))
    assert out.tolist() == [True, False, False, False, True, False, False]
    flags, _ = run(inputs(7, switches=changes))
    assert flags.toggled.tolist() == out.tolist()


@pytest.mark.parametrize("count", [0, 1, 2])
def test_toggled_needs_three_changes(count: int) -> None:
    """Fewer than three changes can never read on, off, on."""
    changes = switches(*[(0, "2026-11-19", i % 2 == 0) for i in range(count)])
    assert not toggled(changes, 1, d(WINDOW_START), d(DATA_DAY)).any()


def test_an_account_on_trade_hold_is_skipped_but_its_state_kept() -> None:
    """Account 0 is on hold with cash $0 (low, after a low previous evaluation), 20 points
    off, out of band: nothing fires, it is marked skipped, and today's lows and class
    stretch are kept as for any account. Account 1, the same but not on hold, fires all."""
    x = inputs(
        2,
        held=np.array([True, False]),
        cash=np.zeros(2),
        out_of_band=np.array([2, 2], dtype=np.int32),
        class_diff=np.array([[20.0], [20.0]]),
    )
    prev = previous(2, cash_low=np.array([True, True]), class_diff=np.array([[20.0], [20.0]]))
    flags, state = run(x, prev)
    assert fired(flags) == [[], ["out_of_band", "class_drift_2d", "cash_low"]]
    assert flags.skipped.tolist() == [True, False]
    assert state.cash_low.tolist() == [True, True]
    assert state.class_since[:, 0].tolist() == [d(DAY), d(DAY)]


def test_matrix_columns_follow_reasons() -> None:
    """Column k of the matrix is the flag REASONS[k]."""
    flags, _ = run(inputs(1, cash=np.array([5_000.0]), target=np.array([3])))
    matrix = flags.matrix()
    assert matrix.shape == (1, len(REASONS))
    assert [REASONS[k] for k in np.flatnonzero(matrix[0])] == ["target_changed", "cash_high"]


def test_no_accounts() -> None:
    flags, state = run(inputs(0, 3))
    assert flags.matrix().shape == (0, len(REASONS))
    assert state.class_since.shape == (0, 3)
