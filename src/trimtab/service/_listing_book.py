"""What the firm holds: accounts, households and models, as pages and details.

Values come from the firm's newest imported book: an account's value is its cash plus each
position's shares times that day's price, in dollars to the cent, cash included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from trimtab.errors import NotFoundError
from trimtab.service.access import require_role
from trimtab.service.paging import (
    DEFAULT_LIMIT,
    Page,
    SortKey,
    check_limit,
    decode_token,
    make_page,
    page_rows,
)
from trimtab.store import tables as t
from trimtab.store.holdings import of_accounts
from trimtab.store.uow import UnitOfWork

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """An account as a list shows it: its settings as they stand (``registration``
    ``qualified`` or ``non_qualified``; ``rebalancing`` the switch; ``trade_hold`` until
    ``trade_hold_until``, ``None`` meaning indefinitely; ``held_away`` accounts are never
    traded; ``lot_method`` ``fifo``, ``lifo``, ``hifo`` or ``minimum_tax``) and, from the
    newest book (``book_date``), its ``value`` (dollars, cash included, to the cent) and
    ``cash`` (dollars); the three are ``None`` when the account is not in that book."""

    account_id: str
    household_id: str | None
    model_id: str | None
    registration: str
    rebalancing: bool
    trade_hold: bool
    trade_hold_until: date | None
    held_away: bool
    lot_method: str
    book_date: date | None
    value: Decimal | None
    cash: Decimal | None


def _newest_book(uow: UnitOfWork) -> date | None:
    day = uow.conn.execute(
        select(func.max(t.imports.c.as_of)).where(t.imports.c.firm_id == uow.firm_id)
    ).scalar()
    assert day is None or isinstance(day, date)
    return day


def _values(
    uow: UnitOfWork, day: date | None, account_ids: Sequence[str]
) -> dict[str, tuple[Decimal, Decimal]]:
    """Value and cash (dollars) of each of ``account_ids`` in the book of ``day``; accounts
    not in that book are left out. A position without a price counts for nothing."""
    if day is None or not account_ids:
        return {}
    firm = uow.firm_id
    d, px = t.account_days.c, t.prices.c
    cash = dict(
        uow.conn.execute(
            select(d.account_id, d.cash).where(
                d.firm_id == firm, d.as_of == day, d.account_id.in_(account_ids)
            )
        ).all()
    )
    held = of_accounts(uow, as_of=day, kind="positions", account_ids=list(cash)).to_pylist()
    price = dict(
        uow.conn.execute(
            select(px.symbol, px.price).where(
                px.firm_id == firm,
                px.as_of == day,
                px.symbol.in_(sorted({r["symbol"] for r in held})),
            )
        ).all()
    )
    market: dict[str, Decimal] = defaultdict(Decimal)
    for r in held:
        if r["symbol"] in price:
            market[r["account_id"]] += r["quantity"] * price[r["symbol"]]
    return {a: ((c + market[a]).quantize(CENT), c) for a, c in cash.items()}


def _summaries(uow: UnitOfWork, rows: Sequence[Any]) -> list[AccountSummary]:
    day = _newest_book(uow)
    values = _values(uow, day, [r.account_id for r in rows])
    out = []
    for r in rows:
        value, cash = values.get(r.account_id, (None, None))
        out.append(
            AccountSummary(
                account_id=r.account_id,
                household_id=r.household_id,
                model_id=r.model_id,
                registration=r.registration,
                rebalancing=bool(r.rebalancing),
                trade_hold=bool(r.trade_hold),
                trade_hold_until=r.trade_hold_until,
                held_away=bool(r.held_away),
                lot_method=r.lot_method,
                book_date=day if value is not None else None,
                value=value,
                cash=cash,
            )
        )
    return out


def accounts_page(
    uow: UnitOfWork,
    *,
    actor: str,
    household: str | None = None,
    model: str | None = None,
    rebalancing: bool | None = None,
    search: str | None = None,
    limit: int = DEFAULT_LIMIT,
    page_token: str | None = None,
) -> Page[AccountSummary]:
    """Accounts by account id: of ``household``, on ``model``, with the rebalancing switch
    ``rebalancing``, whose id starts with ``search`` (case as given), when given."""
    require_role(uow, user_id=actor, role="viewer")
    check_limit(limit)
    scope = ("accounts", household, model, rebalancing, search)
    after = decode_token(page_token, uow.firm_id, scope, (str,))
    a = t.accounts.c
    query = select(t.accounts).where(a.firm_id == uow.firm_id)
    if household is not None:
        query = query.where(a.household_id == household)
    if model is not None:
        query = query.where(a.model_id == model)
    if rebalancing is not None:
        query = query.where(a.rebalancing.is_(rebalancing))
    if search:
        query = query.where(func.substr(a.account_id, 1, len(search)) == search)
    rows, next_key = page_rows(uow.conn, query, [SortKey(a.account_id)], after, limit)
    return make_page(uow.firm_id, scope, _summaries(uow, rows), next_key)


@dataclass(frozen=True, slots=True)
class HouseholdSummary:
    """A household: how many accounts it has and their total value (dollars, cash
    included, from the newest book; ``None`` when none of them is in it)."""

    household_id: str
    accounts: int
    value: Decimal | None


def households_page(
    uow: UnitOfWork, *, actor: str, limit: int = DEFAULT_LIMIT, page_token: str | None = None
) -> Page[HouseholdSummary]:
    """Households by household id."""
    require_role(uow, user_id=actor, role="viewer")
    check_limit(limit)
    scope = ("households",)
    after = decode_token(page_token, uow.firm_id, scope, (str,))
    h, a = t.households.c, t.accounts.c
    query = select(h.household_id).where(h.firm_id == uow.firm_id)
    rows, next_key = page_rows(uow.conn, query, [SortKey(h.household_id)], after, limit)
    ids = [r.household_id for r in rows]
    members: dict[str, list[str]] = defaultdict(list)
    for r in uow.conn.execute(
        select(a.household_id, a.account_id).where(
            a.firm_id == uow.firm_id, a.household_id.in_(ids)
        )
    ):
        members[r.household_id].append(r.account_id)
    values = _values(uow, _newest_book(uow), [x for m in members.values() for x in m])
    items = []
    for household_id in ids:
        held = [values[x][0] for x in members[household_id] if x in values]
        items.append(
            HouseholdSummary(
                household_id=household_id,
                accounts=len(members[household_id]),
                value=sum(held, Decimal("0.00")) if held else None,
            )
        )
    return make_page(uow.firm_id, scope, items, next_key)


def household_accounts(
    uow: UnitOfWork, *, actor: str, household_id: str
) -> tuple[AccountSummary, ...]:
    """The accounts of a household, by account id (none for a household whose accounts
    all left it). Raises :class:`NotFoundError` for a household the firm does not have."""
    require_role(uow, user_id=actor, role="viewer")
    a, h = t.accounts.c, t.households.c
    rows = uow.conn.execute(
        select(t.accounts)
        .where(a.firm_id == uow.firm_id, a.household_id == household_id)
        .order_by(a.account_id)
    ).all()
    if not rows:
        known = uow.conn.execute(
            select(h.household_id).where(h.firm_id == uow.firm_id, h.household_id == household_id)
        ).first()
        if known is None:
            raise NotFoundError(f"household {household_id!r} does not exist")
    return tuple(_summaries(uow, rows))


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """A model: its current version, the date that version took effect, and how many
    accounts have it as their model (accounts taking targets from sleeves not counted)."""

    model_id: str
    current_version: int
    effective: date
    accounts: int


@dataclass(frozen=True, slots=True)
class ModelLine:
    """A security of a model version: target, band minimum and maximum, percent points of
    the account's value."""

    symbol: str
    target_pct: Decimal
    min_pct: Decimal
    max_pct: Decimal


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A version of a model: the book date it took effect, its cash target (percent points)
    and its lines in the model's order."""

    version: int
    effective: date
    cash_pct: Decimal
    lines: tuple[ModelLine, ...]


@dataclass(frozen=True, slots=True)
class ModelDetail:
    """A model with every version, oldest first."""

    model_id: str
    current_version: int
    accounts: int
    versions: tuple[ModelVersion, ...]


def _model_accounts(uow: UnitOfWork, model_ids: Sequence[str]) -> dict[str, int]:
    a = t.accounts.c
    return {
        r.model_id: int(r.n)
        for r in uow.conn.execute(
            select(a.model_id, func.count().label("n"))
            .where(a.firm_id == uow.firm_id, a.model_id.in_(model_ids))
            .group_by(a.model_id)
        )
    }


def models_page(
    uow: UnitOfWork, *, actor: str, limit: int = DEFAULT_LIMIT, page_token: str | None = None
) -> Page[ModelSummary]:
    """Models by model id."""
    require_role(uow, user_id=actor, role="viewer")
    check_limit(limit)
    scope = ("models",)
    after = decode_token(page_token, uow.firm_id, scope, (str,))
    m, v = t.models.c, t.model_versions.c
    query = (
        select(m.model_id, m.current_version, v.effective)
        .join(
            t.model_versions,
            (v.firm_id == m.firm_id)
            & (v.model_id == m.model_id)
            & (v.version == m.current_version),
        )
        .where(m.firm_id == uow.firm_id)
    )
    rows, next_key = page_rows(uow.conn, query, [SortKey(m.model_id)], after, limit)
    used = _model_accounts(uow, [r.model_id for r in rows])
    items = [
        ModelSummary(
            model_id=r.model_id,
            current_version=r.current_version,
            effective=r.effective,
            accounts=used.get(r.model_id, 0),
        )
        for r in rows
    ]
    return make_page(uow.firm_id, scope, items, next_key)


def model_detail(uow: UnitOfWork, *, actor: str, model_id: str) -> ModelDetail:
    """The model ``model_id`` with every version and its lines. Raises
    :class:`NotFoundError`."""
    require_role(uow, user_id=actor, role="viewer")
    firm = uow.firm_id
    m, v, ml = t.models.c, t.model_versions.c, t.model_lines.c
    model = uow.conn.execute(
        select(m.current_version).where(m.firm_id == firm, m.model_id == model_id)
    ).first()
    if model is None:
        raise NotFoundError(f"model {model_id!r} does not exist")
    lines: dict[int, list[ModelLine]] = defaultdict(list)
    for r in uow.conn.execute(
        select(ml.version, ml.symbol, ml.target_pct, ml.min_pct, ml.max_pct)
        .where(ml.firm_id == firm, ml.model_id == model_id)
        .order_by(ml.version, ml.line)
    ):
        lines[r.version].append(ModelLine(r.symbol, r.target_pct, r.min_pct, r.max_pct))
    versions = tuple(
        ModelVersion(
            version=r.version,
            effective=r.effective,
            cash_pct=r.cash_pct,
            lines=tuple(lines[r.version]),
        )
        for r in uow.conn.execute(
            select(v.version, v.effective, v.cash_pct)
            .where(v.firm_id == firm, v.model_id == model_id)
            .order_by(v.version)
        )
    )
    return ModelDetail(
        model_id=model_id,
        current_version=model.current_version,
        accounts=_model_accounts(uow, [model_id]).get(model_id, 0),
        versions=versions,
    )
