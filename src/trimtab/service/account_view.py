"""One account as a user sees it: settings, target, restrictions, locks, holdings, and the
open request it is in (``trimtab account show``); its tax lots (:func:`account_lots`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select

from trimtab.errors import NotFoundError
from trimtab.service.access import require_role
from trimtab.service.accounts import DRIFT_PARAMETERS
from trimtab.store import tables as t
from trimtab.store.holdings import of_accounts
from trimtab.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Holding:
    """A position of the newest book: shares, price (dollars per share), value (dollars)
    and weight (percent of the account's value, cash included)."""

    symbol: str
    quantity: Decimal
    price: Decimal | None
    value: Decimal | None
    weight_pct: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountView:
    """Everything ``account show`` prints; ``book_date`` is the newest imported book.
    ``sleeves``, ``apm_targets`` and ``sleeve_positions`` are the account's stored sleeves
    (an account with ``sleeves`` takes its target from them, not from a model)."""

    account_id: str
    settings: dict[str, Any]
    model_id: str | None
    model_version: int | None
    target: list[dict[str, Any]]
    book_date: date | None
    cash: Decimal | None
    holdings: list[Holding]
    restrictions: list[dict[str, Any]]
    locks: list[dict[str, Any]]
    open_request: int | None
    sleeves: list[dict[str, Any]] = field(default_factory=list)
    apm_targets: list[dict[str, Any]] = field(default_factory=list)
    sleeve_positions: list[dict[str, Any]] = field(default_factory=list)


class _Held(NamedTuple):
    symbol: str
    quantity: Decimal
    price: Decimal | None


def show_account(uow: UnitOfWork, *, actor: str, account_id: str) -> AccountView:
    """The account ``account_id`` of the firm. Raises :class:`NotFoundError`."""
    require_role(uow, user_id=actor, role="viewer")
    conn, firm = uow.conn, uow.firm_id
    acc = conn.execute(
        select(t.accounts).where(
            t.accounts.c.firm_id == firm, t.accounts.c.account_id == account_id
        )
    ).first()
    if acc is None:
        raise NotFoundError(f"account {account_id!r} does not exist in firm {firm!r}")
    names = (
        "household_id",
        "registration",
        "rebalancing",
        "lot_method",
        "trade_hold",
        "trade_hold_until",
        *DRIFT_PARAMETERS,
        "first_seen",
    )
    settings = {name: getattr(acc, name) for name in names}
    version = None
    target: list[dict[str, Any]] = []
    if acc.model_id is not None:
        version = conn.execute(
            select(t.models.c.current_version).where(
                t.models.c.firm_id == firm, t.models.c.model_id == acc.model_id
            )
        ).scalar()
        ml = t.model_lines.c
        target = [
            {
                "symbol": r.symbol,
                "target_pct": r.target_pct,
                "min_pct": r.min_pct,
                "max_pct": r.max_pct,
            }
            for r in conn.execute(
                select(t.model_lines)
                .where(ml.firm_id == firm, ml.model_id == acc.model_id, ml.version == version)
                .order_by(ml.line)
            )
        ]
    book = conn.execute(
        select(t.account_days.c.as_of, t.account_days.c.cash)
        .where(t.account_days.c.firm_id == firm, t.account_days.c.account_id == account_id)
        .order_by(t.account_days.c.as_of.desc())
        .limit(1)
    ).first()
    book_date, cash = (book.as_of, book.cash) if book else (None, None)
    holdings: list[Holding] = []
    restrictions: list[dict[str, Any]] = []
    locks: list[dict[str, Any]] = []
    sleeves: list[dict[str, Any]] = []
    apm_targets: list[dict[str, Any]] = []
    sleeve_positions: list[dict[str, Any]] = []
    if book_date is not None:
        held = of_accounts(
            uow, as_of=book_date, kind="positions", account_ids=[account_id]
        ).sort_by("symbol")
        px = t.prices.c
        quote = dict(
            conn.execute(
                select(px.symbol, px.price).where(
                    px.firm_id == firm,
                    px.as_of == book_date,
                    px.symbol.in_(held.column("symbol").to_pylist()),
                )
            ).all()
        )
        lines = [
            _Held(h["symbol"], h["quantity"], quote.get(h["symbol"])) for h in held.to_pylist()
        ]
        values = [h.quantity * h.price if h.price is not None else None for h in lines]
        total = (cash or Decimal(0)) + sum((v for v in values if v is not None), Decimal(0))
        for h, v in zip(lines, values, strict=True):
            weight = (
                (v * 100 / total).quantize(Decimal("0.01")) if v is not None and total else None
            )
            holdings.append(Holding(h.symbol, h.quantity, h.price, v, weight))
    # the account's standing restrictions, locks and sleeves (not dated: they hold until
    # removed, or an import replaces them)
    for table, into, order in (
        (t.account_restrictions, restrictions, t.account_restrictions.c.restriction_id),
        (t.account_locks, locks, t.account_locks.c.symbol),
        (t.account_sleeves, sleeves, t.account_sleeves.c.line),
        (t.account_apm_targets, apm_targets, t.account_apm_targets.c.line),
        (t.account_sleeve_positions, sleeve_positions, t.account_sleeve_positions.c.line),
    ):
        for r in conn.execute(
            select(table)
            .where(table.c.firm_id == firm, table.c.account_id == account_id)
            .order_by(order)
        ):
            row = {k: v for k, v in r._mapping.items() if v is not None and v != ""}
            for key in ("firm_id", "account_id", "line"):
                row.pop(key, None)
            into.append(row)
    open_request = conn.execute(
        select(t.open_accounts.c.request_id).where(
            t.open_accounts.c.firm_id == firm, t.open_accounts.c.account_id == account_id
        )
    ).scalar()
    return AccountView(
        account_id=account_id,
        settings=settings,
        model_id=acc.model_id,
        model_version=version,
        target=target,
        book_date=book_date,
        cash=cash,
        holdings=holdings,
        restrictions=restrictions,
        locks=locks,
        open_request=open_request,
        sleeves=sleeves,
        apm_targets=apm_targets,
        sleeve_positions=sleeve_positions,
    )


@dataclass(frozen=True, slots=True)
class LotView:
    """A tax lot of the newest book: shares, total cost basis in dollars (``None`` when the
    book gave none) and the date it was acquired."""

    symbol: str
    lot_id: str | None
    quantity: Decimal
    cost_basis: Decimal | None
    acquired: date | None


def account_lots(uow: UnitOfWork, *, actor: str, account_id: str) -> list[LotView]:
    """The lots of ``account_id`` in the newest book imported for it, by symbol and as the
    book listed them (empty when the book had no lots for it). Raises
    :class:`NotFoundError`."""
    require_role(uow, user_id=actor, role="viewer")
    conn, firm = uow.conn, uow.firm_id
    days = t.account_days.c
    known = conn.execute(
        select(t.accounts.c.account_id).where(
            t.accounts.c.firm_id == firm, t.accounts.c.account_id == account_id
        )
    ).first()
    if known is None:
        raise NotFoundError(f"account {account_id!r} does not exist in firm {firm!r}")
    book_date = conn.execute(
        select(days.as_of)
        .where(days.firm_id == firm, days.account_id == account_id)
        .order_by(days.as_of.desc())
        .limit(1)
    ).scalar()
    if book_date is None:
        return []
    lots = of_accounts(uow, as_of=book_date, kind="lots", account_ids=[account_id])
    rows = sorted(lots.to_pylist(), key=lambda r: (r["symbol"], r["row"]))
    return [
        LotView(r["symbol"], r["lot_id"] or None, r["quantity"], r["cost_basis"], r["acquired"])
        for r in rows
    ]
