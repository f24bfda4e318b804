"""Property: any interleaving of submits, approvals, cancels, expiries and evaluations never
orders more shares of a holding for sale than the book holds (SQLite; the same statements
run on PostgreSQL in tests/integration/test_store_integrity.py)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import T0, seed_firm, tiny_book
from trimtab.errors import TrimtabError
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.requests import (
    approve_request,
    cancel_request,
    expire_requests,
    submit_request,
)
from trimtab.store import tables as t
from trimtab.store.migrate import make_engine, upgrade
from trimtab.store.uow import UnitOfWork

HELD = {("ACC1", "A"): Decimal(12), ("ACC1", "B"): Decimal(10), ("ACC2", "B"): Decimal(20)}
"""The tiny book's holdings (shares)."""

ACCOUNTS = st.lists(st.sampled_from(["ACC1", "ACC2"]), min_size=1, max_size=2, unique=True)
STEP = st.one_of(
    st.tuples(
        st.just("submit"),
        ACCOUNTS,
        st.sampled_from(["rebalance_to_target", "generate_cash"]),
        st.booleans(),
    ),
    st.tuples(st.just("approve"), st.integers(1, 6), st.sampled_from(["amy", "olga"])),
    st.tuples(st.just("cancel"), st.integers(1, 6)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("evaluate")),
)

_TEMPLATE: dict[str, Path] = {}


def _fresh_database(folder: Path) -> sa.Engine:
    if "db" not in _TEMPLATE:
        base = Path(tempfile.mkdtemp(prefix="tt_oversell_"))
        eng = make_engine(f"sqlite:///{base / 'template.db'}")
        upgrade(eng)
        seed_firm(eng)
        book = read_book_folder(tiny_book(base / "book"))
        with UnitOfWork(eng, "acme") as uow:
            import_book(uow, actor="olga", as_of=date(2026, 11, 19), folder=book, now=T0)
        eng.dispose()
        _TEMPLATE["db"] = base / "template.db"
    shutil.copyfile(_TEMPLATE["db"], folder / "t.db")
    return make_engine(f"sqlite:///{folder / 't.db'}", durable=False)


def _apply(engine: sa.Engine, step: tuple[object, ...], now: object) -> None:
    kind = step[0]
    with UnitOfWork(engine, "acme") as uow:
        if kind == "submit":
            _, accounts, logic, replace = step
            submit_request(
                uow,
                actor="olga",
                account_ids=list(accounts),  # type: ignore[call-overload]
                logic=str(logic),
                now=now,  # type: ignore[arg-type]
                amounts={"cash_to_generate": 800.0} if logic == "generate_cash" else None,
                **({"replace": True} if replace else {}),
            )
        elif kind == "approve":
            approve_request(uow, actor=str(step[2]), request_id=int(step[1]), now=now)  # type: ignore[arg-type, call-overload]
        elif kind == "cancel":
            cancel_request(uow, actor="olga", request_id=int(step[1]), now=now)  # type: ignore[arg-type, call-overload]
        elif kind == "expire":
            expire_requests(uow, actor="olga", now=now)  # type: ignore[arg-type]
        else:
            evaluate(uow, actor="olga", day=date(2026, 11, 20), now=now)  # type: ignore[arg-type]


@settings(max_examples=25)
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_no_interleaving_sells_more_than_held(steps: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = _fresh_database(Path(folder))
        now = T0
        try:
            for step in steps:
                # an expiry looks four days on; everything else happens minutes apart
                now += timedelta(days=4) if step[0] == "expire" else timedelta(minutes=10)
                # refused: no pending request of that id, a conflict, ...
                with contextlib.suppress(TrimtabError):
                    _apply(engine, step, now)
            with engine.connect() as conn:
                sold = conn.execute(
                    sa.select(t.orders.c.account_id, t.orders.c.symbol, t.orders.c.quantity).where(
                        t.orders.c.side == "sell"
                    )
                ).all()
                open_twice = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(t.proposals)
                    .join(t.requests, t.requests.c.request_id == t.proposals.c.request_id)
                    .where(t.requests.c.status == "pending", t.proposals.c.status != "failed")
                    .group_by(t.proposals.c.account_id)
                    .having(sa.func.count() > 1)
                ).all()
        finally:
            engine.dispose()
    total: dict[tuple[str, str], Decimal] = {}
    for account, symbol, quantity in sold:
        total[(account, symbol)] = total.get((account, symbol), Decimal(0)) + quantity
    for key, quantity in total.items():
        assert quantity <= HELD.get(key, Decimal(0)), (key, quantity, steps)
    assert open_twice == []
