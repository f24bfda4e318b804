"""A household scenario (``household`` instead of ``account``): :func:`parse_household`
checks it and lays the household's accounts out as a book, one row each
(:class:`HouseholdScenario`), each account with its own rules and the household's history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from pydantic import ValidationError

from trimtab.core.book import BookArrays, assemble_book
from trimtab.core.engine import Method, TradeOptions
from trimtab.core.lots import Lot
from trimtab.core.rules import AccountRules
from trimtab.errors import ScenarioError
from trimtab.io.errors import first_error
from trimtab.io.rules import RulesIn, account_rules, check_rules, rule_symbols
from trimtab.io.scenario._inputs import (
    HouseholdAccountIn,
    HouseholdScenarioIn,
    PositionIn,
    _check_model,
    _options,
    _position_quantity,
)
from trimtab.io.sleeves import SHARE_TOLERANCE


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
