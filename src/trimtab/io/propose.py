"""``trimtab propose``: scenario text in, proposal document out."""

from __future__ import annotations

from datetime import date
from typing import Any

from trimtab.core.engine import propose
from trimtab.core.rules import AccountRules, apply_rules, realise, settle
from trimtab.io.proposal import AccountRuleOutput, account_proposal, proposal_document
from trimtab.io.scenario import Scenario, parse_scenario


def run_scenario(text: str) -> dict[str, Any]:
    """Parse a scenario, propose, and return the proposal document (a JSON-ready dict)."""
    scenario = parse_scenario(text)
    book = scenario.book
    if scenario.rules is not None and scenario.as_of is not None:
        return _with_rules(scenario, scenario.rules, scenario.as_of)
    result = propose(book.batch(0, 1), scenario.method, scenario.options)
    account = account_proposal(
        account_id=scenario.account_id,
        row=0,
        local=0,
        book=book,
        proposal=result,
        symbols=scenario.symbols,
        share_decimals=scenario.share_decimals,
    )
    return proposal_document(scenario.method, [account])


def _with_rules(scenario: Scenario, rules: AccountRules, as_of: date) -> dict[str, Any]:
    """The proposal of an account with restrictions, locks, tax lots or trading rules."""
    book = scenario.book
    batch = book.batch(0, 1)
    slots = book.slot_symbol[0:1]
    ruled = apply_rules(batch, slots, [rules], as_of)
    result = propose(ruled.batch, scenario.method, scenario.options, groups=ruled.groups)
    result, limited = settle(result, ruled)
    sales = realise(result, ruled.batch, slots, [rules], as_of)
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
            qualified=rules.qualified,
        ),
    )
    return proposal_document(scenario.method, [account])
