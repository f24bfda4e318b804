"""``trimtab propose``: scenario text in, proposal document out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from trimtab.core.engine import SOLVER_METHODS, BatchProposal, Method, TradeOptions, propose
from trimtab.core.household import propose_households, propose_ruled_households
from trimtab.core.lots import Sale
from trimtab.core.reasons import Reason, RuleReason
from trimtab.core.rules import AccountRules, apply_rules, realise, settle
from trimtab.errors import ScenarioError
from trimtab.io.proposal import (
    AccountRuleOutput,
    account_proposal,
    class_drift_fields,
    household_fields,
    proposal_document,
    sub_asset_classes,
)
from trimtab.io.scenario import HouseholdScenario, Scenario, parse_scenario


def run_scenario(text: str) -> dict[str, Any]:
    """Parse a scenario, propose, and return the proposal document (a JSON-ready dict)."""
    scenario = parse_scenario(text)
    if isinstance(scenario, HouseholdScenario):
        return _household(scenario)
    book = scenario.book
    if scenario.rules is not None and scenario.as_of is not None:
        return _with_rules(scenario, scenario.rules, scenario.as_of)
    result = _engine(scenario.method)(book.batch(0, 1), scenario.method, _options(scenario))
    account = account_proposal(
        account_id=scenario.account_id,
        row=0,
        local=0,
        book=book,
        proposal=result,
        symbols=scenario.symbols,
        share_decimals=scenario.share_decimals,
    )
    account.update(_class_drift(scenario, result))
    _mark_apm(scenario, account)
    return proposal_document(scenario.method, [account])


def compare_scenario(text: str) -> dict[str, Any]:
    """The scenario's account under every full-rebalance logic, side by side: turnover,
    realised gains (0 until tax lots are used here), drift after and number of trades."""
    from trimtab.optimize import compare_logics

    scenario = parse_scenario(text)
    if isinstance(scenario, HouseholdScenario):
        raise ScenarioError("household", "--compare takes a scenario with one account")
    batch = scenario.book.batch(0, 1)
    rows = compare_logics(batch, 0, options=_options(scenario))
    return {
        "account": scenario.account_id,
        "value": round(float(batch.cash[0] + batch.quantity[0] @ batch.price[0]), 2),
        "compare": [
            {
                "method": r.method.value,
                "status": r.status,
                "turnover": round(r.turnover, 2),
                "realised_gain": round(r.realised_gain, 2),
                "deviation_after": round(r.deviation_after, 2),
                "max_drift_after_pct": round(r.max_drift_after, 4),
                "out_of_band_after": r.out_of_band_after,
                "trades": r.trades,
                "cash_after": round(r.cash_after, 2),
            }
            for r in rows
        ],
    }


def _engine(method: Method) -> Callable[..., BatchProposal]:
    """The core's ``propose``, or the solver package's for the solver logics (imported only
    then: it loads HiGHS)."""
    if method in SOLVER_METHODS:
        from trimtab.optimize import propose as solve

        return solve
    return propose


def _options(scenario: Scenario) -> TradeOptions:
    """The scenario's options with the sub-asset class of each slot (withdrawal uses them)."""
    _, classes = sub_asset_classes(
        list(scenario.slot_classes),
        scenario.book.slot_symbol.shape[1],
    )
    return replace(scenario.options, sub_asset_class=classes)


def _class_drift(scenario: Scenario, result: BatchProposal) -> dict[str, Any]:
    """``sub_asset_class_drift_pct`` (after) and ``..._before_pct`` of the account."""
    names, classes = sub_asset_classes(
        list(scenario.slot_classes),
        scenario.book.slot_symbol.shape[1],
    )
    withdrawn = 0.0
    if scenario.method in (Method.GENERATE_CASH, Method.WITHDRAWAL):
        withdrawn = float(np.asarray(scenario.options.cash_to_generate))
    return class_drift_fields(
        names=names,
        classes=classes,
        book=scenario.book,
        row=0,
        proposal=result,
        local=0,
        withdrawn=withdrawn,
    )


def _mark_apm(scenario: Scenario, account: dict[str, Any]) -> None:
    """``"sleeve": "apm"`` on the lines of the APM sleeve (docs/rules.md, "Sleeves")."""
    if not scenario.apm_codes:
        return
    slots = scenario.book.slot_symbol[0]
    for trade, code in zip(account["trades"], slots[slots >= 0].tolist(), strict=True):
        if code in scenario.apm_codes:
            trade["sleeve"] = "apm"


def _household(scenario: HouseholdScenario) -> dict[str, Any]:
    """Household rebalance: one account object per account and the household weights."""
    book = scenario.book
    batch = book.batch(0, book.size)
    household = np.zeros(book.size, dtype=np.int32)
    outputs: list[AccountRuleOutput | None] = [None] * book.size
    if scenario.rules is not None and scenario.as_of is not None:
        ruled = apply_rules(batch, book.slot_symbol, list(scenario.rules), scenario.as_of)
        done = propose_ruled_households(
            ruled, book.slot_symbol, household, scenario.options, scenario.as_of
        )
        result = done.proposal
        shaped = np.any(result.reason & np.uint32(Reason.SELL_LIMITED), axis=1)
        outputs = [
            AccountRuleOutput(
                rule_reason=done.ruled.rule_reason[row],
                target=done.ruled.batch.target[row],
                sales={k: sale for (r, k), sale in done.sales.items() if r == row},
                limited=bool(done.limited[row]),
                shaped=bool(shaped[row]),
                qualified=rules.qualified,
            )
            for row, rules in enumerate(scenario.rules)
        ]
    else:
        result = propose_households(batch, book.slot_symbol, household, scenario.options)
    accounts = [
        account_proposal(
            account_id=account_id,
            row=row,
            local=row,
            book=book,
            proposal=result,
            symbols=scenario.symbols,
            share_decimals=scenario.share_decimals,
            rules=outputs[row],
        )
        for row, account_id in enumerate(scenario.account_ids)
    ]
    document = proposal_document(scenario.method, accounts)
    document["household"] = household_fields(
        household_id=scenario.household_id,
        book=book,
        proposal=result,
        symbols=scenario.symbols,
    )
    return document


def _wash_twins(
    scenario: Scenario,
    slot_symbol: npt.NDArray[np.int32],
    quantity: npt.NDArray[np.float64],
    sales: dict[tuple[int, int], Sale],
    buy_allowed: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """Slots buying a security that another slot of the account (its model line or its APM
    twin, which share the symbol) sells at a loss in the same proposal, (K,)."""
    loss = {scenario.symbols[slot_symbol[k]] for (_, k), sale in sales.items() if sale.gain < 0}
    named = np.array([scenario.symbols[c] in loss if c >= 0 else False for c in slot_symbol])
    out: npt.NDArray[np.bool_] = named & (quantity > 0) & buy_allowed
    return out


def _with_rules(scenario: Scenario, rules: AccountRules, as_of: date) -> dict[str, Any]:
    """The proposal of an account with restrictions, locks, tax lots or trading rules."""
    book = scenario.book
    batch = book.batch(0, 1)
    slots = book.slot_symbol[0:1]
    ruled = apply_rules(batch, slots, [rules], as_of)
    while True:
        result = _engine(scenario.method)(
            ruled.batch, scenario.method, _options(scenario), groups=ruled.groups
        )
        result, limited = settle(result, ruled)
        sales = realise(result, ruled, as_of)
        refused = _wash_twins(
            scenario, slots[0], result.quantity[0], sales, ruled.batch.buy_allowed[0]
        )
        if not refused.any():
            break
        # A security sold at a loss on one line (model or APM) is not bought on its twin in
        # the same proposal (a wash sale): refuse that buy and plan again.
        flags = ruled.rule_reason.copy()
        flags[0, refused] |= np.uint32(RuleReason.WASH_SALE_BUY)
        allowed = ruled.batch.buy_allowed.copy()
        allowed[0, refused] = False
        ruled = replace(ruled, batch=replace(ruled.batch, buy_allowed=allowed), rule_reason=flags)
    account = account_proposal(
        account_id=scenario.account_id,
        row=0,
        local=0,
        book=book,
        proposal=result,
        symbols=scenario.symbols,
        share_decimals=scenario.share_decimals,
        rules=AccountRuleOutput(
            rule_reason=ruled.rule_reason[0],
            target=ruled.batch.target[0],
            sales={k: sale for (_, k), sale in sales.items()},
            limited=bool(limited[0]),
            shaped=bool((result.reason[0] & np.uint32(Reason.SELL_LIMITED)).any()),
            qualified=rules.qualified,
        ),
    )
    account.update(_class_drift(scenario, result))
    _mark_apm(scenario, account)
    return proposal_document(scenario.method, [account])
