"""``trimtab propose``: scenario text in, proposal document out."""

from __future__ import annotations

from typing import Any

from trimtab.core.engine import propose
from trimtab.io.proposal import account_proposal, proposal_document
from trimtab.io.scenario import parse_scenario


def run_scenario(text: str) -> dict[str, Any]:
    """Parse a scenario, propose, and return the proposal document (a JSON-ready dict)."""
    scenario = parse_scenario(text)
    book = scenario.book
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
