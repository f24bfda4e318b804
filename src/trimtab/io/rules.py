"""The rule sections of a scenario (docs/rules.md): restrictions, locks, trade hold,
transactions and short-term windows, validated here and turned into core :class:`AccountRules`.

Every error names the record and field, e.g.
``restrictions[1].end_date: must be after start_date 2026-11-01, got 2026-10-01``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trimtab.core.lots import Lot, LotMethod
from trimtab.core.restrictions import (
    Behaviour,
    EndAction,
    EquivalentGroup,
    Exclusion,
    MemberBehaviour,
    Replacement,
)
from trimtab.core.rules import AccountRules, Side, Transaction
from trimtab.errors import ScenarioError
from trimtab.io.values import Day, Number, Whole

MAX_GROUP = 20
"""Most members of an equivalents group (seed 001)."""

Symbol = Annotated[str, Field(min_length=1)]
BehaviourName = Literal["hold", "liquidate_immediately", "liquidate_as_needed"]
EndActionName = Literal["rebalance_immediately", "wait_for_weight_change"]
LotMethodName = Literal["fifo", "lifo", "hifo", "minimum_tax", "specific_lots"]
ReplacementName = Literal["hold_cash", "reallocate"]
MemberBehaviourName = Literal["none", "buy_first", "do_not_sell", "do_not_buy", "do_not_trade"]
LockTypeName = Literal["gain", "elective", "cost_basis_unlock"]
ActionName = Literal["buy", "sell"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Dated(_Strict):
    start_date: Day
    end_date: Day | None = None
    end_action: EndActionName | None = None
    weight_at_end_pct: Annotated[Number, Field(ge=0, le=100, allow_inf_nan=False)] | None = None


class ExclusionIn(_Dated):
    """Exclusion of ``symbol``: its target goes to cash or pro rata to the model."""

    type: Literal["exclusion"]
    symbol: Symbol
    replacement: ReplacementName = "hold_cash"
    behaviour: BehaviourName


class SubstitutionIn(_Dated):
    """Substitution of ``symbol`` by ``substitute`` (which may be an equivalents member)."""

    type: Literal["substitution"]
    symbol: Symbol
    substitute: Symbol
    behaviour: BehaviourName


class MemberIn(_Strict):
    symbol: Symbol
    behaviour: MemberBehaviourName = "none"


class EquivalentsIn(_Strict):
    """Equivalent securities: 1 to 20 members traded as one group weight."""

    type: Literal["equivalents"]
    members: list[MemberIn]
    start_date: Day | None = None
    end_date: Day | None = None

    @field_validator("members")
    @classmethod
    def _size(cls, v: list[MemberIn]) -> list[MemberIn]:
        if not 1 <= len(v) <= MAX_GROUP:
            raise ValueError(f"must have 1 to {MAX_GROUP} members, got {len(v)}")
        return v


RestrictionIn = Annotated[ExclusionIn | SubstitutionIn | EquivalentsIn, Field(discriminator="type")]


class LockIn(_Strict):
    """``gain`` (whole account without ``symbol``), ``elective``, or ``cost_basis_unlock``."""

    type: LockTypeName
    symbol: Symbol | None = None


class TradeHoldIn(_Strict):
    """A trade hold, indefinite or through ``until``."""

    until: Day | None = None


class TransactionIn(_Strict):
    """A past trade in an account of the household."""

    account: Annotated[str, Field(min_length=1)]
    symbol: Symbol
    action: ActionName
    date: Day
    quantity: Annotated[Number, Field(ge=0, allow_inf_nan=False)]
    realized_gain: Annotated[Number, Field(allow_inf_nan=False)] | None = None


class ProtectedPositionIn(_Strict):
    symbol: Symbol
    quantity: Annotated[Number, Field(gt=0, allow_inf_nan=False)]


class ProtectedSleeveIn(_Strict):
    """Shares held in a protected sleeve: never traded; the model sleeve manages the rest."""

    type: Literal["protected"]
    positions: list[ProtectedPositionIn]


class RulesIn(_Strict):
    """The rule fields of a scenario, all optional."""

    restrictions: list[RestrictionIn] = []
    locks: list[LockIn] = []
    trade_hold: TradeHoldIn | None = None
    transactions: list[TransactionIn] = []
    short_term_windows: dict[str, Annotated[Whole, Field(ge=0)]] = {}
    sleeves: list[ProtectedSleeveIn] = []


_KIND = {
    "exclusion": "an exclusion",
    "substitution": "a substitution",
    "substitute": "the substitute of a substitution",
    "member": "an equivalents group",
}
BEHAVIOUR: dict[str, Behaviour] = {  # exclusion and substitution behaviours
    "hold": Behaviour.HOLD,
    "liquidate_immediately": Behaviour.LIQUIDATE_NOW,
    "liquidate_as_needed": Behaviour.LIQUIDATE_AS_NEEDED,
}
END_ACTION: dict[str, EndAction] = {  # end_action values
    "rebalance_immediately": EndAction.REBALANCE,
    "wait_for_weight_change": EndAction.WAIT_FOR_WEIGHT_CHANGE,
}
MEMBER_BEHAVIOUR: dict[str, MemberBehaviour] = {  # equivalents member behaviours
    "none": MemberBehaviour.NONE,
    "buy_first": MemberBehaviour.BUY_FIRST,
    "do_not_sell": MemberBehaviour.DO_NOT_SELL,
    "do_not_buy": MemberBehaviour.DO_NOT_BUY,
    "do_not_trade": MemberBehaviour.DO_NOT_TRADE,
}


_TAG = re.compile(r"^(restrictions\[\d+\])\.(?:exclusion|substitution|equivalents)\b")


def strip_restriction_tag(path: str) -> str:
    """``restrictions[1].exclusion.end_date`` -> ``restrictions[1].end_date``."""
    return _TAG.sub(r"\1", path)


def check_rules(rules: RulesIn) -> None:
    """Refuse contradictory rules: dates out of order, a security in two restrictions.

    A security may be in one restriction only, except that a member of an equivalents group
    may also be the substitute of a substitution.
    """
    claims: dict[str, list[tuple[int, str, str]]] = {}
    for i, r in enumerate(rules.restrictions):
        if r.end_date is not None and r.start_date is not None and r.end_date <= r.start_date:
            raise ScenarioError(
                f"restrictions[{i}].end_date",
                f"must be after start_date {r.start_date}, got {r.end_date}",
            )
        if isinstance(r, EquivalentsIn):
            seen: set[str] = set()
            for m, member in enumerate(r.members):
                if member.symbol in seen:
                    raise ScenarioError(
                        f"restrictions[{i}].members[{m}].symbol",
                        f"{member.symbol!r} is listed twice in the group",
                    )
                seen.add(member.symbol)
                claims.setdefault(member.symbol, []).append((i, f"members[{m}].symbol", "member"))
            continue
        if r.end_date is None and r.end_action is not None:
            raise ScenarioError(f"restrictions[{i}].end_action", "only with an end_date")
        if r.end_date is not None and r.end_action is None:
            raise ScenarioError(
                f"restrictions[{i}].end_action",
                "required with an end_date: rebalance_immediately or wait_for_weight_change",
            )
        if r.weight_at_end_pct is not None and r.end_action != "wait_for_weight_change":
            raise ScenarioError(
                f"restrictions[{i}].weight_at_end_pct",
                "only with end_action wait_for_weight_change",
            )
        claims.setdefault(r.symbol, []).append((i, "symbol", r.type))
        if isinstance(r, SubstitutionIn):
            if r.substitute == r.symbol:
                raise ScenarioError(
                    f"restrictions[{i}].substitute", f"must differ from symbol {r.symbol!r}"
                )
            claims.setdefault(r.substitute, []).append((i, "substitute", "substitute"))
    for symbol, found in claims.items():
        if len(found) == 1:
            continue
        kinds = sorted(kind for _, _, kind in found)
        if kinds == ["member", "substitute"]:
            continue
        first, (i, field, _) = found[0], found[1]
        raise ScenarioError(
            f"restrictions[{i}].{field}",
            f"{symbol!r} is already in restrictions[{first[0]}] ({_KIND[first[2]]}); "
            "a security may be in one restriction only (a group member may also be a "
            "substitute): delete the other restriction first",
        )


def rule_symbols(rules: RulesIn) -> list[tuple[str, str]]:
    """``(field path, symbol)`` of every security the restrictions can trade (need a price)."""
    out: list[tuple[str, str]] = []
    for i, r in enumerate(rules.restrictions):
        if isinstance(r, SubstitutionIn):
            out.append((f"restrictions[{i}].substitute", r.substitute))
        elif isinstance(r, EquivalentsIn):
            out.extend(
                (f"restrictions[{i}].members[{m}].symbol", member.symbol)
                for m, member in enumerate(r.members)
            )
    return out


def account_rules(
    rules: RulesIn,
    *,
    account: str,
    qualified: bool,
    code: Mapping[str, int],
    lots: Mapping[str, Sequence[Lot]],
    lot_method: str,
    specific_lots: Mapping[str, Sequence[str]],
    as_of: date,
) -> AccountRules:
    """The core rules of one account; ``code`` maps every symbol in use to its code.

    Symbols the account never holds nor could buy (absent from ``code``) are left out.
    """
    exclusions: list[Exclusion] = []
    groups: list[EquivalentGroup] = []
    for r in rules.restrictions:
        if isinstance(r, EquivalentsIn):
            kept = [m for m in r.members if m.symbol in code]
            groups.append(
                EquivalentGroup(
                    members=tuple(code[m.symbol] for m in kept),
                    behaviours=tuple(MEMBER_BEHAVIOUR[m.behaviour] for m in kept),
                    end=r.end_date,
                )
            )
            continue
        if r.symbol not in code:
            continue
        substitute = code.get(r.substitute, -1) if isinstance(r, SubstitutionIn) else -1
        exclusions.append(
            Exclusion(
                symbol=code[r.symbol],
                behaviour=BEHAVIOUR[r.behaviour],
                start=r.start_date,
                replacement=Replacement.REALLOCATE
                if isinstance(r, ExclusionIn) and r.replacement == "reallocate"
                else Replacement.HOLD_CASH,
                substitute=substitute,
                end=r.end_date,
                end_action=END_ACTION[r.end_action] if r.end_action else EndAction.REBALANCE,
                weight_at_end=None if r.weight_at_end_pct is None else r.weight_at_end_pct / 100,
            )
        )
    locks = rules.locks

    def symbols_of(kind: str) -> frozenset[int]:
        return frozenset(
            code[lk.symbol]
            for lk in locks
            if lk.type == kind and lk.symbol is not None and lk.symbol in code
        )

    hold = rules.trade_hold
    return AccountRules(
        account=account,
        qualified=qualified,
        exclusions=tuple(exclusions),
        groups=tuple(groups),
        lots={code[s]: tuple(v) for s, v in lots.items() if s in code},
        lot_method=LotMethod(lot_method),
        specific_lots={code[s]: tuple(v) for s, v in specific_lots.items() if s in code},
        gain_lock=any(lk.type == "gain" and lk.symbol is None for lk in locks),
        gain_lock_symbols=symbols_of("gain"),
        elective_locks=symbols_of("elective"),
        basis_unlocked=symbols_of("cost_basis_unlock"),
        on_hold=hold is not None and (hold.until is None or as_of <= hold.until),
        transactions=tuple(
            Transaction(
                account=t.account,
                symbol=code[t.symbol],
                side=Side.BUY if t.action == "buy" else Side.SELL,
                when=t.date,
                quantity=t.quantity,
                realized_gain=t.realized_gain,
            )
            for t in rules.transactions
            if t.symbol in code
        ),
        short_term_days={code[s]: d for s, d in rules.short_term_windows.items() if s in code},
        protected=protected_shares(rules, code),
    )


def protected_shares(rules: RulesIn, code: Mapping[str, int]) -> dict[int, float]:
    """Shares in protected sleeves by symbol code."""
    out: dict[int, float] = {}
    for sleeve in rules.sleeves:
        for pos in sleeve.positions:
            if pos.symbol in code:
                out[code[pos.symbol]] = out.get(code[pos.symbol], 0.0) + pos.quantity
    return out
