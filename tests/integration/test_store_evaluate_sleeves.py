"""The daily evaluation of accounts whose target is in sleeves (SQLite and PostgreSQL):
blended model sleeves, an APM sleeve on lines of its own, protected shares with a model or
with sleeves. Each account's value, largest drift and out-of-band count are worked out here
by hand from the book, as docs/rules.md lays a target out; a change of an account's sleeves
is a target change the next day, for that account only."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import database_fixture, seed_firm
from tests.integration.test_book_sleeves_equals_propose import (
    ACCOUNTS,
    MODELS,
    PRICES,
    write_book,
)
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()

BOOK_DAY = date(2026, 11, 20)  # a Friday
DAY = date(2026, 11, 23)  # the Monday after: evaluated on BOOK_DAY's book
NEXT_BOOK, NEXT_DAY = DAY, date(2026, 11, 24)
NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def _by_hand(account: dict[str, Any]) -> tuple[float, float, int]:
    """(value, largest drift in points, securities out of band) of one account of
    ``ACCOUNTS``: model sleeves blended line by line at their weights, APM targets as lines
    of their own with zero-width bands holding the APM shares, and protected shares at their
    weight P, every other line's target and band scaled by 1 - P."""
    held = account["positions"]
    value = account["cash"] + sum(q * PRICES[s] for s, q in held.items())
    sleeves = account.get("sleeves") or [("model", 100, account["model"])]
    lines: dict[str, list[float]] = {}  # model lines: target, min, max (fractions)
    for kind, weight, model, *_ in sleeves:
        if kind == "model":
            for s, t_, lo, hi in MODELS[model]:
                line = lines.setdefault(s, [0.0, 0.0, 0.0])
                for i, x in enumerate((t_, lo, hi)):
                    line[i] += weight / 100 * x / 100
    apm_weight = sum(w for kind, w, *_ in sleeves if kind == "apm") / 100
    apm_shares = account.get("apm_positions", {})
    slots: list[tuple[float, float, float, float]] = []  # weight, target, min, max
    protected = account.get("protected", {})
    share = {
        s: min(q, held[s] - apm_shares.get(s, 0)) * PRICES[s] / value for s, q in protected.items()
    }
    rest = 1 - sum(share.values())
    for s in sorted(set(lines) | set(held)):
        t_, lo, hi = lines.get(s, [0.0, 0.0, 0.0])
        p = share.get(s, 0.0)
        weight = (held.get(s, 0) - apm_shares.get(s, 0)) * PRICES[s] / value
        slots.append((weight, t_ * rest + p, lo * rest + p, hi * rest + p))
    for s in sorted(set(account.get("apm_targets", {})) | set(apm_shares)):
        t_ = apm_weight * account.get("apm_targets", {}).get(s, 0) / 100 * rest
        slots.append((apm_shares.get(s, 0) * PRICES[s] / value, t_, t_, t_))
    drift = max(abs(w - t_) for w, t_, _, _ in slots)
    out = sum(1 for w, _, lo, hi in slots if w < lo - 1e-9 or w > hi + 1e-9)
    return value, drift * 100, out


def _stored(engine: sa.Engine, day: date) -> dict[str, Any]:
    e = t.evaluations.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                e.account_id, e.model_id, e.value, e.max_drift_pct, e.out_of_band, e.reasons
            ).where(e.firm_id == "acme", e.as_of == day)
        ).all()
    return {r.account_id: r for r in rows}


def _import(engine: sa.Engine, folder: Path, as_of: date) -> None:
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=as_of, folder=read_book_folder(folder, as_of), now=NOW)


def _evaluate(engine: sa.Engine, day: date) -> None:
    with UnitOfWork(engine, "acme") as uow:
        evaluate(uow, actor="olga", day=day, now=NOW)


def _evaluated(engine: sa.Engine, tmp_path: Path) -> Path:
    """The book imported for BOOK_DAY and DAY evaluated; returns the book's folder."""
    folder = tmp_path / "book"
    write_book(folder, rules=False, protected=True)
    seed_firm(engine)
    _import(engine, folder, BOOK_DAY)
    _evaluate(engine, DAY)
    return folder


def test_sleeved_accounts_are_evaluated_against_their_sleeves(
    engine: sa.Engine, tmp_path: Path
) -> None:
    _evaluated(engine, tmp_path)
    found = _stored(engine, DAY)
    assert sorted(found) == sorted(ACCOUNTS)  # every account, sleeves or not
    for account_id, account in ACCOUNTS.items():
        value, drift, out = _by_hand(account)
        row = found[account_id]
        assert float(row.value) == pytest.approx(value, abs=0.005), account_id
        assert float(row.max_drift_pct) == pytest.approx(drift, abs=1e-6), account_id
        assert row.out_of_band == out, account_id
        assert ("out_of_band" in row.reasons.split(",")) == (out > 0), account_id
    # a plain account keeps its model; the others their sleeves' target key
    assert found["P-1"].model_id == "TECH"
    assert found["S-3"].model_id == "TECH"  # a model with protected shares: its model
    assert all(found[a].model_id.startswith("sleeves:") for a in ("S-1", "S-2", "S-4"))
    assert len({found[a].model_id for a in ("S-1", "S-2", "S-4")}) == 3


def test_a_change_of_sleeves_is_a_target_change_for_that_account_only(
    engine: sa.Engine, tmp_path: Path
) -> None:
    folder = _evaluated(engine, tmp_path)
    first = _stored(engine, DAY)
    assert not any("target_changed" in r.reasons for r in first.values())
    again = tmp_path / "again"
    shutil.copytree(folder, again)
    sleeves = (again / "sleeves.csv").read_text().replace("S-1,model,60,TECH", "S-1,model,50,TECH")
    (again / "sleeves.csv").write_text(sleeves.replace("S-1,model,40,CORE", "S-1,model,50,CORE"))
    _import(engine, again, NEXT_BOOK)
    _evaluate(engine, NEXT_DAY)
    second = _stored(engine, NEXT_DAY)
    changed = sorted(a for a, r in second.items() if "target_changed" in r.reasons.split(","))
    assert changed == ["S-1"]
    assert second["S-1"].model_id != first["S-1"].model_id
    assert all(second[a].model_id == first[a].model_id for a in ACCOUNTS if a != "S-1")


def test_account_details_show_the_drift_the_evaluation_measured(
    engine: sa.Engine, tmp_path: Path
) -> None:
    from trimtab.service.account_details import account_details

    _evaluated(engine, tmp_path)
    found = _stored(engine, DAY)
    with UnitOfWork(engine, "acme") as uow:
        details = {a: account_details(uow, actor="olga", account_id=a) for a in ACCOUNTS}
    # S-1's blend by hand: 60% TECH and 40% CORE, line by line (TECH's lines first)
    s1 = {r.symbol: (r.target_pct, r.min_pct, r.max_pct) for r in details["S-1"].drift}
    assert s1 == {
        "FB": (Decimal("15.0000"), Decimal("13.5000"), Decimal("16.5000")),
        "ORCL": (Decimal("15.0000"), Decimal("13.5000"), Decimal("16.5000")),
        "MSFT": (Decimal("28.0000"), Decimal("25.2000"), Decimal("30.8000")),
        "INTC": (Decimal("9.0000"), Decimal("8.1000"), Decimal("9.9000")),
        "CSCO": (Decimal("9.0000"), Decimal("8.1000"), Decimal("9.9000")),
        "AAPL": (Decimal("23.2000"), Decimal("22.0000"), Decimal("24.4000")),
    }
    order = ["FB", "ORCL", "MSFT", "INTC", "CSCO", "AAPL"]
    assert [r.symbol for r in details["S-1"].drift] == order
    # S-4's APM lines are lines of their own, holding the APM shares
    s4 = {r.symbol: r for r in details["S-4"].drift}
    assert {"INTC (APM)", "CSCO (APM)"} <= set(s4)
    assert s4["INTC (APM)"].weight_pct == Decimal(f"{100 * 24.31 / 94425 * 100:.4f}")
    for account_id in ACCOUNTS:
        rows = details[account_id].drift
        row = found[account_id]
        assert float(max(abs(r.drift_pct) for r in rows)) == pytest.approx(
            float(row.max_drift_pct),
            abs=2e-4 if account_id != "P-1" else 0.006,  # weights to 0.01
        ), account_id
        assert sum(r.outside for r in rows) == row.out_of_band, account_id


def test_the_queue_says_which_accounts_follow_sleeves(engine: sa.Engine, tmp_path: Path) -> None:
    from trimtab.service._listing_queue import QueueFilter, sorted_queue

    _evaluated(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        items = {q.account_id: q for q in sorted_queue(uow, QueueFilter(), "account")}
    assert sorted(items) == sorted(ACCOUNTS)  # each out of band (the hand figures)
    assert {a: (q.model_id, q.sleeves) for a, q in items.items()} == {
        "P-1": ("TECH", False),
        "S-1": (None, True),
        "S-2": (None, True),
        "S-3": ("TECH", False),  # its model, with protected shares
        "S-4": (None, True),
    }


def test_an_older_day_after_a_newer_import_changed_the_sleeves(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """Sleeves are standing, books dated: when a later book gives S-4 a model instead of
    its sleeves (keeping its protected shares), the store no longer knows S-4's target on
    the earlier book, where it had no model. Evaluating that earlier day leaves S-4 out
    (as any account without a target) and evaluates the others."""
    folder = tmp_path / "book"
    write_book(folder, rules=False, protected=True)
    seed_firm(engine)
    _import(engine, folder, BOOK_DAY)
    again = tmp_path / "again"
    shutil.copytree(folder, again)

    def drop(name: str, start: str) -> None:
        lines = (again / name).read_text().splitlines(keepends=True)
        (again / name).write_text("".join(x for x in lines if not x.startswith(start)))

    accounts = (again / "accounts.csv").read_text().replace("S-4,,", "S-4,TECH,")
    (again / "accounts.csv").write_text(accounts)
    for name, start in (
        ("sleeves.csv", "S-4"),
        ("apm_targets.csv", "S-4"),
        ("sleeve_positions.csv", "S-4,apm"),
    ):
        drop(name, start)
    _import(engine, again, NEXT_BOOK)
    _evaluate(engine, DAY)  # on BOOK_DAY's book
    assert sorted(_stored(engine, DAY)) == ["P-1", "S-1", "S-2", "S-3"]
    _evaluate(engine, NEXT_DAY)  # on NEXT_BOOK's: S-4 on its model, protected shares kept
    assert _stored(engine, NEXT_DAY)["S-4"].model_id == "TECH"
