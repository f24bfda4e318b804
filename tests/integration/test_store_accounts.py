"""Account settings: the switch and its history, trade hold, drift parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0, database_fixture, seed_firm, tiny_book
from trimtab.errors import InputError, NotFoundError
from trimtab.service.accounts import AccountChange, parse_drift, switch_history, update_account
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1, D2 = date(2026, 11, 19), date(2026, 11, 20)
MONDAY_NOON = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # Friday 12:00 in Chicago


def load(engine: sa.Engine, folder: Path, day: date) -> None:
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=day, folder=read_book_folder(folder), now=T0)


def change(engine: sa.Engine, account: str, **kw: object) -> dict[str, object]:
    with UnitOfWork(engine, "acme") as uow:
        return update_account(
            uow,
            actor="olga",
            account_id=account,
            change=AccountChange(**kw),
            now=MONDAY_NOON,  # type: ignore[arg-type]
        )


def test_switch_off_and_on_is_history_and_flags_toggled(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "1"), D1)
    with UnitOfWork(engine, "acme") as uow:
        evaluate(uow, actor="olga", day=D2, now=T0)
    change(engine, "ACC1", rebalancing=False)
    change(engine, "ACC1", rebalancing=True)
    load(engine, tiny_book(tmp_path / "2"), D2)  # the book still says true: nothing reverted
    with UnitOfWork(engine, "acme") as uow:
        history = [
            (h.effective, h.rebalancing)
            for h in switch_history(uow, actor="olga", account_id="ACC1")
        ]
        evaluate(uow, actor="olga", day=date(2026, 11, 23), now=T0)
    assert history == [(D1, True), (D2, False), (D2, True)]
    with engine.connect() as conn:
        reasons = conn.execute(
            sa.select(t.evaluations.c.reasons).where(
                t.evaluations.c.account_id == "ACC1", t.evaluations.c.as_of == date(2026, 11, 23)
            )
        ).scalar_one()
    # ACC1 is also 30 and 20 points off in its two classes on both evaluations.
    assert reasons == "out_of_band,class_drift_2d,toggled,cash_high"


def test_user_switch_survives_an_unchanged_book(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "1"), D1)
    change(engine, "ACC2", rebalancing=False)
    load(engine, tiny_book(tmp_path / "2"), D2)
    with engine.connect() as conn:
        on = conn.execute(
            sa.select(t.accounts.c.rebalancing).where(t.accounts.c.account_id == "ACC2")
        ).scalar_one()
    assert on is False


def test_hold_and_drift_parameters(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "1"), D1)
    after = change(
        engine,
        "ACC1",
        trade_hold=True,
        hold_until=date(2026, 11, 19),
        drift=parse_drift(["cash_high_usd=1000"]),
    )
    assert after["cash_high_usd"] == Decimal(1000)
    with UnitOfWork(engine, "acme") as uow:
        summary = evaluate(uow, actor="olga", day=D2, now=T0)
    # The hold ended on 19 November, before the evaluation day: ACC1 is evaluated. Its cash
    # of $1,000 is no longer $1,000 above the $80 sweep target.
    assert summary.skipped == []
    with engine.connect() as conn:
        reasons = conn.execute(
            sa.select(t.evaluations.c.reasons).where(t.evaluations.c.account_id == "ACC1")
        ).scalar_one()
        audit = conn.execute(
            sa.select(t.audit_log.c.before, t.audit_log.c.after).where(
                t.audit_log.c.entity == "account"
            )
        ).one()
    assert reasons == "out_of_band"
    assert audit.before == (
        '{"cash_high_usd": "330", "trade_hold": false, "trade_hold_until": null}'
        if engine.dialect.name == "sqlite"
        else '{"cash_high_usd": "330.000000", "trade_hold": false, "trade_hold_until": null}'
    )


def test_bad_settings_are_named(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "1"), D1)
    with pytest.raises(InputError, match="lot_method: must be one of fifo, lifo, hifo"):
        change(engine, "ACC1", lot_method="avg")
    with pytest.raises(InputError, match="--set sweep_pct: must be a number at least 0"):
        parse_drift(["sweep_pct=-1"])
    with pytest.raises(NotFoundError, match="account 'ZZ' does not exist"):
        change(engine, "ZZ", rebalancing=True)
