"""What happened: requests, evaluation runs, orders and the audit trail, as pages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, case, cast, func, select

from trimtab.errors import InputError, NotFoundError
from trimtab.service.access import require_role
from trimtab.service.audit import audit_query
from trimtab.service.evaluate import run_status
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
from trimtab.store.uow import UnitOfWork

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """A rebalance request as a list shows it; moments in UTC.

    ``accounts`` is the number of its proposals, ``failed_accounts`` those that failed;
    ``buy_value`` and ``sell_value`` are the dollars its proposals buy and sell, each the sum
    of its lines' order values (to the cent).
    """

    request_id: int
    logic: str
    status: str
    submitted_by: str
    submitted_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    expires_at: datetime
    issue: str | None
    needs_second_approver: bool
    price_date: date
    accounts: int
    failed_accounts: int
    buy_value: Decimal
    sell_value: Decimal


def _dollar_sum(uow: UnitOfWork, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The exact sum of a column of whole cents: NUMERIC on PostgreSQL; on SQLite, which
    keeps decimals as text, as a sum of whole cents (exact integers)."""
    if uow.dialect == "postgresql":
        return func.sum(column)
    return func.sum(cast(func.round(cast(column, Float) * 100), Integer))


def _dollars(uow: UnitOfWork, total: Any) -> Decimal:
    if total is None:
        return Decimal("0.00")
    if uow.dialect == "postgresql":
        return Decimal(total).quantize(CENT)
    return Decimal(int(total)).scaleb(-2)


def requests_page(
    uow: UnitOfWork,
    *,
    actor: str,
    status: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    page_token: str | None = None,
) -> Page[RequestSummary]:
    """Requests newest first (by request id), those in one of ``status`` only when given
    (``pending``, ``complete``, ``complete_with_errors``, ``failed``, ``expired``,
    ``canceled``)."""
    require_role(uow, user_id=actor, role="viewer")
    check_limit(limit)
    wanted = _statuses(status)
    scope = ("requests", wanted)
    after = decode_token(page_token, uow.firm_id, scope, (int,))
    r = t.requests.c
    query = select(t.requests).where(r.firm_id == uow.firm_id)
    if wanted is not None:
        query = query.where(r.status.in_(wanted))
    order = [SortKey(r.request_id, descending=True)]
    rows, next_key = page_rows(uow.conn, query, order, after, limit)
    ids = [row.request_id for row in rows]
    p, x = t.proposals.c, t.proposal_lines.c
    counted = {
        row.request_id: (int(row.accounts), int(row.failed or 0))
        for row in uow.conn.execute(
            select(
                p.request_id,
                func.count().label("accounts"),
                func.sum(case((p.status == "failed", 1), else_=0)).label("failed"),
            )
            .where(p.firm_id == uow.firm_id, p.request_id.in_(ids))
            .group_by(p.request_id)
        )
    }
    value: dict[tuple[int, str], Decimal] = {
        (row.request_id, row.action): _dollars(uow, row.total)
        for row in uow.conn.execute(
            select(x.request_id, x.action, _dollar_sum(uow, x.order_value).label("total"))
            .where(x.firm_id == uow.firm_id, x.request_id.in_(ids), x.action.in_(("buy", "sell")))
            .group_by(x.request_id, x.action)
        )
    }
    zero = Decimal("0.00")
    items = [
        RequestSummary(
            request_id=row.request_id,
            logic=row.logic,
            status=row.status,
            submitted_by=row.submitted_by,
            submitted_at=row.submitted_at,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            expires_at=row.expires_at,
            issue=row.issue,
            needs_second_approver=bool(row.needs_second_approver),
            price_date=row.price_date,
            accounts=counted.get(row.request_id, (0, 0))[0],
            failed_accounts=counted.get(row.request_id, (0, 0))[1],
            buy_value=value.get((row.request_id, "buy"), zero),
            sell_value=value.get((row.request_id, "sell"), zero),
        )
        for row in rows
    ]
    return make_page(uow.firm_id, scope, items, next_key)


def _statuses(status: Sequence[str] | None) -> tuple[str, ...] | None:
    if status is None:
        return None
    given = (status,) if isinstance(status, str) else tuple(status)
    if not given:
        raise InputError("status", "name at least one status, or none for every request")
    for name in given:
        if name not in t.REQUEST_STATUSES:
            raise InputError(
                "status", f"must be one of {', '.join(t.REQUEST_STATUSES)}, got {name!r}"
            )
    return tuple(sorted(set(given)))


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    """A day's evaluation: the market day evaluated (``as_of``), the book it read
    (``data_date``), ``status`` (``complete``, ``running`` or ``interrupted``), who started it
    and when (UTC), when it finished, and how many accounts it evaluated, flagged and
    skipped for trade hold (so far, for a run not complete)."""

    as_of: date
    data_date: date
    status: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    evaluated: int
    flagged: int
    skipped: int


def _runs(uow: UnitOfWork, rows: Sequence[Any]) -> list[EvaluationRun]:
    """Stored runs as :class:`EvaluationRun`; an incomplete run's counts are counted now."""
    e = t.evaluations.c
    open_days = [r.as_of for r in rows if r.status != "complete"]
    live: dict[date, tuple[int, int, int]] = {
        row.as_of: (int(row.evaluated), int(row.flagged or 0), int(row.skipped or 0))
        for row in uow.conn.execute(
            select(
                e.as_of,
                func.count().label("evaluated"),
                func.sum(case((e.reasons != "", 1), else_=0)).label("flagged"),
                func.sum(case((e.skipped.is_(True), 1), else_=0)).label("skipped"),
            )
            .where(e.firm_id == uow.firm_id, e.as_of.in_(open_days))
            .group_by(e.as_of)
        )
    }
    out = []
    for r in rows:
        counts = (
            (r.evaluated or 0, r.flagged or 0, r.skipped or 0)
            if r.status == "complete"
            else live.get(r.as_of, (0, 0, 0))
        )
        out.append(
            EvaluationRun(
                as_of=r.as_of,
                data_date=r.data_date,
                status=run_status(r.status, r.lease_owner, r.lease_until),
                started_by=r.started_by,
                started_at=r.started_at,
                finished_at=r.finished_at,
                evaluated=counts[0],
                flagged=counts[1],
                skipped=counts[2],
            )
        )
    return out


def evaluations_page(
    uow: UnitOfWork, *, actor: str, limit: int = DEFAULT_LIMIT, page_token: str | None = None
) -> Page[EvaluationRun]:
    """Evaluation runs, newest market day first."""
    require_role(uow, user_id=actor, role="viewer")
    check_limit(limit)
    scope = ("evaluations",)
    after = decode_token(page_token, uow.firm_id, scope, (date,))
    runs = t.evaluation_runs.c
    query = select(t.evaluation_runs).where(runs.firm_id == uow.firm_id)
    order = [SortKey(runs.as_of, descending=True)]
    rows, next_key = page_rows(uow.conn, query, order, after, limit)
    return make_page(uow.firm_id, scope, _runs(uow, rows), next_key)


def evaluation_detail(uow: UnitOfWork, *, actor: str, as_of: date) -> EvaluationRun:
    """The evaluation of market day ``as_of``. Raises :class:`NotFoundError`."""
    require_role(uow, user_id=actor, role="viewer")
    runs = t.evaluation_runs.c
    row = uow.conn.execute(
        select(t.evaluation_runs).where(runs.firm_id == uow.firm_id, runs.as_of == as_of)
    ).first()
    if row is None:
        raise NotFoundError(f"no evaluation of {as_of}")
    return _runs(uow, [row])[0]


@dataclass(frozen=True, slots=True)
class OrderLine:
    """An order of an approved request: ``quantity`` in shares, ``price`` in dollars per
    share (the request's price), ``value`` in dollars (quantity times price, to the cent);
    ``side`` is ``buy`` or ``sell``; ``best_effort`` when it was approved after the day's
    cut-off; ``exported_at`` is its first export (UTC), ``None`` while never exported."""

    client_order_id: str
    request_id: int
    account_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    value: Decimal
    trade_date: date
    best_effort: bool
    created_at: datetime
    exported: bool
    exported_at: datetime | None


def orders_page(
    uow: UnitOfWork,
    *,
    actor: str,
    trade_date: date | None = None,
    request_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    page_token: str | None = None,
) -> Page[OrderLine]:
    """Orders, newest trade date first, then newest request, then by order id; of one
    ``trade_date`` and of one ``request_id`` when given."""
    require_role(uow, user_id=actor, role="viewer")
    check_limit(limit)
    scope = ("orders", trade_date, request_id)
    after = decode_token(page_token, uow.firm_id, scope, (date, int, str))
    o = t.orders.c
    query = select(t.orders).where(o.firm_id == uow.firm_id)
    if trade_date is not None:
        query = query.where(o.trade_date == trade_date)
    if request_id is not None:
        query = query.where(o.request_id == request_id)
    order = [
        SortKey(o.trade_date, descending=True),
        SortKey(o.request_id, descending=True),
        SortKey(o.client_order_id),
    ]
    rows, next_key = page_rows(uow.conn, query, order, after, limit)
    x = t.order_exports.c
    exported = dict(
        uow.conn.execute(
            select(x.client_order_id, func.min(x.exported_at))
            .where(
                x.firm_id == uow.firm_id,
                x.client_order_id.in_([r.client_order_id for r in rows]),
            )
            .group_by(x.client_order_id)
        ).all()
    )
    items = [
        OrderLine(
            client_order_id=r.client_order_id,
            request_id=r.request_id,
            account_id=r.account_id,
            symbol=r.symbol,
            side=r.side,
            quantity=r.quantity,
            price=r.price,
            value=(r.quantity * r.price).quantize(CENT),
            trade_date=r.trade_date,
            best_effort=bool(r.best_effort),
            created_at=r.created_at,
            exported=r.client_order_id in exported,
            exported_at=exported.get(r.client_order_id),
        )
        for r in rows
    ]
    return make_page(uow.firm_id, scope, items, next_key)


def order_dates(uow: UnitOfWork, *, actor: str) -> tuple[date, ...]:
    """The trade dates that have orders, newest first."""
    require_role(uow, user_id=actor, role="viewer")
    o = t.orders.c
    return tuple(
        uow.conn.execute(
            select(o.trade_date)
            .where(o.firm_id == uow.firm_id)
            .distinct()
            .order_by(o.trade_date.desc())
        ).scalars()
    )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry of the audit trail: who (``actor``) did what (``action``) to which record
    (``entity``, ``entity_id``) at ``at`` (UTC); ``before`` and ``after`` are the record's
    fields as logged (decimals and dates as text), ``None`` when not logged."""

    audit_id: int
    actor: str
    action: str
    entity: str
    entity_id: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _fields(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def audit_page(
    uow: UnitOfWork,
    *,
    actor: str,
    user: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = DEFAULT_LIMIT,
    page_token: str | None = None,
) -> Page[AuditEntry]:
    """The firm's audit trail, newest first; needs the admin role. Filters as
    :func:`~trimtab.service.audit.list_audit`: ``user`` is the entries' actor; ``since`` and
    ``until`` are UTC dates, both included."""
    require_role(uow, user_id=actor, role="admin")
    check_limit(limit)
    scope = ("audit", user, action, entity, entity_id, since, until)
    after = decode_token(page_token, uow.firm_id, scope, (int,))
    query = audit_query(
        uow,
        actor=user,
        action=action,
        entity=entity,
        entity_id=entity_id,
        since=since,
        until=until,
    )
    order = [SortKey(t.audit_log.c.audit_id, descending=True)]
    rows, next_key = page_rows(uow.conn, query, order, after, limit)
    items = [
        AuditEntry(
            audit_id=r.audit_id,
            actor=r.actor,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            at=r.at,
            before=_fields(r.before),
            after=_fields(r.after),
        )
        for r in rows
    ]
    return make_page(uow.firm_id, scope, items, next_key)
