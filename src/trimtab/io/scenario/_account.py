"""A one-account scenario: :func:`parse_scenario` reads the JSON text (a household's goes
to :func:`parse_household`), and :func:`build_scenario` checks what the schema cannot
(sums, uniqueness, prices in use, rules and sleeves) and lays the account out as a book of
one (:class:`Scenario`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from trimtab.core.book import BookArrays, assemble_book
from trimtab.core.engine import Method, TradeOptions
from trimtab.core.lots import Lot
from trimtab.core.rules import AccountRules
from trimtab.errors import ScenarioError
from trimtab.io.errors import first_error
from trimtab.io.rules import (
    ProtectedSleeveIn,
    RulesIn,
    account_rules,
    check_rules,
    rule_symbols,
    strip_restriction_tag,
)
from trimtab.io.scenario._household import HouseholdScenario, parse_household
from trimtab.io.scenario._inputs import (
    PositionIn,
    ScenarioIn,
    _check_model,
    _options,
    _position_quantity,
)
from trimtab.io.sleeves import (
    SHARE_TOLERANCE,
    AccountTarget,
    TargetLine,
    account_target,
    check_sleeve_shares,
    check_sleeve_types,
    twin_rules,
)

ALL_METHODS = tuple(m.value for m in Method)
_SLEEVE_TAG = re.compile(r"^(sleeves\[\d+\])\.(?:model|apm|protected)\b")


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
