"""The daily evaluation's triggers as pure functions over arrays.

:func:`evaluate_triggers` takes today's numbers of N accounts (:class:`TriggerInputs`), the
state the previous evaluation kept (:class:`TriggerState`) and each account's parameters
(:class:`TriggerParams`), and returns which triggers fire (:class:`TriggerFlags`) and the
state to keep for the next evaluation. It reads nothing and writes nothing: the service
(:mod:`trimtab.service.evaluate`) reads these arrays from the store and writes the results;
a backtest can replay a sequence of days by feeding each day's returned state to the next.

Units: dollars for money; percent points of account value for weights and drifts (5.0 is
five points); dates as day numbers (days since 1970-01-01, ``numpy.datetime64(d, "D")`` as
an integer), :data:`NO_DAY` for none. Every per-account array is (N,); per sub-asset class
(N, C), the classes in the same order in the inputs and in the state.

Triggers (the codes of :data:`REASONS`):

- ``target_changed``: the account's target (model and version) differs from the previous
  evaluation's; never on an account's first evaluation.
- ``out_of_band``: one or more securities outside their band.
- ``class_drift_6m``: a sub-asset class more than ``sac_soft_pct`` points off target
  continuously for more than ``sac_soft_days`` days, counted from the first evaluation day
  of the current stretch off target.
- ``class_drift_2d``: a sub-asset class more than ``sac_hard_pct`` points off today and on
  the previous evaluation.
- ``toggled``: the switch history reads on, off, on, with that last "on" after the window
  start.
- ``no_trade``: ``no_trade_days`` days or more from the last trade (else the account's first
  import) to the book date.
- ``cash_high``: cash more than ``cash_high_usd`` dollars above the cash the account is
  meant to hold: the sweep target (``sweep_pct`` percent of value, at least
  ``sweep_min_usd`` dollars), or the model's cash target (``model_cash`` percent of value)
  where that is larger (:func:`trimtab.core.partial.cash_kept`, the cash a deposit keeps).
  A rebalance to target leaves the model's cash in the account; measured against the sweep
  target alone, that cash would flag the account again the next day, every day.
- ``cash_low``: cash below ``cash_low_pct`` percent of value today and on the previous
  evaluation.
- ``deposit`` / ``withdrawal`` / ``restriction_ended``: such an event dated in the window,
  after ``window_start`` and up to the book date.

Accounts on trade hold are skipped: no trigger fires for them, their state is kept anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.core.partial import cash_kept

Dollars = npt.NDArray[np.float64]
Points = npt.NDArray[np.float64]
"""Percent points (of account value, or percent of value for rates such as 0.3)."""
Days = npt.NDArray[np.int64]
"""Day numbers (days since 1970-01-01), or counts of days."""
Flags = npt.NDArray[np.bool_]
Codes = npt.NDArray[np.int64]

NO_DAY = -(10**6)
"""The day number meaning "no such day": a million days before 1970, before any data."""

REASONS = (
    "target_changed",
    "out_of_band",
    "class_drift_6m",
    "class_drift_2d",
    "toggled",
    "no_trade",
    "cash_high",
    "cash_low",
    "deposit",
    "withdrawal",
    "restriction_ended",
)
"""Trigger codes, in the order of :attr:`TriggerFlags.matrix`'s columns."""


@dataclass(frozen=True, slots=True)
class TriggerParams:
    """Each account's trigger parameters, (N,) each.

    Attributes:
        sac_soft_pct: sub-asset-class drift limit of ``class_drift_6m``, percent points (5).
        sac_soft_days: how long a class may stay past ``sac_soft_pct``, days (182).
        sac_hard_pct: sub-asset-class drift limit of ``class_drift_2d``, percent points (10).
        cash_high_usd: cash above the sweep target (or the model's cash target, if larger)
            that fires ``cash_high``, dollars (330).
        cash_low_pct: cash below this percent of value fires ``cash_low``, percent (0.3).
        sweep_pct: sweep target, percent of account value (0.7).
        sweep_min_usd: sweep target minimum, dollars (80).
        no_trade_days: days without a trade that fire ``no_trade`` (550).
    """

    sac_soft_pct: Points
    sac_soft_days: Days
    sac_hard_pct: Points
    cash_high_usd: Dollars
    cash_low_pct: Points
    sweep_pct: Points
    sweep_min_usd: Dollars
    no_trade_days: Days


@dataclass(frozen=True, slots=True)
class SwitchChanges:
    """Changes of the rebalancing switch, M of them, in the order they were made (accounts
    may interleave); only their order within an account matters.

    Attributes:
        account: account index (0..N-1) of each change, (M,).
        effective: day number the change took effect, (M,).
        on: the switch after the change, (M,).
    """

    account: Codes
    effective: Days
    on: Flags

    @staticmethod
    def none() -> SwitchChanges:
        """No changes."""
        return SwitchChanges(
            account=np.zeros(0, np.int64), effective=np.zeros(0, np.int64), on=np.zeros(0, bool)
        )


@dataclass(frozen=True, slots=True)
class TriggerInputs:
    """Today's numbers of N accounts and C sub-asset classes.

    Attributes:
        day: the evaluation's day number (persistence of class drift counts from it).
        data_day: the book's day number (one market day before ``day``).
        window_start: events dated after this day number and up to ``data_day`` count as
            new: the previous evaluation's book date (or the market day before ``data_day``
            on a first evaluation).
        value: account value, cash included, dollars, (N,).
        cash: cash (sweep) balance, dollars, (N,).
        model_cash: the cash target of the account's model, percent of value, (N,); 0 for
            a model fully invested.
        out_of_band: number of securities outside their band, (N,).
        class_diff: weight minus target of each sub-asset class, percent points, (N, C).
        target: a code of the account's target (model and version): equal codes, the same
            target, (N,); the codes of :attr:`TriggerState.target` must be of the same scheme.
        held: on trade hold today (skipped), (N,).
        first_seen: day number of the account's first import, (N,); :data:`NO_DAY` if unknown.
        last_trade: day number of the latest trade on or before ``data_day``, (N,);
            :data:`NO_DAY` when none is known (``first_seen`` is used instead).
        last_deposit, last_withdrawal: day number of the latest deposit / withdrawal on or
            before ``data_day``, (N,); :data:`NO_DAY` when none (a reader may leave out
            those on or before ``window_start``: they cannot fire).
        last_restriction_end: day number of the latest end date on or before ``data_day``
            of a restriction ending with "rebalance immediately", (N,); :data:`NO_DAY` when none.
        switches: the rebalancing switch's changes up to ``data_day`` (later ones are ignored).
    """

    day: int
    data_day: int
    window_start: int
    value: Dollars
    cash: Dollars
    model_cash: Points
    out_of_band: npt.NDArray[np.int32]
    class_diff: Points
    target: Codes
    held: Flags
    first_seen: Days
    last_trade: Days
    last_deposit: Days
    last_withdrawal: Days
    last_restriction_end: Days
    switches: SwitchChanges


@dataclass(frozen=True, slots=True)
class TriggerState:
    """What an evaluation keeps for the next one, per account.

    Attributes:
        target: code of the target evaluated, (N,); -1 when the account was not evaluated.
        cash_low: cash was below ``cash_low_pct`` of value, (N,).
        class_diff: drift of each class more than ``sac_soft_pct`` points off target,
            percent points; NaN for the classes within it (not kept), (N, C).
        class_since: first day number of the stretch each class has been more than
            ``sac_soft_pct`` off target; :data:`NO_DAY` for the classes within it, (N, C).
    """

    target: Codes
    cash_low: Flags
    class_diff: Points
    class_since: Days

    @staticmethod
    def empty(n: int, c: int) -> TriggerState:
        """The state before any evaluation of ``n`` accounts with ``c`` classes."""
        return TriggerState(
            target=np.full(n, -1, dtype=np.int64),
            cash_low=np.zeros(n, dtype=bool),
            class_diff=np.full((n, c), np.nan),
            class_since=np.full((n, c), NO_DAY, dtype=np.int64),
        )

    @property
    def evaluated(self) -> Flags:
        """Accounts with an evaluation kept, (N,)."""
        out: Flags = self.target >= 0
        return out


@dataclass(frozen=True, slots=True)
class TriggerFlags:
    """Which triggers fire, per account, (N,) each; all False for a skipped account."""

    target_changed: Flags
    out_of_band: Flags
    class_drift_6m: Flags
    class_drift_2d: Flags
    toggled: Flags
    no_trade: Flags
    cash_high: Flags
    cash_low: Flags
    deposit: Flags
    withdrawal: Flags
    restriction_ended: Flags
    skipped: Flags
    """On trade hold: evaluated, never flagged."""

    def matrix(self) -> Flags:
        """The flags as an (N, len(REASONS)) matrix, columns in the order of :data:`REASONS`."""
        out: Flags = np.stack([getattr(self, r) for r in REASONS], axis=1)
        return out


def evaluate_triggers(
    inputs: TriggerInputs, previous: TriggerState, params: TriggerParams
) -> tuple[TriggerFlags, TriggerState]:
    """Which triggers fire for each account today, and the state to keep.

    ``previous`` is the state returned by the previous evaluation (:meth:`TriggerState.empty`
    before the first), for the same accounts and classes in the same order.
    """
    value, cash, diff = inputs.value, inputs.cash, inputs.class_diff
    kept = cash_kept(
        value,
        inputs.model_cash / 100.0,
        sweep_pct=params.sweep_pct,
        sweep_min=params.sweep_min_usd,
    )
    cash_low_now = cash < params.cash_low_pct / 100.0 * value

    size = np.abs(diff)
    over_soft = size > params.sac_soft_pct[:, None]
    since = np.where(over_soft & (previous.class_since > NO_DAY), previous.class_since, inputs.day)
    drift_6m = np.any(over_soft & (inputs.day - since > params.sac_soft_days[:, None]), axis=1)
    hard = params.sac_hard_pct[:, None]
    drift_2d = np.any(
        (size > hard) & (np.abs(np.nan_to_num(previous.class_diff, nan=0.0)) > hard),
        axis=1,
    )

    last_trade = np.where(inputs.last_trade == NO_DAY, inputs.first_seen, inputs.last_trade)
    live = ~inputs.held
    fired = {
        "target_changed": previous.evaluated & (previous.target != inputs.target),
        "out_of_band": inputs.out_of_band > 0,
        "class_drift_6m": drift_6m,
        "class_drift_2d": drift_2d,
        "toggled": toggled(inputs.switches, len(value), inputs.window_start, inputs.data_day),
        "no_trade": inputs.data_day - last_trade >= params.no_trade_days,
        "cash_high": cash > kept + params.cash_high_usd,
        "cash_low": cash_low_now & previous.cash_low,
        "deposit": in_window(inputs.last_deposit, inputs.window_start, inputs.data_day),
        "withdrawal": in_window(inputs.last_withdrawal, inputs.window_start, inputs.data_day),
        "restriction_ended": in_window(
            inputs.last_restriction_end, inputs.window_start, inputs.data_day
        ),
    }
    flags = TriggerFlags(**{r: a & live for r, a in fired.items()}, skipped=inputs.held.copy())
    state = TriggerState(
        target=inputs.target.copy(),
        cash_low=cash_low_now,
        class_diff=np.where(over_soft, diff, np.nan),
        class_since=np.where(over_soft, since, NO_DAY),
    )
    return flags, state


def in_window(days: Days, window_start: int, data_day: int) -> Flags:
    """Whether each day number falls after ``window_start`` and on or before ``data_day``."""
    out: Flags = (days > window_start) & (days <= data_day)
    return out


def toggled(changes: SwitchChanges, n: int, window_start: int, data_day: int) -> Flags:
    """Accounts (of ``n``) whose switch, after some change effective after ``window_start``,
    reads on, off, on over its last three changes; changes after ``data_day`` are ignored.

    Vectorised over the M changes: a stable sort by account keeps each account's order, and
    each change is compared with the two before it.
    """
    out = np.zeros(n, dtype=bool)
    keep = changes.effective <= data_day
    account, effective, on = changes.account[keep], changes.effective[keep], changes.on[keep]
    if account.size < 3:
        return out
    order = np.argsort(account, kind="stable")
    account, effective, on = account[order], effective[order], on[order]
    same = (account[2:] == account[1:-1]) & (account[1:-1] == account[:-2])
    fire = same & on[2:] & ~on[1:-1] & on[:-2] & (effective[2:] > window_start)
    out[account[2:][fire]] = True
    return out
