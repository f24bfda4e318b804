"""The scenario file of ``trimtab propose`` (docs/formats.md, proposal-format.md).

Parsed once here into frozen values; every error names the field path, e.g.
``model.securities[2].target_pct: must be between 0 and 100, got 120``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trimtab.core.book import BookArrays, assemble_book
from trimtab.core.engine import Method, TradeOptions
from trimtab.core.lots import Lot
from trimtab.core.rules import AccountRules
from trimtab.errors import InputError, ScenarioError
from trimtab.io.errors import first_error
from trimtab.io.rules import (
    LockIn,
    LotMethodName,
    ProtectedSleeveIn,
    RestrictionIn,
    RulesIn,
    TradeHoldIn,
    TransactionIn,
    account_rules,
    check_rules,
    rule_symbols,
    strip_restriction_tag,
)
from trimtab.io.sleeves import (
    SHARE_TOLERANCE,
    AccountTarget,
    ApmSleeveIn,
    TargetLine,
    account_target,
    check_sleeve_shares,
    check_sleeve_types,
    twin_rules,
)
from trimtab.options import trade_options

WEIGHT_SUM_TOLERANCE = 1e-6
"""Percent points by which model targets plus cash may miss 100."""

ALL_METHODS = tuple(m.value for m in Method)

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
_SLEEVE_TAG = re.compile(r"^(sleeves\[\d+\])\.(?:model|apm|protected)\b")


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


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario, ready for the engine: one account as a book of one."""

    method: Method
    options: TradeOptions
    book: BookArrays
    symbols: tuple[str, ...]
    account_id: str
    share_decimals: int | None
    source: ScenarioIn
    rules: AccountRules | None = None
    as_of: date | None = None
    slot_classes: tuple[str | None, ...] = ()
    """Sub-asset class of each slot: a target line's from the model, a holding outside the
    target's from its position (``sub_asset_class``), else ``None``."""
    apm_codes: frozenset[int] = frozenset()
    """Symbol codes of the APM sleeve's slots (each names the same symbol as its security)."""


def parse_scenario(text: str) -> Scenario | HouseholdScenario:
    """Read a scenario from JSON text. Raises :class:`ScenarioError` naming the field.

    A scenario with ``household`` instead of ``account`` is a :class:`HouseholdScenario`.
    """
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as err:
        raise ScenarioError("scenario", f"not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(raw, dict):
        raise ScenarioError("scenario", "must be a JSON object")
    if "household" in raw:
        return parse_household(raw)
    check_sleeve_types(raw)
    try:
        src = ScenarioIn.model_validate(raw)
    except ValidationError as err:
        path, problem = first_error(err)
        path = _SLEEVE_TAG.sub(r"\1", strip_restriction_tag(path))
        raise ScenarioError(path, problem) from None
    return build_scenario(src)


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


def build_scenario(src: ScenarioIn) -> Scenario:
    """Check what the schema cannot (sums, uniqueness, prices in use) and build the book."""
    if src.method not in ALL_METHODS:
        raise ScenarioError(
            "method", f"must be one of {', '.join(ALL_METHODS)}, got {src.method!r}"
        )
    try:
        method = Method(src.method)
    except ValueError:
        raise ScenarioError(
            "method", f"{src.method!r} is not supported by trimtab propose yet"
        ) from None
    if method is Method.HOUSEHOLD_REBALANCE:
        raise ScenarioError("account", "household_rebalance takes household instead of account")
    target = account_target(src, _check_model)
    options = _options(method, src.options)
    for sym, px in src.prices.items():
        if not px > 0:
            raise ScenarioError(f"prices.{sym}", f"must be greater than 0, got {px:g}")
    held: dict[str, int] = {}
    for i, pos in enumerate(src.account.positions):
        if pos.symbol in held:
            raise ScenarioError(
                f"account.positions[{i}].symbol",
                f"duplicate symbol {pos.symbol!r} (also positions[{held[pos.symbol]}])",
            )
        held[pos.symbol] = i
    lines = target.lines
    in_use = [ln.symbol for ln in lines if not ln.apm] + [p.symbol for p in src.account.positions]
    for sym in in_use:
        if sym not in src.prices:
            where = f"account.positions[{held[sym]}].symbol" if sym in held else "model.securities"
            raise ScenarioError(where, f"no price for {sym!r} in prices")
    rules_in = _rules_of(src)
    extra = [sym for sym in _rule_symbols(src, rules_in) if sym not in set(in_use)]
    in_use += extra
    held_qty = [
        _position_quantity(i, p, src.prices[p.symbol]) for i, p in enumerate(src.account.positions)
    ]
    check_sleeve_shares(
        src, {p.symbol: q for p, q in zip(src.account.positions, held_qty, strict=True)}
    )
    # Every APM security also has a code of its own (a slot only if held or in a model), so
    # that its rules can be laid on its APM twin; twins come after, in symbol order.
    apm_symbols = target.apm_symbols
    real = sorted(set(in_use) | set(apm_symbols))
    symbols = tuple(real) + apm_symbols
    code = {s: i for i, s in enumerate(real)}
    twin = {s: len(real) + i for i, s in enumerate(apm_symbols)}
    price = np.array([src.prices[s] for s in symbols], dtype=np.float64)
    position_symbol, qty = _sleeve_positions(src, target, held_qty, code, twin)
    extra = list(dict.fromkeys(extra))
    position_symbol += [code[s] for s in extra]
    qty += [0.0] * len(extra)
    width = max(len(lines), 1)

    def line(values: list[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
        arr = np.zeros((1, width))
        arr[0, : len(values)] = np.array(values) / 100.0
        return arr

    model_symbol = np.full((1, width), -1, dtype=np.int32)
    model_symbol[0, : len(lines)] = [(twin if ln.apm else code)[ln.symbol] for ln in lines]
    book = assemble_book(
        price=price,
        model_symbol=model_symbol,
        model_target=line([ln.target_pct for ln in lines]),
        model_lower=line([ln.min_pct for ln in lines]),
        model_upper=line([ln.max_pct for ln in lines]),
        model_cash=np.array([target.cash_pct / 100.0]),
        account_model=np.zeros(1, dtype=np.int32),
        cash=np.array([src.account.cash]),
        position_account=np.zeros(len(qty), dtype=np.int32),
        position_symbol=np.array(position_symbol, dtype=np.int32),
        position_quantity=np.array(qty, dtype=np.float64),
    )
    o = src.options
    fractional = options.fractional
    return Scenario(
        method=method,
        options=options,
        book=book,
        symbols=symbols,
        account_id=src.account.id,
        share_decimals=o.share_decimals if fractional else None,
        source=src,
        rules=None if rules_in is None else _account_rules(src, rules_in, code, twin),
        as_of=src.as_of,
        slot_classes=_slot_classes(book.slot_symbol[0], symbols, lines, src.account.positions),
        apm_codes=frozenset(twin.values()),
    )


def _slot_classes(
    slot_symbol: npt.NDArray[np.int32],
    symbols: tuple[str, ...],
    lines: Sequence[TargetLine],
    positions: Sequence[PositionIn],
) -> tuple[str | None, ...]:
    """The sub-asset class of each slot: target lines first (the model's class), then
    holdings outside the target (the position's class)."""
    held = {p.symbol: p.sub_asset_class for p in positions}
    return tuple(
        None if c < 0 else lines[j].sub_asset_class if j < len(lines) else held.get(symbols[c])
        for j, c in enumerate(slot_symbol.tolist())
    )


def _sleeve_positions(
    src: ScenarioIn,
    target: AccountTarget,
    held: list[float],
    code: dict[str, int],
    twin: dict[str, int],
) -> tuple[list[int], list[float]]:
    """Symbol codes and shares of the account's positions, the APM sleeve's shares on
    their twin codes; a position the APM sleeve holds in full has no slot of its own."""
    symbols: list[int] = []
    shares: list[float] = []
    apm = target.apm_shares
    for p, q in zip(src.account.positions, held, strict=True):
        if p.symbol in apm:
            q = max(q - apm[p.symbol], 0.0)
            if q <= SHARE_TOLERANCE:
                continue
        symbols.append(code[p.symbol])
        shares.append(q)
    for sym, q in apm.items():
        symbols.append(twin[sym])
        shares.append(q)
    return symbols, shares


def _rules_of(src: ScenarioIn) -> RulesIn | None:
    """The scenario's rule sections, checked; ``None`` when it has none."""
    rules = RulesIn(
        restrictions=src.restrictions,
        locks=src.locks,
        trade_hold=src.trade_hold,
        transactions=src.transactions,
        short_term_windows=src.short_term_windows,
        sleeves=[s for s in src.sleeves if isinstance(s, ProtectedSleeveIn)],
    )
    given = [name for name in RulesIn.model_fields if getattr(rules, name)]
    has_lots = any(p.lots for p in src.account.positions)
    if not given and not (has_lots and src.as_of is not None):
        return None
    if given and src.as_of is None:
        raise ScenarioError("as_of", f"required when {', '.join(given)} is given")
    check_rules(rules)
    for i, pos in enumerate(src.account.positions):
        ids = [lot.lot_id for lot in pos.lots or [] if lot.lot_id is not None]
        if len(ids) != len(set(ids)):
            raise ScenarioError(f"account.positions[{i}].lots", "lot_id values must be unique")
    held = {p.symbol: p for p in src.account.positions}
    for sym, ids in src.account.specific_lots.items():
        known = {lot.lot_id for lot in (held[sym].lots or [])} if sym in held else set()
        for j, lot_id in enumerate(ids):
            if lot_id not in known:
                raise ScenarioError(
                    f"account.specific_lots.{sym}[{j}]", f"no lot {lot_id!r} in {sym!r}"
                )
    return rules


def _rule_symbols(src: ScenarioIn, rules: RulesIn | None) -> list[str]:
    """Securities the restrictions may buy that need a slot; each must have a price."""
    if rules is None:
        return []
    out = []
    for where, sym in rule_symbols(rules):
        if sym not in src.prices:
            raise ScenarioError(where, f"no price for {sym!r} in prices")
        out.append(sym)
    return out


def _account_rules(
    src: ScenarioIn, rules: RulesIn, code: dict[str, int], twin: dict[str, int]
) -> AccountRules:
    acc = src.account
    assert src.as_of is not None
    lots = {
        p.symbol: [Lot(lot.quantity, lot.cost_basis, lot.acquired, lot.lot_id) for lot in p.lots]
        for p in acc.positions
        if p.lots is not None
    }
    out = account_rules(
        rules,
        account=acc.id,
        qualified=acc.registration == "qualified",
        code=code,
        lots=lots,
        lot_method=acc.lot_method,
        specific_lots=acc.specific_lots,
        as_of=src.as_of,
    )
    return twin_rules(out, {code[s]: c for s, c in twin.items()}) if twin else out


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


@dataclass(frozen=True, slots=True)
class HouseholdScenario:
    """A validated household scenario: the household's accounts as a book, one row each."""

    method: Method
    options: TradeOptions
    book: BookArrays
    symbols: tuple[str, ...]
    household_id: str
    account_ids: tuple[str, ...]
    share_decimals: int | None
    source: HouseholdScenarioIn
    rules: tuple[AccountRules, ...] | None = None
    as_of: date | None = None


def parse_household(raw: dict[str, Any]) -> HouseholdScenario:
    """Validate a household scenario (``household`` instead of ``account``)."""
    try:
        src = HouseholdScenarioIn.model_validate(raw)
    except ValidationError as err:
        path, problem = first_error(err)
        raise ScenarioError(_HOUSEHOLD_TAG.sub(r"\1", path), problem) from None
    if src.method != Method.HOUSEHOLD_REBALANCE.value:
        raise ScenarioError(
            "household", f"only household_rebalance takes a household, got {src.method!r}"
        )
    _check_model(src.model)
    options = _options(Method.HOUSEHOLD_REBALANCE, src.options)
    for sym, px in src.prices.items():
        if not px > 0:
            raise ScenarioError(f"prices.{sym}", f"must be greater than 0, got {px:g}")
    ids: dict[str, int] = {}
    in_use = [sec.symbol for sec in src.model.securities]
    for a, acc in enumerate(src.household.accounts):
        where = f"household.accounts[{a}]"
        if acc.id in ids:
            raise ScenarioError(
                f"{where}.id", f"duplicate account id {acc.id!r} (also accounts[{ids[acc.id]}])"
            )
        ids[acc.id] = a
        held: dict[str, int] = {}
        for i, pos in enumerate(acc.positions):
            if pos.symbol in held:
                raise ScenarioError(
                    f"{where}.positions[{i}].symbol",
                    f"duplicate symbol {pos.symbol!r} (also positions[{held[pos.symbol]}])",
                )
            held[pos.symbol] = i
            if pos.symbol not in src.prices:
                raise ScenarioError(
                    f"{where}.positions[{i}].symbol", f"no price for {pos.symbol!r} in prices"
                )
            in_use.append(pos.symbol)
    for sym in in_use[: len(src.model.securities)]:
        if sym not in src.prices:
            raise ScenarioError("model.securities", f"no price for {sym!r} in prices")
    rules_in = _household_rules_in(src)
    extra: list[tuple[int, str]] = []  # (account, symbol) slots the restrictions need
    if rules_in is not None:
        for a, rules in enumerate(rules_in):
            for where, sym in rule_symbols(rules):
                if sym not in src.prices:
                    raise ScenarioError(
                        f"household.accounts[{a}].{where}", f"no price for {sym!r} in prices"
                    )
                held_syms = {p.symbol for p in src.household.accounts[a].positions}
                if sym not in held_syms and (a, sym) not in extra:
                    extra.append((a, sym))
                    in_use.append(sym)
    symbols = tuple(sorted(set(in_use)))
    code = {sym: i for i, sym in enumerate(symbols)}
    accounts, positions, quantities = [], [], []
    for a, acc in enumerate(src.household.accounts):
        for i, pos in enumerate(acc.positions):
            try:
                quantities.append(_position_quantity(i, pos, src.prices[pos.symbol]))
            except ScenarioError as err:
                where = err.where.removeprefix("account.")
                raise ScenarioError(f"household.accounts[{a}].{where}", err.problem) from None
            accounts.append(a)
            positions.append(code[pos.symbol])
    for a, sym in extra:
        accounts.append(a)
        positions.append(code[sym])
        quantities.append(0.0)
    secs = src.model.securities
    width = max(len(secs), 1)
    n = len(src.household.accounts)

    def line(values: list[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
        arr = np.zeros((1, width))
        arr[0, : len(values)] = np.array(values) / 100.0
        return arr

    model_symbol = np.full((1, width), -1, dtype=np.int32)
    model_symbol[0, : len(secs)] = [code[sec.symbol] for sec in secs]
    book = assemble_book(
        price=np.array([src.prices[sym] for sym in symbols], dtype=np.float64),
        model_symbol=model_symbol,
        model_target=line([sec.target_pct for sec in secs]),
        model_lower=line([sec.target_pct if sec.min_pct is None else sec.min_pct for sec in secs]),
        model_upper=line([sec.target_pct if sec.max_pct is None else sec.max_pct for sec in secs]),
        model_cash=np.array([src.model.cash_pct / 100.0]),
        account_model=np.zeros(n, dtype=np.int32),
        cash=np.array([acc.cash for acc in src.household.accounts], dtype=np.float64),
        position_account=np.array(accounts, dtype=np.int32),
        position_symbol=np.array(positions, dtype=np.int32),
        position_quantity=np.array(quantities, dtype=np.float64),
    )
    o = src.options
    fractional = options.fractional
    return HouseholdScenario(
        method=Method.HOUSEHOLD_REBALANCE,
        options=options,
        book=book,
        symbols=symbols,
        household_id=src.household.id,
        account_ids=tuple(acc.id for acc in src.household.accounts),
        share_decimals=o.share_decimals if fractional else None,
        source=src,
        rules=None if rules_in is None else _household_rules(src, rules_in, code),
        as_of=src.as_of,
    )


_HOUSEHOLD_TAG = re.compile(r"(restrictions\[\d+\])\.(?:exclusion|substitution|equivalents)\b")
_RULE_FIELDS = tuple(RulesIn.model_fields)


def _household_rules_in(src: HouseholdScenarioIn) -> list[RulesIn] | None:
    """Each account's rule fields, checked, with the household's history shared by all
    accounts (wash sales look across the household); ``None`` when no account has rules."""
    accounts = src.household.accounts
    for a, acc in enumerate(accounts):
        _check_household_lots(f"household.accounts[{a}]", acc)
    given = [
        f"household.accounts[{a}].{name}"
        for a, acc in enumerate(accounts)
        for name in _RULE_FIELDS
        if getattr(acc, name)
    ]
    has_lots = any(p.lots for acc in accounts for p in acc.positions)
    if not given and not (has_lots and src.as_of is not None):
        return None
    if given and src.as_of is None:
        raise ScenarioError("as_of", f"required when {', '.join(given)} is given")
    history = [t for acc in accounts for t in acc.transactions]
    out = []
    for a, acc in enumerate(accounts):
        where = f"household.accounts[{a}]"
        rules = RulesIn(
            restrictions=acc.restrictions,
            locks=acc.locks,
            trade_hold=acc.trade_hold,
            transactions=history,
            short_term_windows=acc.short_term_windows,
            sleeves=acc.sleeves,
        )
        try:
            check_rules(rules)
        except ScenarioError as err:
            raise ScenarioError(f"{where}.{err.where}", err.problem) from None
        try:
            shares = {
                p.symbol: _position_quantity(i, p, src.prices.get(p.symbol, 1.0))
                for i, p in enumerate(acc.positions)
            }
        except ScenarioError as err:
            raise ScenarioError(
                f"{where}.{err.where.removeprefix('account.')}", err.problem
            ) from None
        total: dict[str, float] = {}
        for k, sleeve in enumerate(acc.sleeves):
            seen: dict[str, int] = {}
            for j, kept in enumerate(sleeve.positions):
                if kept.symbol in seen:
                    raise ScenarioError(
                        f"{where}.sleeves[{k}].positions[{j}].symbol",
                        f"duplicate symbol {kept.symbol!r} in the sleeve "
                        f"(also positions[{seen[kept.symbol]}])",
                    )
                seen[kept.symbol] = j
                total[kept.symbol] = total.get(kept.symbol, 0.0) + kept.quantity
                if total[kept.symbol] > shares.get(kept.symbol, 0.0) + SHARE_TOLERANCE:
                    raise ScenarioError(
                        f"{where}.sleeves[{k}].positions[{j}].quantity",
                        f"more than the {shares.get(kept.symbol, 0.0):g} shares of "
                        f"{kept.symbol!r} held",
                    )
        out.append(rules)
    return out


def _check_household_lots(where: str, acc: HouseholdAccountIn) -> None:
    """Lot ids are unique within a position; specific lots name lots the account holds."""
    held: dict[str, PositionIn] = {}
    for i, pos in enumerate(acc.positions):
        held[pos.symbol] = pos
        ids = [lot.lot_id for lot in pos.lots or [] if lot.lot_id is not None]
        if len(ids) != len(set(ids)):
            raise ScenarioError(f"{where}.positions[{i}].lots", "lot_id values must be unique")
    for sym, lot_ids in acc.specific_lots.items():
        known = {lot.lot_id for lot in (held[sym].lots or [])} if sym in held else set()
        for j, lot_id in enumerate(lot_ids):
            if lot_id not in known:
                raise ScenarioError(
                    f"{where}.specific_lots.{sym}[{j}]", f"no lot {lot_id!r} in {sym!r}"
                )


def _household_rules(
    src: HouseholdScenarioIn, rules_in: list[RulesIn], code: dict[str, int]
) -> tuple[AccountRules, ...]:
    assert src.as_of is not None
    return tuple(
        account_rules(
            rules,
            account=acc.id,
            qualified=acc.registration == "qualified",
            code=code,
            lots={
                p.symbol: [
                    Lot(lot.quantity, lot.cost_basis, lot.acquired, lot.lot_id) for lot in p.lots
                ]
                for p in acc.positions
                if p.lots is not None
            },
            lot_method=acc.lot_method,
            specific_lots=acc.specific_lots,
            as_of=src.as_of,
        )
        for acc, rules in zip(src.household.accounts, rules_in, strict=True)
    )
