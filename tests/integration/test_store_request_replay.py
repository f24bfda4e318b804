"""A request's record and its replay, on SQLite and PostgreSQL.

Every logic's proposal, computed again from the record alone, is identical to the one kept
(a book with sleeves, rules and lots; a household rebalance). The replay reads nothing but
the record: after the stored book, rules and settings change it is still identical, while a
new request proposes otherwise. A proposal that differs is shown field by field; a record
whose bytes were changed is refused. The order memorandum of an approved request ties the
record, the approval and the orders together, and finds an order changed afterwards.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.factories import T0, database_fixture, seed_firm, tiny_book
from tests.integration.test_book_sleeves_equals_propose import ACCOUNTS, write_book
from tests.integration.test_store_requests import LOTS
from trimtab import cli
from trimtab.core.engine import Method
from trimtab.errors import ConflictError, NotFoundError
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.request_record import Replay, memorandum, replay
from trimtab.service.requests import approve_request, cancel_request, submit_request
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 09:00 in Chicago: trade day = DAY
D1 = date(2026, 11, 19)
AMOUNTS: dict[str, dict[str, float]] = {
    "generate_cash": {"cash_to_generate": 15000.0},
    "withdrawal": {"cash_to_generate": 15000.0},
    "invest_cash_proportional": {"cash_to_invest": 1500.0},
    "invest_cash_min_trades": {"cash_to_invest": 1500.0},
}

if not any(c.name == "import" for c in cli.app.registered_commands):
    cli._register_more()


def _import(engine: sa.Engine, folder: Path, day: date, now: datetime) -> None:
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=day, folder=read_book_folder(folder, day), now=now)


def _submit(
    engine: sa.Engine,
    accounts: list[str],
    logic: str,
    now: datetime,
    amounts: dict[str, float] | None = None,
) -> int:
    with UnitOfWork(engine, "acme") as uow:
        done = submit_request(
            uow, actor="olga", account_ids=accounts, logic=logic, now=now, amounts=amounts
        )
    assert done.status == "pending", done
    return done.request_id


def _replay(engine: sa.Engine, request_id: int, firm: str = "acme", actor: str = "olga") -> Replay:
    with UnitOfWork(engine, firm) as uow:
        return replay(uow, actor=actor, request_id=request_id)


def _lines(engine: sa.Engine, request_id: int) -> list[tuple[object, ...]]:
    pl = t.proposal_lines.c
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(pl.account_id, pl.symbol, pl.sleeve, pl.action, pl.quantity)
                .where(pl.request_id == request_id)
                .order_by(pl.account_id, pl.symbol, pl.sleeve)
            )
        ]


def test_every_logic_replays_identically(engine: sa.Engine, tmp_path: Path) -> None:
    folder = tmp_path / "book"
    write_book(folder, rules=True, protected=True)  # sleeves, APM lines, rule tables, lots
    seed_firm(engine)
    _import(engine, folder, DAY, NOW)
    traded = 0
    for method in Method:
        if method is Method.HOUSEHOLD_REBALANCE:  # takes no APM sleeves: below
            continue
        amounts = {**AMOUNTS.get(method.value, {}), "min_trade_value": 0.0}
        request_id = _submit(engine, list(ACCOUNTS), method.value, NOW, amounts)
        again = _replay(engine, request_id)
        assert again.identical, (method, again.differences)
        assert again.accounts == len(ACCOUNTS)
        traded += sum(1 for x in _lines(engine, request_id) if x[3] != "none")
        with UnitOfWork(engine, "acme") as uow:
            cancel_request(uow, actor="olga", request_id=request_id, now=NOW)
    assert traded > 0


def test_household_rebalance_replays_identically(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    _import(engine, tiny_book(tmp_path / "b", lots=LOTS), D1, T0)
    request_id = _submit(engine, ["ACC1"], "household_rebalance", T0)
    again = _replay(engine, request_id)
    assert again.identical, again.differences
    assert again.accounts == 2  # ACC1's household: ACC2 too


def test_replay_reads_only_the_record(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    _import(engine, tiny_book(tmp_path / "b", lots=LOTS), D1, T0)
    request_id = _submit(engine, ["ACC1", "ACC2"], "rebalance_to_target", T0)
    kept = _lines(engine, request_id)
    with UnitOfWork(engine, "acme") as uow:
        cancel_request(uow, actor="olga", request_id=request_id, now=T0)
    # the date imported again with other prices and cash, and ACC2 put on trade hold
    _import(engine, tiny_book(tmp_path / "c", cash=5000.0, price_a=70.0, lots=LOTS), D1, T0)
    with engine.begin() as conn:
        conn.execute(sa.update(t.accounts).where(t.accounts.c.account_id == "ACC2").values(
            trade_hold=True
        ))  # fmt: skip
    again = _replay(engine, request_id)
    assert again.identical, again.differences
    # the same accounts proposed now get another proposal
    with UnitOfWork(engine, "acme") as uow:
        now = submit_request(
            uow, actor="olga", account_ids=["ACC1", "ACC2"], logic="rebalance_to_target", now=T0
        )
    assert _lines(engine, now.request_id) != kept
    assert now.proposals["ACC2"] == "failed"


def _rewrite(engine: sa.Engine, request_id: int, change: dict[str, object]) -> None:
    """Store the request's record with its kept proposal's first traded line changed (and
    the SHA-256 stored with it updated, as a consistent forgery would)."""
    import hashlib

    r = t.request_records.c
    with engine.begin() as conn:
        data = conn.execute(sa.select(r.data).where(r.request_id == request_id)).scalar_one()
    members: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            members[name] = archive.read(name)
    lines = pq.read_table(io.BytesIO(members["proposal/lines.parquet"])).to_pylist()
    first = next(i for i, x in enumerate(lines) if x["action"] != "none")
    lines[first].update(change)
    sink = io.BytesIO()
    schema = pq.read_schema(io.BytesIO(members["proposal/lines.parquet"]))
    pq.write_table(pa.Table.from_pylist(lines, schema=schema), sink)
    members["proposal/lines.parquet"] = sink.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, value in members.items():
            archive.writestr(name, value)
    forged = out.getvalue()
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.request_records)
            .where(r.request_id == request_id)
            .values(data=forged, sha256=hashlib.sha256(forged).hexdigest())
        )


def test_a_different_proposal_is_shown_field_by_field(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    _import(engine, tiny_book(tmp_path / "b"), D1, T0)
    request_id = _submit(engine, ["ACC1"], "rebalance_to_target", T0)
    # ACC1 buys 12 A and 10 B (tests/integration/test_store_requests.py, by hand)
    _rewrite(engine, request_id, {"quantity": "11", "order_value": "550.00"})
    again = _replay(engine, request_id)
    assert not again.identical
    found = [(d.account_id, d.symbol, d.field, d.kept, d.computed) for d in again.differences]
    assert found == [
        ("ACC1", "A", "quantity", "11", "12.0"),
        ("ACC1", "A", "order_value", "550.00", "600.00"),
    ]
    if engine.dialect.name != "sqlite":
        return  # the command line on the SQLite file (the tests' PostgreSQL is a schema)
    result = CliRunner().invoke(
        cli.app,
        ["request", "replay", str(request_id), "--firm", "acme", "--user", "olga", "--db",
         engine.url.render_as_string(hide_password=False)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "2 differences" in result.output
    assert "quantity" in result.output and "550.00" in result.output


def test_a_changed_record_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    _import(engine, tiny_book(tmp_path / "b"), D1, T0)
    request_id = _submit(engine, ["ACC1"], "rebalance_to_target", T0)
    r = t.request_records.c
    with engine.begin() as conn:
        data = conn.execute(sa.select(r.data).where(r.request_id == request_id)).scalar_one()
        conn.execute(
            sa.update(t.request_records)
            .where(r.request_id == request_id)
            .values(data=bytes(data[:-1]) + bytes([data[-1] ^ 1]))
        )
    with pytest.raises(ConflictError, match="the record was changed"):
        _replay(engine, request_id)


def test_replay_is_the_firms_own(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    seed_firm(engine, "beta")
    _import(engine, tiny_book(tmp_path / "b"), D1, T0)
    request_id = _submit(engine, ["ACC1"], "rebalance_to_target", T0)
    with pytest.raises(NotFoundError, match=f"request {request_id} does not exist"):
        _replay(engine, request_id, firm="beta", actor="olga")
    with pytest.raises(NotFoundError), UnitOfWork(engine, "beta") as uow:
        memorandum(uow, actor="olga", request_id=request_id)
    with pytest.raises(NotFoundError, match="user 'mallory' does not exist"):
        _replay(engine, request_id, actor="mallory")
    with engine.begin() as conn:  # as a request proposed before records were kept
        conn.execute(sa.delete(t.request_records))
    with pytest.raises(NotFoundError, match="has no record of its inputs"):
        _replay(engine, request_id)


def test_memorandum_ties_record_approval_and_orders(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    _import(engine, tiny_book(tmp_path / "b", lots=LOTS), D1, T0)
    request_id = _submit(engine, ["ACC1", "ACC2"], "rebalance_to_target", T0)
    with UnitOfWork(engine, "acme") as uow:
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        memo = memorandum(uow, actor="olga", request_id=request_id)
    assert memo.holds, memo.checks
    assert [c.name for c in memo.checks] == ["record", "approval", "orders", "audit chain"]
    assert memo.approval is not None and memo.approval["by"] == "amy"
    assert memo.approval["approved"] == ["ACC1", "ACC2"]
    traded = {(x["account_id"], x["symbol"], x["action"]) for x in memo.reviewed_lines}
    ordered = {(o["account_id"], o["symbol"], o["side"]) for o in memo.orders}
    assert ordered == traded and ordered
    url = engine.url.render_as_string(hide_password=False)
    args = ["request", "memorandum", str(request_id), "--firm", "acme", "--user", "olga"]
    sqlite = engine.dialect.name == "sqlite"  # the command line on the SQLite file
    if sqlite:
        shown = CliRunner().invoke(cli.app, [*args, "--db", url, "--format", "json"])
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.output)["holds"] is True
    # an order changed afterwards, outside trimtab, no longer matches the reviewed lines
    o = t.orders.c
    with engine.begin() as conn:
        first = conn.execute(
            sa.select(o.client_order_id, o.account_id, o.symbol)
            .where(o.request_id == request_id)
            .order_by(o.client_order_id)
        ).first()
        assert first is not None
        conn.execute(sa.update(t.orders).where(o.client_order_id == first[0]).values(quantity=1))
    with UnitOfWork(engine, "acme") as uow:
        memo = memorandum(uow, actor="olga", request_id=request_id)
    failing = [c for c in memo.checks if not c.holds]
    assert [c.name for c in failing] == ["orders"]
    assert f"differing: {first[1]} {first[2]}" in failing[0].detail
    if sqlite:
        shown = CliRunner().invoke(cli.app, [*args, "--db", url])
        assert shown.exit_code == 1
        assert "FAILS: orders" in shown.output


def test_the_record_holds_every_input(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    _import(engine, tiny_book(tmp_path / "b", lots=LOTS), D1, T0)
    request_id = _submit(engine, ["ACC1"], "rebalance_to_target", T0, {"min_trade_value": 50})
    if engine.dialect.name != "sqlite":
        pytest.skip("the command line on the SQLite file (the tests' PostgreSQL is a schema)")
    out = tmp_path / "record.zip"
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli.app,
        ["request", "replay", str(request_id), "--firm", "acme", "--user", "olga", "--db", url,
         "--record", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "identical: 1 accounts" in result.output
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        header = json.loads(archive.read("request.json"))
        prices = pq.read_table(io.BytesIO(archive.read("inputs/prices.parquet"))).to_pylist()
        lots = pq.read_table(io.BytesIO(archive.read("inputs/lots.parquet")))
    assert {
        "inputs/positions.parquet",
        "inputs/model_lines.parquet",
        "inputs/account_settings.parquet",
        "proposal/lines.parquet",
    } <= names
    assert header["logic"] == "rebalance_to_target"
    assert header["amounts"] == {"min_trade_value": 50}
    assert (header["as_of"], header["trade_day"]) == ("2026-11-19", "2026-11-20")
    assert [(p["symbol"], p["price"]) for p in prices] == [("A", 50.0), ("B", 40.0)]
    assert lots.num_rows == 2
