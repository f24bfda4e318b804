"""Household rebalance under each account's rules: locks, restrictions, wash sales across the
household, trade holds, tax lots, and the errors of the rule fields of household accounts.

The household is the seed's three-account example (``003_…``, as in
``tests/golden/test_household_scenario.py``): without rules A buys IBM, GE and GOOG and sells
MSFT and HD; B sells MSFT and buys GE; C sells AMAT and buys IBM.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.factories import household_doc, run_doc
from trimtab.errors import ScenarioError

AS_OF = "2026-11-20"
PRICES = {"IBM": 125, "MSFT": 40, "GE": 32, "HD": 100, "GOOG": 250, "AMAT": 20}
MODEL = {
    "securities": [
        {"symbol": s, "target_pct": 20, "min_pct": 15, "max_pct": 25}
        for s in ("IBM", "MSFT", "GE", "HD", "GOOG")
    ],
}
ACCOUNTS: list[dict[str, Any]] = [
    {
        "id": "A",
        "positions": [
            {"symbol": "IBM", "quantity": 6400},
            {"symbol": "MSFT", "quantity": 5000},
            {"symbol": "GE", "quantity": 21875},
            {"symbol": "HD", "quantity": 23000},
            {"symbol": "GOOG", "quantity": 4000},
        ],
    },
    {
        "id": "B",
        "positions": [
            {"symbol": "IBM", "quantity": 2400},
            {"symbol": "MSFT", "quantity": 35000},
            {"symbol": "GE", "quantity": 15625},
            {"symbol": "GOOG", "quantity": 3200},
        ],
    },
    {
        "id": "C",
        "positions": [
            {"symbol": "IBM", "quantity": 1200},
            {"symbol": "MSFT", "quantity": 27500},
            {"symbol": "GE", "quantity": 3125},
            {"symbol": "GOOG", "quantity": 200},
            {"symbol": "AMAT", "quantity": 30000},
        ],
    },
]
VALUES = {"A": 5_000_000.0, "B": 3_000_000.0, "C": 2_000_000.0}


def household(**rules: dict[str, Any]) -> dict[str, Any]:
    """The seed household with ``rules`` merged into accounts by id."""
    accounts = copy.deepcopy(ACCOUNTS)
    for acc in accounts:
        acc.update(rules.get(acc["id"], {}))
    return household_doc(accounts, as_of=AS_OF, prices=PRICES, model=MODEL)


def run(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, dict[str, Any]]]]:
    out = run_doc(doc)
    lines = {a["id"]: {t["symbol"]: t for t in a["trades"]} for a in out["accounts"]}
    for a in out["accounts"]:  # every pair stays inside its account
        assert a["value"] == VALUES[a["id"]]
    return out, lines


def quantity(line: dict[str, Any]) -> float:
    sign = {"buy": 1, "sell": -1, "none": 0}[line["action"]]
    return float(sign * line["quantity"])


def test_without_rules_the_seed_pairs_are_unchanged() -> None:
    _, lines = run(household())
    assert quantity(lines["C"]["IBM"]) == 4800
    assert quantity(lines["A"]["HD"]) == -3000
    assert quantity(lines["A"]["GE"]) == 6250


def test_locked_position_stays() -> None:
    out, lines = run(household(A={"locks": [{"type": "elective", "symbol": "HD"}]}))
    hd = lines["A"]["HD"]
    assert hd["action"] == "none"
    assert "elective lock" in hd["reason"]
    assert "sale limited by a rule" in hd["reason"]
    assert out["household"]["weights_after_pct"]["HD"] == pytest.approx(23.0)
    accounts = {a["id"]: a for a in out["accounts"]}
    assert accounts["A"]["status"] == "part_success"
    # The other overweight symbols are still brought down in the household.
    assert out["household"]["weights_after_pct"]["MSFT"] == pytest.approx(20.0, abs=0.01)


def test_restricted_security_not_bought_in_that_account_but_in_another() -> None:
    exclusion = {
        "type": "exclusion",
        "symbol": "IBM",
        "behaviour": "hold",
        "start_date": "2026-11-01",
    }
    out, lines = run(household(C={"restrictions": [exclusion]}))
    assert lines["C"]["IBM"]["action"] == "none"
    assert "excluded" in lines["C"]["IBM"]["reason"]
    # Without the exclusion C buys 4,800 IBM; now the household buys its IBM elsewhere.
    bought = sum(quantity(lines[a]["IBM"]) for a in ("A", "B"))
    assert bought > 1200
    assert all(quantity(lines[a]["IBM"]) >= 0 for a in ("A", "B"))
    assert out["household"]["weights_after_pct"]["IBM"] > 12.5


def test_wash_sale_history_in_one_account_blocks_the_buy_in_every_account() -> None:
    loss = {
        "account": "C",
        "symbol": "GE",
        "action": "sell",
        "date": "2026-11-10",
        "quantity": 100,
        "realized_gain": -400.0,
    }
    out, lines = run(household(C={"transactions": [loss]}))
    for acc in ("A", "B", "C"):
        assert lines[acc]["GE"]["action"] == "none", acc
        assert "wash sale" in lines[acc]["GE"]["reason"], acc
    assert out["household"]["weights_after_pct"]["GE"] == pytest.approx(13.0)


def test_loss_sale_in_one_account_and_buy_in_another_are_not_both_proposed() -> None:
    liquidate = {
        "type": "exclusion",
        "symbol": "IBM",
        "behaviour": "liquidate_immediately",
        "start_date": "2026-11-01",
    }
    at_a_loss = {
        "symbol": "IBM",
        "lots": [{"quantity": 1200, "cost_basis": 180000.0, "acquired": "2026-01-05"}],
    }
    doc = household(C={"restrictions": [liquidate]})
    doc["household"]["accounts"][2]["positions"][0] = at_a_loss
    out, lines = run(doc)
    sold = lines["C"]["IBM"]
    assert quantity(sold) == -1200
    assert sold["lots"][0]["gain"] == pytest.approx(-30000.0)
    assert sold["short_term_gain"] == pytest.approx(-30000.0)
    for acc in ("A", "B"):
        assert lines[acc]["IBM"]["action"] == "none", acc
        assert "wash sale" in lines[acc]["IBM"]["reason"], acc
    accounts = {a["id"]: a for a in out["accounts"]}
    assert accounts["C"]["realized_gain"]["total"] == pytest.approx(-30000.0)


def test_gain_sale_in_one_account_may_fund_a_buy_in_another() -> None:
    liquidate = {
        "type": "exclusion",
        "symbol": "IBM",
        "behaviour": "liquidate_immediately",
        "start_date": "2026-11-01",
    }
    at_a_gain = {
        "symbol": "IBM",
        "lots": [{"quantity": 1200, "cost_basis": 60000.0, "acquired": "2020-01-05"}],
    }
    doc = household(C={"restrictions": [liquidate]})
    doc["household"]["accounts"][2]["positions"][0] = at_a_gain
    _, lines = run(doc)
    assert quantity(lines["C"]["IBM"]) == -1200
    assert lines["C"]["IBM"]["long_term_gain"] == pytest.approx(90000.0)
    assert quantity(lines["A"]["IBM"]) + quantity(lines["B"]["IBM"]) > 0


def test_trade_hold_on_one_account_the_others_trade_around_it() -> None:
    out, lines = run(household(B={"trade_hold": {}}))
    accounts = {a["id"]: a for a in out["accounts"]}
    assert accounts["B"]["status"] == "failed"
    assert accounts["B"]["messages"] == ["The account is on trade hold: no trades are proposed."]
    assert all(t["action"] == "none" for t in lines["B"].values())
    assert accounts["A"]["status"] == "success"
    assert any(t["action"] != "none" for t in lines["A"].values())
    assert any(t["action"] != "none" for t in lines["C"].values())
    assert out["status"] == "failed"


def test_trade_hold_that_has_ended_does_not_act() -> None:
    _, lines = run(household(B={"trade_hold": {"until": "2026-11-19"}}))
    assert quantity(lines["B"]["MSFT"]) == -12500


def test_sells_list_the_lots_relieved_by_the_account_method() -> None:
    lots = [
        {"lot_id": "old", "quantity": 13000, "cost_basis": 650000.0, "acquired": "2015-03-01"},
        {"lot_id": "new", "quantity": 10000, "cost_basis": 1200000.0, "acquired": "2026-02-01"},
    ]
    doc = household(A={"lot_method": "hifo"})
    doc["household"]["accounts"][0]["positions"][3] = {"symbol": "HD", "lots": lots}
    out, lines = run(doc)
    hd = lines["A"]["HD"]
    assert quantity(hd) == -3000
    assert [(r["lot_id"], r["quantity"]) for r in hd["lots"]] == [("new", 3000)]
    assert hd["short_term_gain"] == pytest.approx(-60000.0)
    accounts = {a["id"]: a for a in out["accounts"]}
    assert accounts["A"]["realized_gain"]["short_term"] == pytest.approx(-60000.0)
    assert accounts["A"]["approval"]["required"] is False


def test_lots_without_as_of_are_only_positions() -> None:
    doc = household()
    del doc["as_of"]
    doc["household"]["accounts"][0]["positions"][3] = {
        "symbol": "HD",
        "lots": [{"quantity": 23000, "cost_basis": 1e6, "acquired": "2015-03-01"}],
    }
    _, lines = run(doc)
    assert quantity(lines["A"]["HD"]) == -3000
    assert "lots" not in lines["A"]["HD"]


@pytest.mark.parametrize(
    ("account", "rules", "message"),
    [
        (
            1,
            {
                "restrictions": [
                    {
                        "type": "exclusion",
                        "symbol": "IBM",
                        "behaviour": "hold",
                        "start_date": "2026-11-01",
                        "end_date": "2026-10-01",
                        "end_action": "rebalance_immediately",
                    }
                ]
            },
            "household.accounts[1].restrictions[0].end_date: must be after start_date "
            "2026-11-01, got 2026-10-01",
        ),
        (
            0,
            {
                "restrictions": [
                    {
                        "type": "exclusion",
                        "symbol": "IBM",
                        "behaviour": "sell",
                        "start_date": "2026-11-01",
                    }
                ]
            },
            "household.accounts[0].restrictions[0].behaviour: must be 'hold', "
            "'liquidate_immediately' or 'liquidate_as_needed', got 'sell'",
        ),
        (
            2,
            {
                "restrictions": [
                    {
                        "type": "substitution",
                        "symbol": "IBM",
                        "substitute": "ZZZ",
                        "behaviour": "hold",
                        "start_date": "2026-11-01",
                    }
                ]
            },
            "household.accounts[2].restrictions[0].substitute: no price for 'ZZZ' in prices",
        ),
        (
            1,
            {"locks": [{"type": "forever", "symbol": "IBM"}]},
            "household.accounts[1].locks[0].type: must be 'gain', 'elective' or "
            "'cost_basis_unlock', got 'forever'",
        ),
        (
            1,
            {"trade_hold": {"until": "soon"}},
            "household.accounts[1].trade_hold.until: must be a date YYYY-MM-DD, got 'soon'",
        ),
        (
            2,
            {
                "transactions": [
                    {
                        "account": "C",
                        "symbol": "GE",
                        "action": "sell",
                        "date": "2026-11-10",
                        "quantity": -1,
                    }
                ]
            },
            "household.accounts[2].transactions[0].quantity: must be at least 0, got -1",
        ),
        (
            0,
            {"short_term_windows": {"IBM": -3}},
            "household.accounts[0].short_term_windows.IBM: must be at least 0, got -3",
        ),
        (
            1,
            {
                "sleeves": [
                    {"type": "protected", "positions": [{"symbol": "IBM", "quantity": 5000}]}
                ]
            },
            "household.accounts[1].sleeves[0].positions[0].quantity: more than the 2400 "
            "shares of 'IBM' held",
        ),
        (
            1,
            {
                "sleeves": [
                    {
                        "type": "protected",
                        "positions": [
                            {"symbol": "IBM", "quantity": 5},
                            {"symbol": "IBM", "quantity": 5},
                        ],
                    }
                ]
            },
            "household.accounts[1].sleeves[0].positions[1].symbol: duplicate symbol 'IBM' in "
            "the sleeve (also positions[0])",
        ),
        (
            0,
            {"lot_method": "random"},
            "household.accounts[0].lot_method: must be 'fifo', 'lifo', 'hifo', 'minimum_tax' "
            "or 'specific_lots', got 'random'",
        ),
        (
            0,
            {"lot_method": "specific_lots", "specific_lots": {"IBM": ["L9"]}},
            "household.accounts[0].specific_lots.IBM[0]: no lot 'L9' in 'IBM'",
        ),
        (
            2,
            {
                "restrictions": [
                    {
                        "type": "exclusion",
                        "symbol": "GE",
                        "behaviour": "hold",
                        "start_date": "2026-11-01",
                    },
                    {
                        "type": "exclusion",
                        "symbol": "GE",
                        "behaviour": "hold",
                        "start_date": "2026-11-01",
                    },
                ]
            },
            "household.accounts[2].restrictions[1].symbol: 'GE' is already in restrictions[0] "
            "(an exclusion); a security may be in one restriction only (a group member may "
            "also be a substitute): delete the other restriction first",
        ),
    ],
)
def test_bad_rule_fields_name_the_household_account(
    account: int, rules: dict[str, Any], message: str
) -> None:
    doc = household(**{ACCOUNTS[account]["id"]: rules})
    with pytest.raises(ScenarioError) as err:
        run_doc(doc)
    assert str(err.value) == message


def test_dated_rules_need_as_of() -> None:
    doc = household(B={"locks": [{"type": "elective", "symbol": "MSFT"}]})
    del doc["as_of"]
    with pytest.raises(ScenarioError) as err:
        run_doc(doc)
    assert str(err.value) == "as_of: required when household.accounts[1].locks is given"


def test_duplicate_lot_ids_name_the_household_position() -> None:
    doc = household()
    doc["household"]["accounts"][1]["positions"][0] = {
        "symbol": "IBM",
        "lots": [
            {"lot_id": "L1", "quantity": 1200, "cost_basis": 1.0, "acquired": "2020-01-01"},
            {"lot_id": "L1", "quantity": 1200, "cost_basis": 1.0, "acquired": "2021-01-01"},
        ],
    }
    with pytest.raises(ScenarioError) as err:
        run_doc(doc)
    assert str(err.value) == (
        "household.accounts[1].positions[0].lots: lot_id values must be unique"
    )


def test_equivalents_group_in_one_account_keeps_values_and_trades_the_group() -> None:
    group = {
        "type": "equivalents",
        "start_date": "2026-11-01",
        "members": [{"symbol": "GE", "behaviour": "do_not_buy"}, {"symbol": "AMAT"}],
    }
    out, lines = run(household(B={"restrictions": [group]}))
    # B's group weight is bought through AMAT, the member it may buy; GE (do not buy) stays.
    assert lines["B"]["GE"]["action"] == "none"
    assert lines["B"]["AMAT"]["action"] == "buy"
    assert lines["B"]["AMAT"]["quantity"] > 0
    assert out["status"] in ("success", "part_success")


def _random_household_rules(
    seed: int,
) -> tuple[Any, Any, Any, list[Any], Any]:
    """Six households of three accounts, one shared 5-line model plus a held extra symbol,
    with random lots, elective locks, exclusions, trade holds and loss sales in the history."""
    from datetime import date

    import numpy as np

    from trimtab.core.batch import make_batch
    from trimtab.core.lots import Lot
    from trimtab.core.restrictions import Behaviour, Exclusion
    from trimtab.core.rules import AccountRules, Side, Transaction

    rng = np.random.default_rng(seed)
    n_house, per, k = 6, 3, 6
    n = n_house * per
    price = rng.uniform(10.0, 200.0, k)
    target = np.zeros(k)
    target[:5] = rng.dirichlet(np.ones(5)) * 0.99
    in_model = np.zeros((n, k), dtype=bool)
    in_model[:, :5] = True
    quantity = rng.integers(0, 2000, (n, k)).astype(np.float64)
    quantity[rng.random(n) < 0.6, 5] = 0.0
    valid = in_model | (quantity > 0)
    batch = make_batch(
        price=np.tile(price, (n, 1)),
        quantity=quantity,
        target=np.tile(target, (n, 1)) * in_model,
        lower=np.tile(target * 0.8, (n, 1)) * in_model,
        upper=np.tile(target * 1.2, (n, 1)) * in_model,
        in_model=in_model,
        valid=valid,
        cash=rng.uniform(0.0, 5000.0, n),
        cash_target=np.full(n, 0.01),
    )
    symbol = np.where(valid, np.arange(k, dtype=np.int32)[None, :], -1).astype(np.int32)
    house = np.repeat(np.arange(n_house, dtype=np.int32), per)
    as_of = date(2026, 11, 20)
    history: dict[int, list[Transaction]] = {h: [] for h in range(n_house)}
    for h in range(n_house):
        if rng.random() < 0.5:
            history[h].append(
                Transaction(
                    f"a{h * per}",
                    int(rng.integers(0, 5)),
                    Side.SELL,
                    date(2026, 11, 1),
                    10.0,
                    -100.0,
                )
            )
    rules = []
    for r in range(n):
        lots = {
            j: (
                Lot(
                    float(quantity[r, j]),
                    float(quantity[r, j] * price[j] * rng.uniform(0.7, 1.3)),
                    date(2026, 1, 1),
                ),
            )
            for j in range(k)
            if quantity[r, j] > 0
        }
        exclusions = ()
        if rng.random() < 0.3:
            exclusions = (
                Exclusion(int(rng.integers(0, 5)), Behaviour.LIQUIDATE_NOW, date(2026, 1, 1)),
            )
        rules.append(
            AccountRules(
                account=f"a{r}",
                exclusions=exclusions,
                lots=lots,
                elective_locks=frozenset({int(rng.integers(0, k))})
                if rng.random() < 0.3
                else frozenset(),
                on_hold=bool(rng.random() < 0.15),
                transactions=tuple(history[int(house[r])]),
            )
        )
    return batch, symbol, house, rules, as_of


@pytest.mark.parametrize("seed", range(12))
def test_ruled_household_invariants(seed: int) -> None:
    import numpy as np

    from trimtab.core.engine import Method, TradeOptions
    from trimtab.core.rules import sales_of, slot_rules
    from trimtab.pipeline import Partition, propose_partition

    batch, symbol, house, rules, as_of = _random_household_rules(seed)
    part = Partition(
        batch=batch,
        symbol=symbol,
        household=house,
        rules=slot_rules(symbol, rules, as_of, batch.target),
        as_of=as_of,
    )
    done = propose_partition(part, Method.HOUSEHOLD_REBALANCE, TradeOptions())
    assert done.ruled is not None and done.relieved is not None
    ruled = done.ruled
    sales = sales_of(done.relieved, ruled)
    p = done.proposal
    q = p.quantity
    # No money moves between accounts, and no account overdraws.
    after = p.cash_after + ((batch.quantity + q) * batch.price).sum(axis=1)
    np.testing.assert_allclose(after, p.value, atol=0.011)
    assert np.all(p.cash_after >= -1e-9)
    # Sells within what rules leave sellable; buys only where rules allow.
    assert np.all(-q <= ruled.batch.sell_limit + 1e-9)
    assert not np.any((q > 0) & ~ruled.batch.buy_allowed)
    hold = np.array([r.on_hold for r in rules])
    assert not np.any(q[hold])
    for r, acc in enumerate(rules):
        for s in acc.elective_locks:
            assert q[r, s] >= 0
        for s in acc.wash_buy_blocked(as_of):
            assert q[r, s] <= 0
    # No security sold at a loss in one account and bought in another of the household.
    losses = {
        (int(house[r]), int(symbol[r, k]))
        for (r, k), sale in sales.items()
        if any(x.gain is not None and x.gain < 0 for x in sale.reliefs)
    }
    bought = {(int(house[r]), int(symbol[r, k])) for r, k in zip(*np.nonzero(q > 0), strict=True)}
    assert not losses & bought
    assert np.any(q != 0)


def test_bad_household_rule_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trimtab.cli import main

    doc = household(C={"locks": [{"type": "gain", "symbol": "IBM", "until": "2027-01-01"}]})
    path = tmp_path / "household.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as done:
        main(["propose", str(path)])
    out, err = capsys.readouterr()
    assert done.value.code == 2
    assert out == ""
    assert err == "trimtab: household.accounts[2].locks[0].until: unknown field\n"
