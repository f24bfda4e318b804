"""The replay: a book day by day over its price history under one policy and trade logic.

Day 0 is the book as given, valued at the first closes. On each later market day ``t``:

1. the policy picks the accounts to rebalance (a calendar date, or the daily evaluation of
   the previous close by the service's triggers, :mod:`trimtab.backtest.evaluation`);
   accounts with rebalancing off or on trade hold never trade;
2. those accounts are proposed for at the close of ``t - 1`` and filled at the close of
   ``t`` (:mod:`trimtab.backtest.trading`);
3. dividends of day ``t`` are paid in cash on the shares held at the close of ``t - 1``,
   rounded to the cent per holding;
4. the cash flows of day ``t`` are booked;
5. the book is valued at the close of ``t``: ``value = quantities x closes + cash``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from trimtab.backtest.evaluation import Activity, evaluate_day
from trimtab.backtest.lotstore import LotStore
from trimtab.backtest.policies import Policy, calendar_days, cash_only
from trimtab.backtest.setup import Setup
from trimtab.backtest.tax import TaxRates, year_tax
from trimtab.backtest.trading import Costs, Fills, WashState, trade
from trimtab.core.drift import DriftResult, drift
from trimtab.core.engine import Method, TradeOptions
from trimtab.core.partial import cash_kept
from trimtab.core.triggers import TriggerFlags, TriggerState

Dollars = npt.NDArray[np.float64]
COMPACT_EVERY = 20
"""Trading days between two compactions of the lot store."""


@dataclass(frozen=True, slots=True)
class Run:
    """A policy with the trade logic of its rebalance step (``None`` for ``hold``)."""

    policy: Policy
    method: Method | None

    @property
    def name(self) -> str:
        return self.policy.name if self.method is None else f"{self.policy.name} / {self.method}"


@dataclass(slots=True)
class Log:
    """Fills and lot reliefs of a run, as lists of per-day arrays (concatenated on demand)."""

    fills: list[tuple[int, Fills]] = field(default_factory=list)

    def column(self, name: str) -> npt.NDArray[np.generic]:
        parts = [getattr(f, name) for _, f in self.fills]
        return np.concatenate(parts) if parts else np.zeros(0)

    def relief(self, name: str) -> npt.NDArray[np.generic]:
        parts = [getattr(f.relief, name) for _, f in self.fills]
        return np.concatenate(parts) if parts else np.zeros(0)

    def fill_days(self) -> npt.NDArray[np.int64]:
        return np.concatenate(
            [np.full(f.account.size, t, np.int64) for t, f in self.fills] or [np.zeros(0, np.int64)]
        )

    def relief_days(self) -> npt.NDArray[np.int64]:
        return np.concatenate(
            [np.full(f.relief.lot.size, t, np.int64) for t, f in self.fills]
            or [np.zeros(0, np.int64)]
        )


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run did.

    Per day, (T,): ``value`` and ``cash`` of the book at the close, ``mean_drift`` and
    ``worst_drift`` (largest security drift of the managed accounts, percent points: mean
    and worst), ``trades``, ``events`` (accounts that traded) and ``traded`` dollars.
    Per account, (N,): realised ``short_term`` and ``long_term`` gains, estimated ``tax``,
    ``tracking_error`` (percent, annualised; NaN with fewer than two days of value),
    ``value_end``. ``book_tracking_error``: the same for the managed accounts together.
    ``quantity``, ``cash_end`` and ``lots``: the book at the last close.
    """

    run: Run
    value: Dollars
    cash: Dollars
    mean_drift: Dollars
    worst_drift: Dollars
    trades: npt.NDArray[np.int64]
    events: npt.NDArray[np.int64]
    traded: Dollars
    cost: float
    short_term: Dollars
    long_term: Dollars
    tax: Dollars
    tracking_error: Dollars
    book_tracking_error: float
    quantity: Dollars
    cash_end: Dollars
    lots: LotStore
    log: Log


def _close(setup: Setup, t: int, quantity: Dollars, cash: Dollars) -> tuple[DriftResult, Dollars]:
    price = setup.history.close[t][setup.slot_symbol]
    result = drift(replace(setup.base, price=price, quantity=quantity, cash=cash))
    return result, quantity * price


class _Accrual:
    """Running sums a run reports: active returns per account and book, gains per year."""

    def __init__(self, n: int, rates: TaxRates, qualified: npt.NDArray[np.bool_]) -> None:
        self.count = np.zeros(n)
        self.sum = np.zeros(n)
        self.squares = np.zeros(n)
        self.book: list[float] = []
        self.short_year = np.zeros(n)
        self.long_year = np.zeros(n)
        self.short = np.zeros(n)
        self.long = np.zeros(n)
        self.tax = np.zeros(n)
        self.rates = rates
        self.taxed = ~qualified

    def returns(
        self,
        before: Dollars,
        after: Dollars,
        flows: Dollars,
        target: Dollars,
        managed: npt.NDArray[np.bool_],
    ) -> None:
        live = managed & (before > 0)
        safe = np.where(live, before, 1.0)
        active = np.where(live, (after - flows) / safe - 1.0 - target, 0.0)
        self.count += live
        self.sum += active
        self.squares += active * active
        total = before[live].sum()
        if total > 0:
            book = (after[live] - flows[live]).sum() / total - 1.0
            self.book.append(book - float((before[live] * target[live]).sum() / total))

    def gains(self, fills: Fills) -> None:
        r = fills.relief
        gain = np.nan_to_num(r.gain, nan=0.0)
        n = self.short_year.size
        self.short_year += np.bincount(
            r.account, weights=np.where(r.long_term, 0.0, gain), minlength=n
        )
        self.long_year += np.bincount(
            r.account, weights=np.where(r.long_term, gain, 0.0), minlength=n
        )

    def close_year(self) -> None:
        self.tax += year_tax(self.short_year, self.long_year, self.rates) * self.taxed
        self.short += self.short_year
        self.long += self.long_year
        self.short_year[:] = 0.0
        self.long_year[:] = 0.0

    def tracking_error(self) -> tuple[Dollars, float]:
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (self.squares - self.sum**2 / self.count) / (self.count - 1)
        each = np.where(self.count >= 2, np.sqrt(np.maximum(var, 0.0) * 252) * 100, np.nan)
        book = (
            float(np.std(self.book, ddof=1) * np.sqrt(252) * 100) if len(self.book) > 1 else np.nan
        )
        return each, book


def _steps(
    setup: Setup,
    run: Run,
    options: TradeOptions,
    due: npt.NDArray[np.bool_],
    managed: npt.NDArray[np.bool_],
    flags: TriggerFlags | None,
    value: Dollars,
    cash: Dollars,
) -> list[tuple[npt.NDArray[np.int64], Method, TradeOptions]]:
    """The day's proposals: the ``due`` accounts (``managed`` ones) by the run's logic, the
    whole household of each with household rebalance; with a partial policy
    (:attr:`~trimtab.backtest.policies.Policy.partial`), the accounts flagged for cash alone
    apart: a deposit of the cash above what the account is meant to hold
    (:func:`~trimtab.core.partial.cash_kept`), or generate cash to raise its cash to that."""
    assert run.method is not None
    partial = np.zeros_like(due)
    if run.policy.partial and flags is not None:
        partial = due & cash_only(flags)
    full = due & ~partial
    if run.method is Method.HOUSEHOLD_REBALANCE:
        full = np.isin(setup.household, setup.household[full]) & managed
        partial &= ~full
    arrays = setup.loaded.arrays
    kept = cash_kept(
        value,
        arrays.model_cash[arrays.account_model],
        sweep_pct=setup.params.sweep_pct,
        sweep_min=setup.params.sweep_min_usd,
    )
    lacking = partial & (cash < kept)
    sweep = replace(options, sweep_pct=setup.params.sweep_pct, sweep_min=setup.params.sweep_min_usd)
    # the cash wanted in all (what the account holds counts toward it)
    raise_cash = replace(sweep, cash_to_generate=np.where(lacking, kept, 0.0))
    steps = [
        (full, run.method, options),
        (partial & ~lacking, Method.DEPOSIT, sweep),
        (lacking, Method.GENERATE_CASH, raise_cash),
    ]
    return [(np.flatnonzero(m), method, o) for m, method, o in steps if m.any()]


def run_policy(
    setup: Setup,
    run: Run,
    options: TradeOptions,
    *,
    costs: Costs | None = None,
    rates: TaxRates | None = None,
) -> RunResult:
    """Replay ``setup`` under ``run`` (no costs and 37% / 20% tax rates by default)."""
    costs = costs or Costs()
    rates = rates or TaxRates()
    h = setup.history
    n = setup.size
    T = h.size
    arrays = setup.loaded.arrays
    quantity = arrays.quantity.copy()
    cash = arrays.cash.copy()
    lots = setup.lots.copy()
    wash = WashState.empty(int(setup.household.max(initial=0)) + 1, h.close.shape[1] - 1)
    activity = Activity.none(n)
    state = TriggerState.empty(n, setup.n_classes)
    calendar = calendar_days(h.days, run.policy.period) if run.policy.period else None
    managed = setup.managed & ~setup.rules.hold
    years = h.days.astype("datetime64[Y]").astype(np.int64)
    day_numbers = h.days.astype(np.int64)
    accrual = _Accrual(n, rates, setup.qualified)
    log = Log()
    series = {name: np.zeros(T) for name in ("value", "cash", "mean", "worst", "traded")}
    trades = np.zeros(T, dtype=np.int64)
    events = np.zeros(T, dtype=np.int64)
    total_cost = 0.0
    traded_days = 0

    def book_flows(t: int) -> Dollars:
        flows = setup.flows.on(t, n)
        np.add(cash, flows, out=cash)
        activity.last_deposit[flows > 0] = day_numbers[t]
        activity.last_withdrawal[flows < 0] = day_numbers[t]
        return flows

    def record(t: int, close: DriftResult) -> None:
        series["value"][t] = close.value.sum()
        series["cash"][t] = cash.sum()
        worst = close.max_drift[setup.managed] * 100.0
        series["mean"][t] = worst.mean() if worst.size else 0.0
        series["worst"][t] = worst.max(initial=0.0)

    book_flows(0)
    close, market = _close(setup, 0, quantity, cash)
    record(0, close)
    for t in range(1, T):
        if years[t] != years[t - 1]:
            accrual.close_year()
        due = None
        flags = None
        if run.policy.evaluates:
            flags, state = evaluate_day(setup, t, close, market, cash, activity, state)
            due = run.policy.due(flags)
        elif calendar is not None and calendar[t]:
            due = np.ones(n, dtype=bool)
        dividends = np.round(h.dividend[t][setup.slot_symbol] * quantity, 2).sum(axis=1)
        if due is not None and run.method is not None:
            steps = _steps(setup, run, options, due & managed, managed, flags, close.value, cash)
            traded_today = []
            for accounts, method, step_options in steps:
                fills = trade(
                    setup,
                    accounts,
                    method,
                    step_options,
                    t=t,
                    quantity=quantity,
                    cash=cash,
                    lots=lots,
                    wash=wash,
                    costs=costs,
                )
                if fills.account.size:
                    log.fills.append((t, fills))
                    accrual.gains(fills)
                    traded_today.append(fills.account)
                    trades[t] += fills.account.size
                    series["traded"][t] += np.abs(fills.amount).sum()
                    total_cost += float(fills.cost.sum())
            if traded_today:
                traded_accounts = np.unique(np.concatenate(traded_today))
                activity.last_trade[traded_accounts] = day_numbers[t]
                events[t] = traded_accounts.size
                traded_days += 1
                if traded_days % COMPACT_EVERY == 0:
                    lots.compact()
        cash += dividends
        flows = book_flows(t)
        before = close.value
        close, market = _close(setup, t, quantity, cash)
        grow = (h.close[t] + h.dividend[t]) / h.close[t - 1] - 1.0
        target = (setup.base.target * grow[setup.slot_symbol]).sum(axis=1)
        accrual.returns(before, close.value, flows, target, setup.managed)
        record(t, close)
    accrual.close_year()
    lots.compact()
    each, book = accrual.tracking_error()
    return RunResult(
        run=run,
        value=series["value"],
        cash=series["cash"],
        mean_drift=series["mean"],
        worst_drift=series["worst"],
        trades=trades,
        events=events,
        traded=series["traded"],
        cost=total_cost,
        short_term=accrual.short,
        long_term=accrual.long,
        tax=accrual.tax,
        tracking_error=each,
        book_tracking_error=book,
        quantity=quantity,
        cash_end=cash,
        lots=lots,
        log=log,
    )
