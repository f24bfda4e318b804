"""Proposals for a batch of accounts: pick the logic, plan in dollars, round to shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Fractions, Shares
from trimtab.core.logics import (
    Amounts,
    Plan,
    generate_cash,
    invest_cash_min_trades,
    invest_cash_proportional,
    rebalance_to_target,
    rebalance_to_tolerance,
    rebalance_to_tolerance_oot_only,
)
from trimtab.core.partial import SWEEP_MIN, SWEEP_PCT, deposit, withdrawal
from trimtab.core.restrictions import GroupArrays, collapsed, expand
from trimtab.core.rounding import round_plan
from trimtab.errors import InputError


class Method(StrEnum):
    """The trade logics, spelled as in the proposal format."""

    REBALANCE_TO_TARGET = "rebalance_to_target"
    REBALANCE_TO_TOLERANCE = "rebalance_to_tolerance"
    REBALANCE_TO_TOLERANCE_OOT_ONLY = "rebalance_to_tolerance_oot_only"
    INVEST_CASH_PROPORTIONAL = "invest_cash_proportional"
    INVEST_CASH_MIN_TRADES = "invest_cash_min_trades"
    GENERATE_CASH = "generate_cash"
    BEST_FIT = "best_fit"
    MINIMUM_TRANSACTION = "minimum_transaction"
    HOUSEHOLD_REBALANCE = "household_rebalance"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


SOLVER_METHODS = frozenset({Method.BEST_FIT, Method.MINIMUM_TRANSACTION})
"""Logics planned by :mod:`trimtab.optimize` (a solver outside the core); pass its
``plan_trades`` as ``planner`` to :func:`propose`, or call ``trimtab.optimize.propose``."""


@dataclass(frozen=True, slots=True)
class TradeOptions:
    """How trades are sized.

    Attributes:
        fractional: trade fractional shares (units of ``10**-share_decimals``) instead of whole.
        share_decimals: decimals of a share unit with ``fractional``.
        cash_to_generate: dollars to raise (generate cash); a number or one per account.
        mccar_pct: minimum cash as percent of account value (generate cash).
        cash_to_invest: dollars to invest at most (invest cash); ``None`` for all available.
        min_trade_value: dollars; smaller trades are dropped.
        sub_asset_class: sub-asset-class code per slot of the book, (N, K), -1 for none
            (withdrawal); ``None``: no classes, a withdrawal never turns into a full rebalance.
        sweep_pct, sweep_min: the cash sweep target, percent of value and dollars (deposit);
            a number or one per account.
    """

    fractional: bool = False
    share_decimals: int = 3
    cash_to_generate: float | Dollars = 0.0
    mccar_pct: float = 0.0
    cash_to_invest: float | Dollars | None = None
    min_trade_value: float = 0.0
    sub_asset_class: npt.NDArray[np.int32] | None = None
    sweep_pct: float | Fractions = SWEEP_PCT
    sweep_min: float | Dollars = SWEEP_MIN

    @property
    def unit(self) -> float:
        """The share unit: 1 share, or ``10**-share_decimals`` with fractional shares."""
        return 10.0**-self.share_decimals if self.fractional else 1.0

    def rows(self, start: int, stop: int) -> TradeOptions:
        """These options for accounts ``start:stop`` of a book: per-account amounts and
        sub-asset classes sliced, so that a partition of the book carries its own."""
        return self.take(slice(start, stop))

    def take(self, accounts: slice | npt.NDArray[np.intp]) -> TradeOptions:
        """These options for the ``accounts`` (a slice or indices) of the batch they are for."""

        def cut(x: float | Dollars | None) -> float | Dollars | None:
            if x is None or np.ndim(x) == 0:
                return x
            return np.asarray(x)[accounts]

        classes = self.sub_asset_class
        return replace(
            self,
            cash_to_generate=cut(self.cash_to_generate),  # type: ignore[arg-type]
            cash_to_invest=cut(self.cash_to_invest),
            sweep_pct=cut(self.sweep_pct),  # type: ignore[arg-type]
            sweep_min=cut(self.sweep_min),  # type: ignore[arg-type]
            sub_asset_class=None if classes is None else classes[accounts],
        )

    def amounts(self, rows: slice, n: int) -> Amounts:
        """The per-account amounts of rows ``rows`` (``n`` of them)."""

        def pick(x: float | Dollars | None, default: float) -> Dollars:
            if x is None:
                return np.full(n, default)
            arr = np.asarray(x, dtype=np.float64)
            return np.broadcast_to(arr, (n,)).copy() if arr.ndim == 0 else arr[rows].copy()

        return Amounts(
            cash_to_generate=pick(self.cash_to_generate, 0.0),
            mccar=pick(self.mccar_pct / 100.0, 0.0),
            cash_to_invest=pick(self.cash_to_invest, np.nan),
        )


@dataclass(frozen=True, slots=True)
class BatchProposal:
    """Proposals for ``N`` accounts, slot by slot as in the batch.

    Attributes:
        trade_value: dollars the logic asked for before rounding, signed (+ buy, − sell), (N, K).
        quantity: shares after rounding, signed, (N, K).
        order_value: quantity x price rounded to the cent, signed dollars, (N, K).
        value: account value in dollars, cash included, (N,).
        cash_after: cash after the trades, dollars to the cent, (N,).
        weight_before, weight_after: fractions of account value, (N, K).
        reason: :class:`Reason` flags, (N, K).
        status: :class:`Status` codes, (N,).
        message: :class:`Message` codes, (N,).
    """

    trade_value: Dollars
    quantity: Shares
    order_value: Dollars
    value: Dollars
    cash_after: Dollars
    weight_before: Fractions
    weight_after: Fractions
    reason: npt.NDArray[np.uint32]
    status: npt.NDArray[np.int8]
    message: npt.NDArray[np.int8] = field(repr=False)


def plan_trades(batch: AccountBatch, method: Method, options: TradeOptions, rows: slice) -> Plan:
    """The dollar plan of ``method`` for ``batch`` (whose accounts are ``rows`` of the book)."""
    amounts = options.amounts(rows, batch.size)
    match method:
        case Method.REBALANCE_TO_TARGET:
            return rebalance_to_target(batch)
        case Method.REBALANCE_TO_TOLERANCE:
            return rebalance_to_tolerance(batch)
        case Method.REBALANCE_TO_TOLERANCE_OOT_ONLY:
            return rebalance_to_tolerance_oot_only(batch)
        case Method.INVEST_CASH_PROPORTIONAL:
            return invest_cash_proportional(batch, amounts)
        case Method.INVEST_CASH_MIN_TRADES:
            return invest_cash_min_trades(batch, amounts)
        case Method.GENERATE_CASH:
            return generate_cash(batch, amounts)
        case Method.DEPOSIT:
            return deposit(batch, amounts, sweep_pct=options.sweep_pct, sweep_min=options.sweep_min)
        case Method.WITHDRAWAL:
            classes = options.sub_asset_class
            return withdrawal(
                batch,
                amounts,
                np.full(batch.price.shape, -1, np.int32) if classes is None else classes[rows],
                unit=options.unit,
                min_trade_value=options.min_trade_value,
            )
        case Method.BEST_FIT | Method.MINIMUM_TRANSACTION:
            raise InputError(
                "method", f"{method.value} needs the solver: use trimtab.optimize.propose"
            )
        case Method.HOUSEHOLD_REBALANCE:
            raise InputError(
                "method", "household_rebalance plans households: use trimtab.core.household"
            )
    raise ValueError(f"unknown method {method!r}")  # pragma: no cover - enum is closed


Planner = Callable[[AccountBatch, Method, TradeOptions, slice], Plan]
"""Signature of :func:`plan_trades`: the dollar plan of a method for a batch."""


def propose(
    batch: AccountBatch,
    method: Method,
    options: TradeOptions | None = None,
    *,
    rows: slice | None = None,
    groups: GroupArrays | None = None,
    planner: Planner | None = None,
) -> BatchProposal:
    """Proposals for every account of ``batch`` by ``method``.

    ``rows`` says which accounts of a larger book the batch holds, for per-account amounts
    in ``options``; by default the batch is the whole book. ``groups`` are equivalents
    groups: each is planned as one security, then shared out to its members (the batch's
    arrays are collapsed in place while the logic plans, see
    :func:`~trimtab.core.restrictions.collapsed`). ``planner``
    replaces :func:`plan_trades` (e.g. ``trimtab.optimize.plan_trades`` for the solver logics).
    """
    options = options or TradeOptions()
    rows = rows if rows is not None else slice(0, batch.size)
    plan_of = planner or plan_trades
    if groups is None:
        plan = plan_of(batch, method, options, rows)
    else:
        with collapsed(batch, groups) as merged:
            plan = plan_of(merged, method, options, rows)
        plan = expand(plan, batch, groups)
    rounded = round_plan(batch, plan, unit=options.unit, min_trade_value=options.min_trade_value)
    market = batch.quantity * batch.price
    value = batch.cash + market.sum(axis=1)
    scale = np.divide(1.0, value, out=np.zeros_like(value), where=value > 0)[:, None]
    after = (batch.quantity + rounded.quantity) * batch.price
    value_after = rounded.cash_after + after.sum(axis=1)
    scale_after = np.divide(1.0, value_after, out=np.zeros_like(value), where=value_after > 0)
    return BatchProposal(
        trade_value=plan.dollars,
        quantity=rounded.quantity,
        order_value=rounded.order_value,
        value=value,
        cash_after=rounded.cash_after,
        weight_before=market * scale,
        weight_after=after * scale_after[:, None],
        reason=plan.reason,
        status=plan.status,
        message=plan.message,
    )
