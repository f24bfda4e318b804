"""``trimtab propose``, ``propose-book`` and a service request give the same trades for the
same account, by every logic, on random accounts with rules.

Each seed makes a small random book: a model with bands and a cash target, accounts with
positions (some in tax lots at a gain or a loss, some outside the model), and rules —
exclusions, substitutions and equivalents groups, gain and elective locks, trade holds,
recent buys and loss sales (wash sales), short-term windows. The same book is written
three ways: a scenario per account (or per household, for household rebalance), a book
folder for ``propose-book``, and an import into a fresh SQLite store followed by a request.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from tests.factories import seed_firm, write_book
from trimtab.core.engine import Method
from trimtab.io.batch import book_rules, propose_tables, with_book_classes
from trimtab.io.book import read_book
from trimtab.io.household_book import group_households
from trimtab.io.propose import run_scenario
from trimtab.options import trade_options
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.requests import cancel_request, show_request, submit_request
from trimtab.store.migrate import make_engine, upgrade
from trimtab.store.uow import UnitOfWork

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 09:00 in Chicago: trade day = DAY
CLASSES = ("Large Value", "Core Bond", "Small Growth")
AMOUNTS: dict[str, dict[str, float]] = {
    "generate_cash": {"cash_to_generate": 2500.0},
    "withdrawal": {"cash_to_generate": 2500.0},
    "invest_cash_proportional": {"cash_to_invest": 1500.0},
}
SEEDS = range(8)


def random_book(seed: int, together: bool) -> dict[str, Any]:
    """A random book; ``together`` puts every account in one household."""
    rng = np.random.default_rng(seed)
    symbols = [f"S{i}" for i in range(7)]
    prices = {s: float(np.round(rng.uniform(8, 150), 2)) for s in symbols}
    classes = {s: CLASSES[i % 3] for i, s in enumerate(symbols)}
    model_symbols = symbols[:4]
    cash_pct = float(rng.choice([0.0, 2.0]))
    raw = rng.uniform(10, 40, size=4)
    targets = np.round(raw / raw.sum() * (100 - cash_pct), 2)
    targets[-1] = round(100 - cash_pct - float(targets[:-1].sum()), 2)
    model = [
        (s, float(t), round(float(t) * 0.85, 4), round(float(t) * 1.15, 4))
        for s, t in zip(model_symbols, targets, strict=True)
    ]
    accounts: dict[str, dict[str, Any]] = {}
    for a in range(3):
        aid = f"A{a}"
        held = list(rng.choice(symbols[:5], size=int(rng.integers(2, 5)), replace=False))
        positions: dict[str, float] = {str(s): float(rng.integers(5, 120)) for s in held}
        lots: dict[str, list[tuple[float, float | None, str, str]]] = {}
        for s in list(positions)[:2]:
            q = positions[s]
            first = float(np.floor(q / 2))
            rows = []
            for n, part in enumerate((first, q - first)):
                if part <= 0:
                    continue
                basis = part * prices[s] * float(rng.uniform(0.6, 1.4))
                age = int(rng.integers(20, 700))
                rows.append(
                    (
                        part,
                        None if rng.random() < 0.1 else round(basis, 2),
                        (DAY - timedelta(days=age)).isoformat(),
                        f"{aid}{s}L{n}",
                    )
                )
            lots[s] = rows
        accounts[aid] = {
            "household": "H" if together else f"H{a}",
            "registration": str(rng.choice(["qualified", "non_qualified"])),
            "lot_method": str(rng.choice(["fifo", "lifo", "hifo", "minimum_tax"])),
            "cash": float(np.round(rng.uniform(0, 3000), 2)),
            "positions": positions,
            "lots": lots,
            "restrictions": [],
            "locks": [],
            "transactions": [],
        }
        start = (DAY - timedelta(days=30)).isoformat()
        pick = rng.random()
        if pick < 0.25:
            accounts[aid]["restrictions"].append(
                {
                    "type": "exclusion",
                    "symbol": model_symbols[int(rng.integers(0, 4))],
                    "behaviour": str(
                        rng.choice(["hold", "liquidate_immediately", "liquidate_as_needed"])
                    ),
                    "replacement": str(rng.choice(["hold_cash", "reallocate"])),
                    "start_date": start,
                }
            )
        elif pick < 0.5:
            accounts[aid]["restrictions"].append(
                {
                    "type": "substitution",
                    "symbol": model_symbols[int(rng.integers(0, 4))],
                    "substitute": "S6",
                    "behaviour": str(rng.choice(["hold", "liquidate_immediately"])),
                    "start_date": start,
                }
            )
        elif pick < 0.75:
            accounts[aid]["restrictions"].append(
                {
                    "type": "equivalents",
                    "start_date": start,
                    "members": [
                        {"symbol": model_symbols[0], "behaviour": "none"},
                        {"symbol": "S5", "behaviour": str(rng.choice(["none", "do_not_buy"]))},
                    ],
                }
            )
        if rng.random() < 0.4:
            kind = str(rng.choice(["gain", "elective"]))
            accounts[aid]["locks"].append({"type": kind, "symbol": next(iter(positions))})
        if rng.random() < 0.1:
            accounts[aid]["trade_hold"] = True
        if rng.random() < 0.5:
            s = str(rng.choice(model_symbols))
            loss = rng.random() < 0.5
            accounts[aid]["transactions"].append(
                {
                    "account": aid,
                    "symbol": s,
                    "action": "sell" if loss else "buy",
                    "date": (DAY - timedelta(days=int(rng.integers(1, 25)))).isoformat(),
                    "quantity": 3.0,
                    "realized_gain": -50.0 if loss else None,
                }
            )
    windows = {model_symbols[1]: 30} if rng.random() < 0.5 else {}
    return {
        "prices": prices,
        "classes": classes,
        "model": model,
        "cash_pct": cash_pct,
        "accounts": accounts,
        "windows": windows,
    }


def book_folder(folder: Path, b: dict[str, Any]) -> Path:
    """The book as a folder of CSV tables (the book format, rule tables included)."""
    accounts = b["accounts"]
    restrictions = []
    for aid, acc in accounts.items():
        for n, r in enumerate(acc["restrictions"]):
            members = r.get("members") or [{"symbol": r["symbol"], "behaviour": r["behaviour"]}]
            for m in members:
                restrictions.append(
                    {
                        "account_id": aid,
                        "type": r["type"],
                        "symbol": m["symbol"],
                        "start_date": r["start_date"],
                        "restriction_id": f"{aid}R{n}",
                        "substitute": r.get("substitute", ""),
                        "replacement": r.get("replacement", ""),
                        "behaviour": m["behaviour"],
                    }
                )
    locks = [
        {"account_id": aid, "type": lk["type"], "symbol": lk["symbol"]}
        for aid, acc in accounts.items()
        for lk in acc["locks"]
    ] + [
        {"account_id": aid, "type": "trade_hold", "symbol": ""}
        for aid, acc in accounts.items()
        if acc.get("trade_hold")
    ]
    transactions = [
        {
            "account_id": t["account"],
            "symbol": t["symbol"],
            "action": t["action"],
            "date": t["date"],
            "quantity": t["quantity"],
            "realized_gain": "" if t["realized_gain"] is None else t["realized_gain"],
        }
        for acc in accounts.values()
        for t in acc["transactions"]
    ]
    return write_book(
        folder,
        prices=[
            {"symbol": s, "price": p, "sub_asset_class": b["classes"][s], "asset_class": "X"}
            for s, p in b["prices"].items()
        ],
        models=[
            {"model_id": "M", "symbol": s, "target_pct": t, "min_pct": lo, "max_pct": hi}
            for s, t, lo, hi in b["model"]
        ],
        accounts=[
            {
                "account_id": aid,
                "model_id": "M",
                "cash": acc["cash"],
                "household_id": acc["household"],
                "registration": acc["registration"],
                "lot_method": acc["lot_method"],
            }
            for aid, acc in accounts.items()
        ],
        positions=[  # every holding, those given by lots too (their lots add up to it)
            {"account_id": aid, "symbol": s, "quantity": q}
            for aid, acc in accounts.items()
            for s, q in acc["positions"].items()
        ],
        lots=[
            {
                "account_id": aid,
                "symbol": s,
                "quantity": q,
                "cost_basis": "" if basis is None else basis,
                "acquired": when,
                "lot_id": lot_id,
            }
            for aid, acc in accounts.items()
            for s, rows in acc["lots"].items()
            for q, basis, when, lot_id in rows
        ],
        restrictions=restrictions,
        locks=locks,
        transactions=transactions,
        short_term_windows=[{"symbol": s, "days": d} for s, d in b["windows"].items()],
    )


def _account_doc(aid: str, acc: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    positions: list[dict[str, Any]] = []
    for s, q in acc["positions"].items():
        if s in acc["lots"]:
            lots = [
                {"quantity": part, "cost_basis": basis, "acquired": when, "lot_id": lot_id}
                for part, basis, when, lot_id in acc["lots"][s]
            ]
            positions.append({"symbol": s, "lots": lots, "sub_asset_class": b["classes"][s]})
        else:
            positions.append({"symbol": s, "quantity": q, "sub_asset_class": b["classes"][s]})
    house = [
        t
        for other in b["accounts"].values()
        if other["household"] == acc["household"]
        for t in other["transactions"]
    ]
    return {
        "account": {
            "id": aid,
            "registration": acc["registration"],
            "cash": acc["cash"],
            "positions": positions,
            "lot_method": acc["lot_method"],
        },
        "rules": {
            "restrictions": acc["restrictions"],
            "locks": acc["locks"],
            "transactions": [{k: v for k, v in t.items() if v is not None} for t in house],
            "short_term_windows": b["windows"],
            **({"trade_hold": {}} if acc.get("trade_hold") else {}),
        },
    }


def _model(b: dict[str, Any]) -> dict[str, Any]:
    return {
        "cash_pct": b["cash_pct"],
        "securities": [
            {
                "symbol": s,
                "target_pct": t,
                "min_pct": lo,
                "max_pct": hi,
                "sub_asset_class": b["classes"][s],
            }
            for s, t, lo, hi in b["model"]
        ],
    }


def scenario_trades(b: dict[str, Any], method: str) -> dict[str, set[tuple[Any, ...]]]:
    """Each account's trades by ``trimtab propose``: one scenario per account, or one per
    household for household rebalance."""
    options = {**AMOUNTS.get(method, {}), "min_trade_value": 0.0}
    out: dict[str, set[tuple[Any, ...]]] = {}
    if method == "household_rebalance":
        docs = []
        for house in sorted({acc["household"] for acc in b["accounts"].values()}):
            members = [
                (aid, _account_doc(aid, acc, b))
                for aid, acc in b["accounts"].items()
                if acc["household"] == house
            ]
            docs.append(
                {
                    "method": method,
                    "as_of": DAY.isoformat(),
                    "options": options,
                    "prices": b["prices"],
                    "model": _model(b),
                    "household": {
                        "id": house,
                        "accounts": [{**d["account"], **d["rules"]} for _, d in members],
                    },
                }
            )
    else:
        docs = []
        for aid, acc in b["accounts"].items():
            d = _account_doc(aid, acc, b)
            docs.append(
                {
                    "method": method,
                    "as_of": DAY.isoformat(),
                    "options": options,
                    "prices": b["prices"],
                    "model": _model(b),
                    "account": d["account"],
                    **d["rules"],
                }
            )
    for doc in docs:
        for account in run_scenario(json.dumps(doc))["accounts"]:
            out[account["id"]] = {
                (t["symbol"], t["action"], round(float(t["quantity"]), 6), t["order_value"])
                for t in account["trades"]
                if t["action"] != "none"
            }
    return out


def book_trades(folder: Path, method: str) -> dict[str, set[tuple[Any, ...]]]:
    """Each account's trades by ``propose-book``'s code path."""
    chosen = Method(method)
    options = trade_options(chosen, min_trade_value=0.0, **AMOUNTS.get(method, {}))
    loaded = group_households(read_book(folder, keep_positions=False))
    loaded, rules = book_rules(folder, loaded, DAY)
    options = with_book_classes(loaded, chosen, options)
    trades, _ = propose_tables(loaded, chosen, options, rules=rules)
    out: dict[str, set[tuple[Any, ...]]] = {}
    for r in trades.to_pylist():
        out.setdefault(r["account_id"], set()).add(
            (r["symbol"], r["action"], round(float(r["quantity"]), 6), r["order_value"])
        )
    return out


def service_trades(
    engine: sa.Engine, accounts: list[str], method: str
) -> dict[str, set[tuple[Any, ...]]]:
    """Each account's trades in a request submitted by ``method`` (then cancelled)."""
    amounts = {**AMOUNTS.get(method, {}), "min_trade_value": 0.0}
    with UnitOfWork(engine, "acme") as uow:
        done = submit_request(
            uow, actor="olga", account_ids=accounts, logic=method, now=NOW, amounts=amounts
        )
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=done.request_id)
    if done.status == "pending":
        with UnitOfWork(engine, "acme") as uow:
            cancel_request(uow, actor="olga", request_id=done.request_id, now=NOW)
    out: dict[str, set[tuple[Any, ...]]] = {}
    for p in shown.proposals:
        out[p.account_id] = {
            (x.symbol, x.action, round(float(x.quantity), 6), float(x.order_value))
            for x in p.trades
        }
    return out


def _store(tmp_path: Path, folder: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    seed_firm(engine)
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=DAY, folder=read_book_folder(folder, DAY), now=NOW)
    return engine


def _no_empty(trades: dict[str, set[tuple[Any, ...]]], accounts: list[str]) -> dict[str, Any]:
    return {a: sorted(trades.get(a, set())) for a in accounts}


@pytest.mark.parametrize("seed", SEEDS)
def test_every_logic_gives_the_same_trades_three_ways(seed: int, tmp_path: Path) -> None:
    b = random_book(seed, together=False)
    folder = book_folder(tmp_path / "book", b)
    engine = _store(tmp_path, folder)
    accounts = sorted(b["accounts"])
    traded = 0
    try:
        for method in Method:
            if method is Method.HOUSEHOLD_REBALANCE:
                continue
            by_scenario = _no_empty(scenario_trades(b, method.value), accounts)
            by_book = _no_empty(book_trades(folder, method.value), accounts)
            by_service = _no_empty(service_trades(engine, accounts, method.value), accounts)
            assert by_book == by_scenario, method
            assert by_service == by_scenario, method
            traded += sum(len(v) for v in by_scenario.values())
    finally:
        engine.dispose()
    assert traded > 0  # the book is not so constrained that nothing trades


@pytest.mark.parametrize("seed", SEEDS)
def test_household_rebalance_gives_the_same_trades_three_ways(seed: int, tmp_path: Path) -> None:
    b = random_book(seed, together=True)
    folder = book_folder(tmp_path / "book", b)
    engine = _store(tmp_path, folder)
    accounts = sorted(b["accounts"])
    try:
        method = Method.HOUSEHOLD_REBALANCE.value
        by_scenario = _no_empty(scenario_trades(b, method), accounts)
        assert _no_empty(book_trades(folder, method), accounts) == by_scenario
        # one account named brings its whole household
        assert _no_empty(service_trades(engine, accounts[:1], method), accounts) == by_scenario
    finally:
        engine.dispose()


def test_a_wash_sale_in_one_account_blocks_the_buy_in_its_household(tmp_path: Path) -> None:
    """Two accounts of one household on a model of A and B. H1 holds only A, bought at $60
    a share, now $40: rebalancing sells A at a loss. H2 holds only B: rebalancing would buy
    A. Selling A at a loss in H1 and buying it in H2 the same day is a wash sale, so H2's
    buy of A is refused, by propose-book and by a request alike."""
    folder = write_book(
        tmp_path / "book",
        prices=[{"symbol": "A", "price": 40.0}, {"symbol": "B", "price": 50.0}],
        models=[
            {"model_id": "M", "symbol": "A", "target_pct": 50, "min_pct": 45, "max_pct": 55},
            {"model_id": "M", "symbol": "B", "target_pct": 50, "min_pct": 45, "max_pct": 55},
        ],
        accounts=[
            {"account_id": "H1", "model_id": "M", "cash": 0, "household_id": "H"},
            {"account_id": "H2", "model_id": "M", "cash": 0, "household_id": "H"},
        ],
        positions=[
            {"account_id": "H1", "symbol": "A", "quantity": 100},
            {"account_id": "H2", "symbol": "B", "quantity": 100},
        ],
        lots=[
            {
                "account_id": "H1",
                "symbol": "A",
                "quantity": 100,
                "cost_basis": 6000,
                "acquired": "2025-01-02",
                "lot_id": "L1",
            }
        ],
    )
    by_book = book_trades(folder, "rebalance_to_target")
    assert ("A", "sell", 50.0, 2000.0) in by_book["H1"]  # $2,000 of A sold at a $1,000 loss
    assert not any(t[0] == "A" for t in by_book["H2"])  # no A bought in H2
    engine = _store(tmp_path, folder)
    try:
        by_service = service_trades(engine, ["H1", "H2"], "rebalance_to_target")
    finally:
        engine.dispose()
    assert _no_empty(by_service, ["H1", "H2"]) == _no_empty(by_book, ["H1", "H2"])
