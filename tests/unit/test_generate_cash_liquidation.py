"""Generate cash when existing cash already covers the amount (issue 16, part 4).

A held security the account must not hold (outside the model, or excluded with
"liquidate immediately") is sold in full by every logic that sells, generate cash and
withdrawal included, even when nothing else has to be sold; its line says so truthfully.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import account_doc, run_doc, scenario_doc


def _scenario(method: str, *, exclusion: bool) -> dict[str, Any]:
    securities = [{"symbol": "IBM", "target_pct": 50, "min_pct": 45, "max_pct": 55}]
    if exclusion:
        securities.append(
            {
                "symbol": "XOM",
                "target_pct": 20,
                "min_pct": 15,
                "max_pct": 25,
                "sub_asset_class": "N",
            }
        )
        restrictions = [
            {
                "type": "exclusion",
                "symbol": "XOM",
                "behaviour": "liquidate_immediately",
                "start_date": "2026-11-01",
            }
        ]
    scenario = scenario_doc(
        method=method,
        options={"cash_to_generate": 500.0},
        prices={"IBM": 125.0, "XOM": 60.0},
        model={"name": "M", "cash_pct": 50 if not exclusion else 30, "securities": securities},
        account=account_doc({"IBM": 40, "XOM": 12}, id="A", cash=2_000.0),
    )
    if exclusion:
        scenario.update(as_of="2026-11-20", restrictions=restrictions)
    return scenario


@pytest.mark.parametrize("method", ["generate_cash", "withdrawal"])
@pytest.mark.parametrize("exclusion", [False, True])
def test_a_holding_the_account_must_not_hold_is_sold_though_cash_covers(
    method: str, exclusion: bool
) -> None:
    out = run_doc(_scenario(method, exclusion=exclusion))["accounts"][0]
    lines = {t["symbol"]: t for t in out["trades"]}
    xom = lines["XOM"]
    # 12 XOM at $60 sold in full: $720 on top of the $2,000 of cash (which covered $500).
    assert (xom["action"], xom["quantity"], xom["order_value"]) == ("sell", 12, 720.0)
    assert "sold in full" in xom["reason"]
    assert ("liquidate immediately" in xom["reason"]) is exclusion
    assert lines["IBM"]["action"] == "none"
    assert "not needed to raise the cash" in lines["IBM"]["reason"]
    assert out["cash_after"] == pytest.approx(2_720.0, abs=1e-9)
