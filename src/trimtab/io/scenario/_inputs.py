"""The scenario file's pydantic input models (the ``...In`` classes, one account's and a
household's), and the checks on them that a schema cannot state, shared by both kinds of
scenario: a model's targets and bands, the trade options, a position's shares.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import InputError, ScenarioError
from trimtab.io.rules import (
    LockIn,
    LotMethodName,
    ProtectedSleeveIn,
    RestrictionIn,
    RulesIn,
    TradeHoldIn,
    TransactionIn,
)
from trimtab.io.sleeves import ApmSleeveIn
from trimtab.options import trade_options

WEIGHT_SUM_TOLERANCE = 1e-6
"""Percent points by which model targets plus cash may miss 100."""


Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _percent(v: float) -> float:
    if not 0 <= v <= 100:
        raise ValueError(f"must be between 0 and 100, got {v:g}")
    return v


class OptionsIn(_Strict):
    rounding: Literal["whole_shares", "fractional"] = "whole_shares"
    share_decimals: Annotated[int, Field(ge=0, le=9)] = 3
    cash_to_generate: NonNegative | None = None
    mccar_pct: Finite | None = None
    cash_to_invest: NonNegative | None = None
    min_trade_value: NonNegative = 0.0

    _pct = field_validator("mccar_pct")(lambda v: v if v is None else _percent(v))


class SecurityIn(_Strict):
    symbol: Annotated[str, Field(min_length=1)]
    target_pct: Finite
    min_pct: Finite | None = None
    max_pct: Finite | None = None
    sub_asset_class: str | None = None
    asset_class: str | None = None

    _pct = field_validator("target_pct", "min_pct", "max_pct")(
        lambda v: v if v is None else _percent(v)
    )


class ModelIn(_Strict):
    name: str = "model"
    cash_pct: Finite = 0.0
    securities: list[SecurityIn]

    _pct = field_validator("cash_pct")(_percent)


class LotIn(_Strict):
    lot_id: str | None = None
    quantity: NonNegative
    cost_basis: Finite | None
    acquired: date


class PositionIn(_Strict):
    symbol: Annotated[str, Field(min_length=1)]
    quantity: NonNegative | None = None
    market_value: NonNegative | None = None
    lots: list[LotIn] | None = None
    sub_asset_class: str | None = None


class AccountIn(_Strict):
    id: Annotated[str, Field(min_length=1)]
    registration: Literal["qualified", "non_qualified"] = "non_qualified"
    cash: Finite = 0.0
    positions: list[PositionIn] = []
    lot_method: LotMethodName = "fifo"
    specific_lots: dict[str, list[str]] = {}


class ModelSleeveIn(_Strict):
    """A model sleeve: ``weight_pct`` of the account follows ``model``."""

    type: Literal["model"]
    weight_pct: Finite
    model: ModelIn

    _pct = field_validator("weight_pct")(_percent)


SleeveIn = Annotated[ModelSleeveIn | ApmSleeveIn | ProtectedSleeveIn, Field(discriminator="type")]


class ScenarioIn(_Strict):
    """A scenario: ``model``, or model and APM ``sleeves`` (docs/rules.md, "Sleeves")."""

    method: str
    as_of: date | None = None
    options: OptionsIn = OptionsIn()
    prices: dict[str, Finite]
    model: ModelIn | None = None
    account: AccountIn
    restrictions: list[RestrictionIn] = []
    locks: list[LockIn] = []
    trade_hold: TradeHoldIn | None = None
    transactions: list[TransactionIn] = []
    short_term_windows: dict[str, Annotated[int, Field(ge=0)]] = {}
    sleeves: list[SleeveIn] = []


class HouseholdAccountIn(AccountIn, RulesIn):
    """An account of a household with its own rules (the rule fields of a scenario)."""


class HouseholdIn(_Strict):
    id: Annotated[str, Field(min_length=1)]
    accounts: Annotated[list[HouseholdAccountIn], Field(min_length=1)]


class HouseholdScenarioIn(_Strict):
    method: str
    as_of: date | None = None
    options: OptionsIn = OptionsIn()
    prices: dict[str, Finite]
    model: ModelIn
    household: HouseholdIn


def _check_model(model: ModelIn, at: str = "model") -> None:
    seen: dict[str, int] = {}
    total = model.cash_pct
    for i, sec in enumerate(model.securities):
        where = f"{at}.securities[{i}]"
        if sec.symbol in seen:
            raise ScenarioError(
                f"{where}.symbol",
                f"duplicate symbol {sec.symbol!r} (also securities[{seen[sec.symbol]}])",
            )
        seen[sec.symbol] = i
        lo = sec.target_pct if sec.min_pct is None else sec.min_pct
        hi = sec.target_pct if sec.max_pct is None else sec.max_pct
        if lo > sec.target_pct:
            raise ScenarioError(
                f"{where}.min_pct", f"must be at most target_pct {sec.target_pct:g}, got {lo:g}"
            )
        if hi < sec.target_pct:
            raise ScenarioError(
                f"{where}.max_pct", f"must be at least target_pct {sec.target_pct:g}, got {hi:g}"
            )
        total += sec.target_pct
    if abs(total - 100.0) > WEIGHT_SUM_TOLERANCE:
        raise ScenarioError(
            f"{at}.securities", f"targets plus cash_pct must sum to 100, got {total:.6g}"
        )


def _options(method: Method, opts: OptionsIn) -> TradeOptions:
    """The scenario's ``options``, checked as every entry point checks them."""
    try:
        return trade_options(
            method,
            rounding=opts.rounding,
            share_decimals=opts.share_decimals,
            cash_to_generate=opts.cash_to_generate,
            mccar_pct=opts.mccar_pct,
            cash_to_invest=opts.cash_to_invest,
            min_trade_value=opts.min_trade_value,
            prefix="options.",
        )
    except InputError as err:
        raise ScenarioError(err.where, err.problem) from None


def _position_quantity(i: int, pos: PositionIn, price: float) -> float:
    given = [f for f in ("quantity", "market_value", "lots") if getattr(pos, f) is not None]
    where = f"account.positions[{i}]"
    if len(given) != 1:
        raise ScenarioError(
            where,
            f"give exactly one of quantity, market_value, lots (got {', '.join(given) or 'none'})",
        )
    if pos.quantity is not None:
        return pos.quantity
    if pos.market_value is not None:
        return pos.market_value / price
    assert pos.lots is not None
    return math.fsum(lot.quantity for lot in pos.lots)
