"""``trimtab propose``: scenario text in, proposal document out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from trimtab.core.book import BookArrays
from trimtab.core.engine import BatchProposal, Method, TradeOptions
from trimtab.core.reasons import Reason
from trimtab.core.rules import AccountRules, sales_of, slot_rules
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
from trimtab.pipeline import Partition, Proposed, propose_partition


def run_scenario(text: str) -> dict[str, Any]:
    """Parse a scenario, propose, and return the proposal document (a JSON-ready dict)."""
    scenario = parse_scenario(text)
    if isinstance(scenario, HouseholdScenario):
        return _household(scenario)
    book = scenario.book
    rules = scenario.rules if scenario.as_of is not None else None
    done = propose_partition(
        _partition(book, scenario.symbols, [rules] if rules is not None else None, scenario.as_of),
        scenario.method,
        _options(scenario),
    )
    account = account_proposal(
        account_id=scenario.account_id,
        row=0,
        local=0,
        book=book,
        proposal=done.proposal,
        symbols=scenario.symbols,
        share_decimals=scenario.share_decimals,
        rules=None if rules is None else _rule_output(done, 0, rules.qualified),
    )
    account.update(_class_drift(scenario, done.proposal))
    _mark_apm(scenario, account)
    return proposal_document(scenario.method, [account])


def _partition(
    book: BookArrays,
    symbols: Sequence[str],
    rules: Sequence[AccountRules] | None,
    as_of: date | None,
    household: npt.NDArray[np.int32] | None = None,
) -> Partition:
    """The scenario's accounts (one, or a household's) as the pipeline's partition; an APM
    line's own symbol code (its twin of a model line) is the same security."""
    batch = book.batch(0, book.size)
    slots = book.slot_symbol
    first = {name: code for code, name in reversed(list(enumerate(symbols)))}
    same = np.array([first[name] for name in symbols] + [-1], dtype=np.int32)
    security = same[slots]  # padding (-1) takes the last entry: -1
    if rules is None or as_of is None:
        return Partition(batch=batch, symbol=security, household=household, owned=True)
    return Partition(
        batch=batch,
        symbol=security,
        household=household,
        rules=slot_rules(slots, rules, as_of, batch.target),  # the codes rules are written in
        qualified=np.array([r.qualified for r in rules], dtype=bool),
        as_of=as_of,
        owned=True,
    )


def _rule_output(done: Proposed, row: int, qualified: bool) -> AccountRuleOutput:
    """What the rules add to account ``row``'s proposal document."""
    assert done.ruled is not None and done.relieved is not None  # a partition with rules
    sales = sales_of(done.relieved, done.ruled)
    reason = done.proposal.reason[row]
    return AccountRuleOutput(
        rule_reason=done.ruled.rule_reason[row],
        target=done.ruled.batch.target[row],
        sales={k: sale for (r, k), sale in sales.items() if r == row},
        limited=bool(done.limited[row]),
        shaped=bool((reason & np.uint32(Reason.SELL_LIMITED)).any()),
        qualified=qualified,
    )


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
                "realized_gain": round(r.realized_gain, 2),
                "deviation_after": round(r.deviation_after, 2),
                "max_drift_after_pct": round(r.max_drift_after, 4),
                "out_of_band_after": r.out_of_band_after,
                "trades": r.trades,
                "cash_after": round(r.cash_after, 2),
            }
            for r in rows
        ],
    }


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
    rules = scenario.rules if scenario.as_of is not None else None
    done = propose_partition(
        _partition(
            book, scenario.symbols, rules, scenario.as_of, np.zeros(book.size, dtype=np.int32)
        ),
        scenario.method,
        scenario.options,
    )
    accounts = [
        account_proposal(
            account_id=account_id,
            row=row,
            local=row,
            book=book,
            proposal=done.proposal,
            symbols=scenario.symbols,
            share_decimals=scenario.share_decimals,
            rules=None if rules is None else _rule_output(done, row, rules[row].qualified),
        )
        for row, account_id in enumerate(scenario.account_ids)
    ]
    document = proposal_document(scenario.method, accounts)
    document["household"] = household_fields(
        household_id=scenario.household_id,
        book=book,
        proposal=done.proposal,
        symbols=scenario.symbols,
    )
    return document
