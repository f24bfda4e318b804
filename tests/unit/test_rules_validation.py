"""Malformed or contradictory rules are refused with the record and field named."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from trimtab.errors import ScenarioError
from trimtab.io.scenario import parse_scenario

BASE: dict[str, Any] = {
    "method": "rebalance_to_target",
    "as_of": "2026-11-23",
    "prices": {"A": 10.0, "B": 20.0, "C": 30.0, "D": 40.0},
    "model": {"securities": [{"symbol": "A", "target_pct": 60}, {"symbol": "B", "target_pct": 40}]},
    "account": {"id": "X", "cash": 1000, "positions": [{"symbol": "A", "quantity": 5}]},
}


def parse(**more: Any) -> Any:
    return parse_scenario(json.dumps({**BASE, **more}))


def refused(**more: Any) -> str:
    with pytest.raises(ScenarioError) as err:
        parse(**more)
    return str(err.value)


def excl(symbol: str, **more: Any) -> dict[str, Any]:
    return {
        "type": "exclusion",
        "symbol": symbol,
        "behaviour": "hold",
        "start_date": "2026-11-01",
        **more,
    }


def test_end_date_before_start_date() -> None:
    bad = excl("B", start_date="2026-11-01", end_date="2026-10-01")
    msg = refused(restrictions=[excl("A"), bad])
    assert msg == "restrictions[1].end_date: must be after start_date 2026-11-01, got 2026-10-01"


def test_group_of_21_members() -> None:
    members = [{"symbol": "A"}] * 21
    msg = refused(restrictions=[{"type": "equivalents", "members": members}])
    assert msg.startswith("restrictions[0].members: must have 1 to 20 members, got 21")


def test_empty_group() -> None:
    msg = refused(restrictions=[{"type": "equivalents", "members": []}])
    assert msg.startswith("restrictions[0].members: must have 1 to 20 members, got 0")


def test_member_listed_twice() -> None:
    group = {"type": "equivalents", "members": [{"symbol": "A"}, {"symbol": "A"}]}
    assert refused(restrictions=[group]).startswith("restrictions[0].members[1].symbol:")


def test_conflict_names_the_existing_restriction() -> None:
    msg = refused(restrictions=[excl("A"), {**excl("A"), "behaviour": "liquidate_immediately"}])
    assert msg.startswith("restrictions[1].symbol: 'A' is already in restrictions[0]")
    assert "exclusion" in msg


def test_excluded_security_cannot_be_a_group_member() -> None:
    group = {"type": "equivalents", "members": [{"symbol": "A"}, {"symbol": "C"}]}
    msg = refused(restrictions=[excl("A"), group])
    assert msg.startswith("restrictions[1].members[0].symbol: 'A' is already in restrictions[0]")


def test_substitute_may_also_be_a_group_member() -> None:
    sub = {
        "type": "substitution",
        "symbol": "B",
        "substitute": "C",
        "behaviour": "liquidate_immediately",
        "start_date": "2026-11-01",
    }
    group = {"type": "equivalents", "members": [{"symbol": "C"}, {"symbol": "D"}]}
    for order in ([sub, group], [group, sub]):
        rules = parse(restrictions=order).rules
        # Both restrictions are kept: C is the substitute and a member of the group.
        assert len(rules.exclusions) == 1 and len(rules.groups) == 1
        scenario_symbols = parse(restrictions=order).symbols
        substitute = rules.exclusions[0].substitute
        assert scenario_symbols[substitute] == "C"
        assert sorted(scenario_symbols[m] for m in rules.groups[0].members) == ["C", "D"]


def test_replaced_security_cannot_be_a_group_member() -> None:
    sub = {
        "type": "substitution",
        "symbol": "B",
        "substitute": "C",
        "behaviour": "hold",
        "start_date": "2026-11-01",
    }
    group = {"type": "equivalents", "members": [{"symbol": "B"}, {"symbol": "D"}]}
    assert refused(restrictions=[sub, group]).startswith("restrictions[1].members[0].symbol")


def test_substitute_needs_a_price() -> None:
    sub = {
        "type": "substitution",
        "symbol": "B",
        "substitute": "Z",
        "behaviour": "hold",
        "start_date": "2026-11-01",
    }
    assert refused(restrictions=[sub]) == "restrictions[0].substitute: no price for 'Z' in prices"


def test_end_action_required_with_an_end_date() -> None:
    msg = refused(restrictions=[excl("A", end_date="2026-12-01")])
    assert msg.startswith("restrictions[0].end_action: required")


def test_unknown_behaviour() -> None:
    msg = refused(restrictions=[excl("A", behaviour="sell_sometimes")])
    assert msg.startswith("restrictions[0].behaviour")


def test_as_of_required_with_dated_rules() -> None:
    doc = {k: v for k, v in BASE.items() if k != "as_of"}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(json.dumps({**doc, "restrictions": [excl("A")]}))
    assert str(err.value) == "as_of: required when restrictions is given"


def test_unknown_specific_lot() -> None:
    account = {
        **BASE["account"],
        "lot_method": "specific_lots",
        "specific_lots": {"A": ["L9"]},
        "positions": [
            {
                "symbol": "A",
                "lots": [
                    {"lot_id": "L1", "quantity": 5, "cost_basis": 40, "acquired": "2025-01-02"}
                ],
            }
        ],
    }
    msg = refused(account=account, locks=[{"type": "gain"}])
    assert msg == "account.specific_lots.A[0]: no lot 'L9' in 'A'"


def test_cli_exit_2_and_one_line(tmp_path: Any) -> None:
    bad = excl("B", start_date="2026-11-01", end_date="2026-10-01")
    path = tmp_path / "s.json"
    path.write_text(json.dumps({**BASE, "restrictions": [bad]}))
    done = subprocess.run(
        [sys.executable, "-c", "from trimtab.cli import main; main()", "propose", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "trimtab: restrictions[0].end_date: must be after start_date 2026-11-01, got 2026-10-01"
    )
