"""Trade restrictions and locks managed in the service (seed 001, "Trade Restrictions"):
added, refused when a security is already restricted, edited in end date and end action
only, removed; every change audited; and a request honours them at once."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.e2e.test_service_cli import env, invoke  # noqa: F401  (env is a fixture)
from tests.factories import tiny_book
from trimtab.store import tables as t
from trimtab.store.migrate import make_engine

AT = "2026-11-20T15:00:00+00:00"


def _setup(folder: Path) -> None:
    invoke("db", "upgrade")
    invoke("firm", "add", "--firm", "acme", "--admin", "alice")
    invoke("user", "add", "olga", "--role", "operator", "--user", "alice")
    invoke("import", str(tiny_book(folder / "b")), "--date", "2026-11-20", "--user", "olga")


def _trades(request_id: int) -> set[tuple[str, str, str]]:
    shown = json.loads(
        invoke("request", "show", str(request_id), "--format", "json", "--user", "olga")
    )
    return {
        (p["account_id"], x["symbol"], x["action"]) for p in shown["proposals"] for x in p["trades"]
    }


def test_restrictions_are_managed_and_honoured(env: Path) -> None:  # noqa: F811
    _setup(env)
    common = ("--user", "olga", "--at", AT)
    out = invoke(
        "restriction", "add", "ACC1", "--type", "exclusion", "--symbol", "A",
        "--behaviour", "liquidate_immediately", "--replacement", "hold_cash",
        "--start-date", "2026-11-01", *common,
    )  # fmt: skip
    assert out.strip() == "account ACC1: restriction R1 added"
    # B is not restricted yet; A is: a second restriction on A is refused, naming R1.
    refused = invoke(
        "restriction", "add", "ACC1", "--type", "substitution", "--symbol", "A",
        "--substitute", "B", "--behaviour", "hold", "--start-date", "2026-11-01", *common,
        code=2,
    )  # fmt: skip
    assert (
        "trimtab: symbol: 'A' is already in restriction 'R1' (an exclusion) of this account; "
        "a security may be in one restriction only (a group member may also be a "
        "substitute): delete the other restriction first"
    ) in refused
    # A group member may also be a substitution's substitute (seed 001's exception).
    invoke(
        "restriction", "add", "ACC2", "--type", "equivalents", "--member", "A",
        "--member", "B:do_not_buy", *common,
    )  # fmt: skip
    listed = invoke("restriction", "list", "ACC1", "--user", "olga")
    assert "R1" in listed and "liquidate_immediately" in listed
    # ACC1 (12 A, 10 B, $1,000 cash) must not hold A: all 12 are sold, A's 60% stays cash.
    assert invoke("request", "submit", "--accounts", "ACC1", "--logic", "rebalance_to_target",
                  *common).startswith("request 1 pending")  # fmt: skip
    assert ("ACC1", "A", "sell") in _trades(1)
    invoke("request", "cancel", "1", *common)
    # Only the end date and end action change.
    invoke(
        "restriction", "edit", "ACC1", "R1", "--end-date", "2026-12-31",
        "--end-action", "rebalance_immediately", *common,
    )  # fmt: skip
    assert "2026-12-31" in invoke("restriction", "list", "ACC1", "--user", "olga")
    bad = invoke("restriction", "edit", "ACC1", "R1", "--end-date", "2026-12-31", *common, code=2)
    assert (
        "trimtab: --end-action: required with an end_date: rebalance_immediately or "
        "wait_for_weight_change"
    ) in bad
    invoke("restriction", "remove", "ACC1", "R1", *common)
    assert "0 restrictions" in invoke("restriction", "list", "ACC1", "--user", "olga")
    missing = invoke("restriction", "remove", "ACC1", "R1", *common, code=2)
    assert "trimtab: account 'ACC1' has no restriction 'R1'" in missing
    # A lock: ACC1 keeps its A.
    invoke("lock", "add", "ACC1", "--type", "elective", "--symbol", "A", *common)
    assert "elective" in invoke("lock", "list", "ACC1", "--user", "olga")
    invoke("request", "submit", "--accounts", "ACC1", "--logic", "generate_cash",
           "--cash-to-generate", "1500", *common)  # fmt: skip
    assert not any(s == "A" and a == "sell" for _, s, a in _trades(2))
    invoke("lock", "remove", "ACC1", "--type", "elective", "--symbol", "A", *common)
    engine = make_engine()
    with engine.connect() as conn:
        actions = (
            conn.execute(
                sa.select(t.audit_log.c.action)
                .where(t.audit_log.c.entity == "account")
                .order_by(t.audit_log.c.at, t.audit_log.c.action)
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert sorted(actions) == sorted(
        ["add_restriction", "add_restriction", "edit_restriction", "remove_restriction",
         "add_lock", "remove_lock"]
    )  # fmt: skip


def test_a_held_away_account_is_never_traded(env: Path) -> None:  # noqa: F811
    _setup(env)
    invoke("account", "set", "ACC2", "--held-away", "--user", "olga", "--at", AT)
    refused = invoke(
        "request", "submit", "--accounts", "ACC2", "--logic", "rebalance_to_target",
        "--user", "olga", "--at", AT, code=2,
    )  # fmt: skip
    assert "trimtab: --accounts: account 'ACC2' is held away: never traded" in refused
    # a household rebalance of ACC1 leaves its held-away household mate out
    out = invoke(
        "request", "submit", "--accounts", "ACC1", "--logic", "household_rebalance",
        "--user", "olga", "--at", AT,
    )  # fmt: skip
    assert out.startswith("request 1 pending: 1 accounts")
