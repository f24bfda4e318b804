"""The trade logics 1–6 of the product brief, computed in dollars at full precision.

Each logic returns a :class:`Plan`: signed dollars per slot (+ buy, − sell), which sells
liquidate the whole sellable position, reason flags, and a status and message per account.
Share rounding happens afterwards, in :mod:`trimtab.core.rounding`, the same for all logics.

Notation (see the brief): ``mv`` market value, ``V`` account value with cash, ``tgt`` the
target in dollars; "available cash" is cash minus the cash target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Fractions, Mask
from trimtab.core.money import HALF_CENT
from trimtab.core.reasons import Message, Reason, Status
from trimtab.core.tide import capped_proportional, rising_tide

Flags = npt.NDArray[np.uint32]
Codes = npt.NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class Amounts:
    """Per-account amounts a logic is asked for, dollars or fractions, (N,) each.

    ``cash_to_invest`` is NaN where the whole available cash is to be invested.
    """

    cash_to_generate: Dollars
    mccar: Fractions
    cash_to_invest: Dollars


@dataclass(slots=True)
class Plan:
    """Dollar trades a logic asks for, before rounding to shares."""

    dollars: Dollars
    full_sell: Mask
    reason: Flags
    status: Codes
    message: Codes
    round_sells_up: bool = False


@dataclass(frozen=True, slots=True)
class Context:
    """What every logic starts from: values in dollars, per slot (N, K) or account (N,)."""

    batch: AccountBatch
    market: Dollars
    value: Dollars
    tgt: Dollars
    low: Dollars
    high: Dollars
    sellable: Dollars
    available: Dollars
    non_model: Mask
    model: Mask

    @classmethod
    def of(cls, batch: AccountBatch) -> Context:
        market = batch.quantity * batch.price
        value = batch.cash + market.sum(axis=1)
        v = value[:, None]
        return cls(
            batch=batch,
            market=market,
            value=value,
            tgt=batch.target * v,
            low=batch.lower * v,
            high=batch.upper * v,
            sellable=batch.sell_limit * batch.price,
            available=batch.cash - batch.cash_target * value,
            non_model=batch.valid & ~batch.in_model & (batch.quantity > 0),
            model=batch.in_model & batch.valid,
        )

    def plan(self) -> Plan:
        n, k = self.market.shape
        return Plan(
            dollars=np.zeros((n, k)),
            full_sell=np.zeros((n, k), dtype=bool),
            reason=np.zeros((n, k), dtype=np.uint32),
            status=np.zeros(n, dtype=np.int8),
            message=np.zeros(n, dtype=np.int8),
        )


def _flag(plan: Plan, where: Mask, reason: Reason) -> None:
    np.bitwise_or(plan.reason, where * np.uint32(reason), out=plan.reason)


def _sell_non_model(ctx: Context, plan: Plan) -> Dollars:
    """Step "sell non-model": every held non-model security, as far as rules allow."""
    sell = ctx.sellable * ctx.non_model
    plan.full_sell |= ctx.non_model & (sell > 0)
    _flag(plan, ctx.non_model, Reason.NON_MODEL_SELL)
    _flag(plan, ctx.non_model & (ctx.sellable < ctx.market - HALF_CENT), Reason.SELL_LIMITED)
    return sell


def _wanted_buys(ctx: Context, plan: Plan, shortfall: Dollars) -> Dollars:
    """Dollars wanted per model line (``shortfall`` > half a cent), minus what rules block."""
    wanted = ctx.model & (shortfall > HALF_CENT)
    blocked = wanted & ~ctx.batch.buy_allowed
    _flag(plan, blocked, Reason.BUY_BLOCKED)
    return shortfall * (wanted & ~blocked)


def _limited_sell(
    ctx: Context, plan: Plan, wanted: Dollars, where: Mask, reason: Reason
) -> Dollars:
    sell = np.minimum(wanted, ctx.sellable) * where
    _flag(plan, where, reason)
    _flag(plan, where & (ctx.sellable < wanted - HALF_CENT), Reason.SELL_LIMITED)
    out: Dollars = np.maximum(sell, 0.0)
    return out


def rebalance_to_target(batch: AccountBatch) -> Plan:
    """Logic 1: sell above target down to target and non-model holdings; buy below target.

    Funds (proceeds + available cash) go to the below-target securities in proportion to
    their shortfall, each capped at its target.
    """
    ctx = Context.of(batch)
    plan = ctx.plan()
    excess = ctx.market - ctx.tgt
    above = ctx.model & (excess > HALF_CENT)
    sell = _sell_non_model(ctx, plan)
    sell += _limited_sell(ctx, plan, excess, above, Reason.ABOVE_TARGET_SELL)
    deficit = _wanted_buys(ctx, plan, -excess)
    funds = sell.sum(axis=1) + ctx.available
    total = deficit.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, np.clip(funds / total, 0.0, 1.0), 0.0)
    buy = deficit * scale[:, None]
    _flag(plan, deficit > 0, Reason.BELOW_TARGET_BUY)
    short = funds < total - HALF_CENT
    _flag(plan, (deficit > 0) & short[:, None], Reason.BUY_SCALED)
    plan.status[short] = Status.PART_SUCCESS
    plan.message[short] = Message.NOT_ENOUGH_FOR_TARGET
    _flag(plan, ctx.model & (np.abs(excess) <= HALF_CENT), Reason.AT_TARGET)
    plan.dollars = buy - sell
    return plan


def _tolerance_buys(ctx: Context, plan: Plan, need: Dollars, funds: Dollars) -> Dollars:
    """Buy up to the minimum; when funds are short, in proportion to the shortfall from target."""
    total = need.sum(axis=1)
    short = funds < total - HALF_CENT
    buy = need.copy()
    if short.any():
        toward_target = np.maximum(ctx.tgt - ctx.market, 0.0)
        rows = np.flatnonzero(short)
        buy[rows] = capped_proportional(toward_target[rows], need[rows], funds[rows])
        _flag(plan, (need > 0) & short[:, None], Reason.BUY_SCALED)
        plan.status[short] = Status.PART_SUCCESS
        plan.message[short] = Message.NOT_ENOUGH_FOR_TOLERANCE
    _flag(plan, need > 0, Reason.BELOW_MIN_BUY)
    return buy


def rebalance_to_tolerance(batch: AccountBatch) -> Plan:
    """Logic 2: above max down to target, non-model out, below min up to min.

    A shortfall is raised from in-band securities above target by rising tide (none below
    target); if still short the buys are scaled down (part success).
    """
    ctx = Context.of(batch)
    plan = ctx.plan()
    excess = ctx.market - ctx.tgt
    above_max = ctx.model & (ctx.market > ctx.high + HALF_CENT)
    sell = _sell_non_model(ctx, plan)
    sell += _limited_sell(ctx, plan, excess, above_max, Reason.ABOVE_MAX_SELL)
    need = _wanted_buys(
        ctx, plan, np.where(ctx.market < ctx.low - HALF_CENT, ctx.low - ctx.market, 0.0)
    )
    funds = sell.sum(axis=1) + ctx.available
    shortfall = need.sum(axis=1) - funds
    in_band_above = ctx.model & ~above_max & (excess > HALF_CENT)
    tide_cap = np.minimum(excess, ctx.sellable) * in_band_above
    tide = rising_tide(excess, np.maximum(tide_cap, 0.0), shortfall)
    _flag(plan, tide > 0, Reason.TIDE_SELL)
    sell += tide
    funds = funds + tide.sum(axis=1)
    buy = _tolerance_buys(ctx, plan, need, funds)
    _flag(plan, ctx.model & (sell == 0) & (need == 0) & (tide == 0), Reason.IN_BAND)
    plan.dollars = buy - sell
    return plan


def rebalance_to_tolerance_oot_only(batch: AccountBatch) -> Plan:
    """Logic 3: as logic 2, but only out-of-band and non-model securities trade.

    A shortfall comes from the securities being sold above their max, by rising tide below
    their target, none below its min.
    """
    ctx = Context.of(batch)
    plan = ctx.plan()
    excess = ctx.market - ctx.tgt
    above_max = ctx.model & (ctx.market > ctx.high + HALF_CENT)
    sell = _sell_non_model(ctx, plan)
    first = _limited_sell(ctx, plan, excess, above_max, Reason.ABOVE_MAX_SELL)
    sell += first
    need = _wanted_buys(
        ctx, plan, np.where(ctx.market < ctx.low - HALF_CENT, ctx.low - ctx.market, 0.0)
    )
    funds = sell.sum(axis=1) + ctx.available
    shortfall = need.sum(axis=1) - funds
    left = ctx.market - first
    room = np.minimum(left - ctx.low, ctx.sellable - first)
    tide_cap = np.maximum(room, 0.0) * above_max
    tide = rising_tide(left - ctx.tgt, tide_cap, shortfall)
    _flag(plan, tide > 0, Reason.TIDE_BELOW_TARGET)
    sell += tide
    funds = funds + tide.sum(axis=1)
    buy = _tolerance_buys(ctx, plan, need, funds)
    _flag(plan, ctx.model & ~above_max & (need == 0), Reason.NOT_OUT_OF_BAND)
    plan.dollars = buy - sell
    return plan


def _investable(ctx: Context, amounts: Amounts) -> Dollars:
    cash = np.maximum(ctx.available, 0.0)
    asked = amounts.cash_to_invest
    out: Dollars = np.where(np.isnan(asked), cash, np.minimum(cash, np.maximum(asked, 0.0)))
    return out


def _invest_status(plan: Plan, amount: Dollars, total: Dollars) -> None:
    short = amount < total - HALF_CENT
    excess = amount > total + HALF_CENT
    plan.status[short | excess] = Status.PART_SUCCESS
    plan.message[short] = Message.NOT_ENOUGH_CASH
    plan.message[excess] = Message.EXCESS_CASH


def invest_cash_proportional(batch: AccountBatch, amounts: Amounts) -> Plan:
    """Logic 4: invest available cash (or the amount asked, at most that) in below-target
    securities in proportion to their shortfall, each capped at target. Never sells."""
    ctx = Context.of(batch)
    plan = ctx.plan()
    deficit = _wanted_buys(ctx, plan, ctx.tgt - ctx.market)
    amount = _investable(ctx, amounts)
    total = deficit.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, np.clip(amount / total, 0.0, 1.0), 0.0)
    plan.dollars = deficit * scale[:, None]
    _flag(plan, plan.dollars > 0, Reason.INVEST_BUY)
    _flag(plan, ctx.model & (deficit == 0) & ~(plan.reason > 0), Reason.ABOVE_TARGET_NO_BUY)
    _flag(plan, (deficit > 0) & (plan.dollars <= 0), Reason.CASH_RAN_OUT)
    _invest_status(plan, amount, total)
    return plan


def invest_cash_min_trades(batch: AccountBatch, amounts: Amounts) -> Plan:
    """Logic 5: buy the security farthest below target up to target, then the next, until
    the cash runs out. Never sells."""
    ctx = Context.of(batch)
    plan = ctx.plan()
    deficit = _wanted_buys(ctx, plan, ctx.tgt - ctx.market)
    amount = _investable(ctx, amounts)
    order = np.argsort(-deficit, axis=1, kind="stable")
    ranked = np.take_along_axis(deficit, order, axis=1)
    before = np.cumsum(ranked, axis=1) - ranked
    bought = np.clip(amount[:, None] - before, 0.0, ranked)
    buy = np.zeros_like(deficit)
    np.put_along_axis(buy, order, bought, axis=1)
    buy[buy <= HALF_CENT] = 0.0
    plan.dollars = buy
    _flag(plan, buy > 0, Reason.INVEST_BUY)
    _flag(plan, ctx.model & (deficit == 0) & ~(plan.reason > 0), Reason.ABOVE_TARGET_NO_BUY)
    _flag(plan, (deficit > 0) & (buy <= 0), Reason.CASH_RAN_OUT)
    _invest_status(plan, amount, deficit.sum(axis=1))
    return plan


def generate_cash(batch: AccountBatch, amounts: Amounts) -> Plan:
    """Logic 6: raise ``cash_to_generate`` + MCCAR x value, existing cash counting toward it.

    The model is adjusted by ``(1 - r)``, ``r`` = wanted cash / value. Then: sell non-model
    holdings (always, even when cash already covers the amount); rising tide down to
    adjusted target, then on below it, none below its adjusted min; then the rest pro rata
    to value. Sells round up to whole units. Fails, with no
    trades, when the account cannot cover the amount.
    """
    ctx = Context.of(batch)
    plan = ctx.plan()
    plan.round_sells_up = True
    wanted = amounts.cash_to_generate + amounts.mccar * ctx.value
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(ctx.value > 0, wanted / ctx.value, 0.0)
    keep = (1.0 - r)[:, None]
    to_raise = wanted - ctx.batch.cash
    active = to_raise > HALF_CENT
    # Held securities outside the model (exclusions that liquidate immediately among them)
    # are sold in full even when existing cash already covers the amount: every logic that
    # sells sells them (brief, "sell non-model"); their proceeds stay in cash.
    sell = _sell_non_model(ctx, plan)
    remaining = to_raise - sell.sum(axis=1)
    adjusted_excess = ctx.market - ctx.tgt * keep
    floor_room = ctx.market - ctx.low * keep
    cap = np.where(ctx.model, np.clip(np.minimum(floor_room, ctx.sellable), 0.0, None), 0.0)
    tide = rising_tide(adjusted_excess, cap, np.where(active, remaining, 0.0))
    _flag(plan, (tide > 0) & (adjusted_excess - tide >= -HALF_CENT), Reason.TIDE_SELL)
    _flag(plan, (tide > 0) & (adjusted_excess - tide < -HALF_CENT), Reason.TIDE_BELOW_TARGET)
    sell += tide
    remaining = remaining - tide.sum(axis=1)
    rest = np.maximum(ctx.sellable - tide, 0.0) * ctx.model
    rest_total = rest.sum(axis=1)
    more = active & (remaining > HALF_CENT)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(more & (rest_total > 0), np.clip(remaining / rest_total, 0.0, 1.0), 0.0)
    pro_rata = rest * share[:, None]
    _flag(plan, pro_rata > 0, Reason.PRO_RATA_SELL)
    sell += pro_rata
    plan.full_sell |= ctx.model & (sell >= ctx.sellable - HALF_CENT) & (sell > 0)
    failed = more & (rest_total < remaining - HALF_CENT)
    sell[failed] = 0.0
    plan.full_sell[failed] = False
    plan.reason[failed] = np.uint32(Reason.FAILED)
    plan.status[failed] = Status.FAILED
    plan.message[failed] = Message.CANNOT_COVER
    _flag(plan, ctx.batch.valid & (sell == 0) & ~failed[:, None], Reason.GENERATE_NOT_NEEDED)
    plan.dollars = -sell
    return plan
