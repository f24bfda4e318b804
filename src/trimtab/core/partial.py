"""Partial rebalances (logics 10 and 11) and drift by sub-asset class.

- **Deposit**: invest the cash above the sweep target — ``sweep_pct`` of account value with
  a ``sweep_min`` dollar minimum (0.7% and $80 by default), or the model's cash target if
  that is larger — in the most underweight securities first: logic 5 (invest cash, minimize
  trades) against that cash target.
- **Withdrawal**: raise the amount most overweight first: logic 6 (generate cash, rising
  tide). If afterwards any sub-asset class is more than ``limit`` (5 points) off its
  target, the account gets a full rebalance instead: rebalance to target (logic 1) against
  the model adjusted for the cash, as in logic 6 (targets and band times ``1 − r``, cash
  target ``r``), with sells rounded up so that at least the amount is raised.

Sub-asset-class drift is measured after rounding, on the value that stays in the account:
account value minus the cash withdrawn (``cash_to_generate``; the MCCAR cash stays). Held
securities outside the model have no sub-asset class and do not count.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Fractions
from trimtab.core.logics import (
    Amounts,
    Plan,
    generate_cash,
    invest_cash_min_trades,
    rebalance_to_target,
)
from trimtab.core.reasons import Status
from trimtab.core.rounding import round_plan

Codes = npt.NDArray[np.int32]

SWEEP_PCT = 0.7
"""Cash sweep target, percent of account value."""
SWEEP_MIN = 80.0
"""Cash sweep target minimum, dollars."""
CLASS_DRIFT_LIMIT = 0.05
"""Fraction of account value (5 points) a sub-asset class may drift before a withdrawal
turns into a full rebalance."""


def sweep_target(
    value: Dollars,
    *,
    sweep_pct: float | Fractions = SWEEP_PCT,
    sweep_min: float | Dollars = SWEEP_MIN,
) -> Dollars:
    """The sweep target in dollars: ``sweep_pct`` percent of ``value``, at least ``sweep_min``
    (each a number, or one per account)."""
    out: Dollars = np.maximum(value * (sweep_pct / 100.0), sweep_min)
    return out


def cash_kept(
    value: Dollars,
    cash_target: Fractions,
    *,
    sweep_pct: float | Fractions = SWEEP_PCT,
    sweep_min: float | Dollars = SWEEP_MIN,
) -> Dollars:
    """The cash an account is meant to hold, dollars: its sweep target (:func:`sweep_target`),
    or its model's cash target (``cash_target``, a fraction of ``value``) where that is larger.

    A deposit invests the cash above it, and the daily evaluation's ``cash_high`` trigger
    measures cash against it: a model that holds cash keeps that cash after a rebalance, so
    it is not cash to invest. A model without cash keeps the sweep target alone.
    """
    out: Dollars = np.maximum(
        sweep_target(value, sweep_pct=sweep_pct, sweep_min=sweep_min), cash_target * value
    )
    return out


def deposit(
    batch: AccountBatch,
    amounts: Amounts,
    *,
    sweep_pct: float | Fractions = SWEEP_PCT,
    sweep_min: float | Dollars = SWEEP_MIN,
) -> Plan:
    """Logic 10: invest cash above the sweep target, most underweight first. Never sells.

    ``amounts.cash_to_invest`` caps the dollars invested (NaN: all cash above the target).
    """
    value = batch.cash + np.einsum("ij,ij->i", batch.quantity, batch.price)
    keep = cash_kept(value, batch.cash_target, sweep_pct=sweep_pct, sweep_min=sweep_min)
    cash_target = np.divide(keep, value, out=np.ones_like(value), where=value > 0)
    return invest_cash_min_trades(replace(batch, cash_target=cash_target), amounts)


def class_drift(
    dollars: Dollars, value: Dollars, target: Fractions, classes: Codes, n_classes: int
) -> Fractions:
    """Weight minus target per sub-asset class, fractions of ``value``, (N, n_classes).

    Args:
        dollars: market value per slot, (N, K).
        value: the value weights are fractions of, dollars, (N,).
        target: target weight per slot, fractions of account value, (N, K).
        classes: sub-asset-class code per slot, (N, K); -1 for none (not counted).
    """
    n = dollars.shape[0]
    counted = classes >= 0
    index = (np.arange(n)[:, None] * n_classes + np.where(counted, classes, 0))[counted]
    scale = np.divide(1.0, value, out=np.zeros_like(value), where=value > 0)
    weight = (dollars * scale[:, None])[counted]
    held = np.bincount(index, weights=weight, minlength=n * n_classes)
    wanted = np.bincount(index, weights=target[counted], minlength=n * n_classes)
    out: Fractions = np.asarray(held - wanted, dtype=np.float64).reshape(n, n_classes)
    return out


def withdrawal(
    batch: AccountBatch,
    amounts: Amounts,
    classes: Codes,
    *,
    unit: float,
    min_trade_value: float = 0.0,
    limit: float = CLASS_DRIFT_LIMIT,
) -> Plan:
    """Logic 11: generate cash; where a sub-asset class would then be more than ``limit``
    (fraction of the value left) off target, a full rebalance that still raises the cash.

    ``classes`` is the sub-asset-class code per slot, (N, K), -1 for none; ``unit`` and
    ``min_trade_value`` are the rounding settings the plan will be rounded with (shares,
    dollars), needed to judge the drift after rounding.
    """
    partial = generate_cash(batch, amounts)
    probe = replace(partial, reason=partial.reason.copy())
    rounded = round_plan(batch, probe, unit=unit, min_trade_value=min_trade_value)
    value = batch.cash + np.einsum("ij,ij->i", batch.quantity, batch.price)
    left = value - amounts.cash_to_generate
    n_classes = int(classes.max()) + 1 if classes.size and classes.max() >= 0 else 0
    if n_classes == 0:
        return partial
    after = (batch.quantity + rounded.quantity) * batch.price
    drift = class_drift(after, left, batch.target, classes, n_classes)
    full = (np.abs(drift).max(axis=1) > limit) & (partial.status != Status.FAILED)
    if not full.any():
        return partial
    wanted = amounts.cash_to_generate + amounts.mccar * value
    r = np.divide(wanted, value, out=np.zeros_like(value), where=value > 0)
    keep = (1.0 - r)[:, None]
    adjusted = replace(
        batch,
        target=batch.target * keep,
        lower=batch.lower * keep,
        upper=batch.upper * keep,
        cash_target=r,
    )
    rebalance = rebalance_to_target(adjusted)
    rows = np.flatnonzero(full)
    for name in ("dollars", "full_sell", "reason", "status", "message"):
        getattr(partial, name)[rows] = getattr(rebalance, name)[rows]
    return partial
