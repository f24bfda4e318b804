"""The rebalancing queue as pages, counts and id lists: one query behind all of them.

An account is in the queue through its newest open entry (``queue_entries``), with the
value and largest drift its evaluation of that day found. With ``pending`` the entries of
accounts waiting in an open request show too. Filters, the sort and the page are all done
in SQL, so a page of a 100,000-account queue costs about what a page of a small one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Select,
    cast,
    exists,
    func,
    literal,
    select,
)

from trimtab.errors import ConflictError, InputError
from trimtab.service.access import require_role
from trimtab.service.evaluate import run_state
from trimtab.service.paging import (
    DEFAULT_LIMIT,
    Page,
    SortKey,
    check_limit,
    decode_token,
    make_page,
    page_rows,
)
from trimtab.service.sleeve_store import SLEEVE_TARGET
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

QUEUE_SORTS = ("account", "drift", "value", "evaluated")
"""Orders of the queue: by account id, largest drift first, largest value first, or newest
evaluation first (ties by account id)."""

_KINDS: dict[str, tuple[type, ...]] = {
    "account": (str,),
    "drift": (float, str),
    "value": (float, str),
    "evaluated": (date, str),
}


@dataclass(frozen=True, slots=True)
class QueueItem:
    """An account flagged by an evaluation, as of its newest queue entry.

    ``value`` (dollars, cash included) and ``max_drift_pct`` (percent points, the largest
    drift of a security from its target) are as evaluated on ``as_of`` (``None`` when that
    evaluation is gone); ``reasons`` are the trigger codes that flagged it;
    ``household_id`` and ``model_id`` are the account's as they stand now; ``request_id``
    names the open request it waits in (only with ``pending``).
    """

    account_id: str
    as_of: date
    reasons: tuple[str, ...]
    value: Decimal | None
    max_drift_pct: Decimal | None
    household_id: str | None
    model_id: str | None
    request_id: int | None
    sleeves: bool = False
    """The evaluation measured the account against its sleeves (it follows no model)."""


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which entries a queue shows: with ``reason`` among their reasons, of accounts in
    ``household`` and on ``model``; ``pending`` adds accounts waiting in open requests."""

    reason: str | None = None
    household: str | None = None
    model: str | None = None
    pending: bool = False


def _shown(entries: FromClause, firm: str, pending: bool) -> ColumnElement[bool]:
    """An entry the queue shows: open, or (``pending``) submitted in a still open request."""
    shown = entries.c.status == "open"
    if pending:
        still_open = select(t.open_accounts.c.request_id).where(t.open_accounts.c.firm_id == firm)
        shown = shown | ((entries.c.status == "submitted") & entries.c.request_id.in_(still_open))
    return shown


def _sort_keys(sort: str) -> list[SortKey]:
    q, e = t.queue_entries.c, t.evaluations.c
    if sort not in QUEUE_SORTS:
        raise InputError("sort", f"must be one of {', '.join(QUEUE_SORTS)}, got {sort!r}")
    if sort == "account":
        return [SortKey(q.account_id)]
    if sort == "evaluated":
        return [SortKey(q.as_of, descending=True), SortKey(q.account_id)]
    # Compared as doubles on every database (SQLite keeps decimals as text): the token
    # holds the double the database compared, so a page resumes exactly after its last row.
    column = e.max_drift_pct if sort == "drift" else e.value
    number = func.coalesce(cast(column, Float), literal(0.0, Float))
    return [SortKey(number, descending=True), SortKey(q.account_id)]


def queue_query(uow: UnitOfWork, where: QueueFilter) -> Select[Any]:
    """The queue's rows (unsorted): each account's newest shown entry, its evaluation's
    value and drift and the account's household and model, filtered by ``where``. An
    account is shown by the entry it has newest among those shown, as ``trimtab queue``
    always did: with ``pending``, a newer entry pending in a request hides an older open one.

    Raises :class:`ConflictError` while the newest evaluation is incomplete: its queue
    would be a partial list.
    """
    state = run_state(uow)
    if state is not None and state[1] != "complete":
        day, how = state
        raise ConflictError(
            f"the evaluation of {day} is incomplete ({how}): the queue would be partial; "
            f"run trimtab evaluate --date {day} to finish it"
        )
    firm = uow.firm_id
    q, e, a = t.queue_entries, t.evaluations, t.accounts
    newer = t.queue_entries.alias("newer")
    query = (
        select(
            q.c.account_id,
            q.c.as_of,
            q.c.reasons,
            q.c.status,
            q.c.request_id,
            e.c.value,
            e.c.max_drift_pct,
            a.c.household_id,
            a.c.model_id,
            e.c.model_id.label("target"),
        )
        .select_from(
            q.outerjoin(
                e,
                (e.c.firm_id == q.c.firm_id)
                & (e.c.as_of == q.c.as_of)
                & (e.c.account_id == q.c.account_id),
            ).join(a, (a.c.firm_id == q.c.firm_id) & (a.c.account_id == q.c.account_id))
        )
        .where(
            q.c.firm_id == firm,
            _shown(q, firm, where.pending),
            ~exists().where(
                newer.c.firm_id == q.c.firm_id,
                newer.c.account_id == q.c.account_id,
                newer.c.as_of > q.c.as_of,
                _shown(newer, firm, where.pending),
            ),
        )
    )
    if where.reason is not None:
        listed = literal(",") + q.c.reasons + literal(",")
        query = query.where(listed.contains(f",{where.reason},", autoescape=True))
    # as "account in (accounts of the household)": without statistics SQLite would rather
    # walk the whole queue than start from the household's few accounts
    if where.household is not None:
        query = query.where(
            q.c.account_id.in_(
                select(a.c.account_id).where(
                    a.c.firm_id == firm, a.c.household_id == where.household
                )
            )
        )
    if where.model is not None:
        query = query.where(
            q.c.account_id.in_(
                select(a.c.account_id).where(a.c.firm_id == firm, a.c.model_id == where.model)
            )
        )
    return query


def queue_item(row: Any) -> QueueItem:
    """A row of :func:`queue_query` as a :class:`QueueItem`."""
    return QueueItem(
        account_id=row.account_id,
        as_of=row.as_of,
        reasons=tuple(r for r in row.reasons.split(",") if r),
        value=row.value,
        max_drift_pct=row.max_drift_pct,
        household_id=row.household_id,
        model_id=row.model_id,
        request_id=row.request_id if row.status == "submitted" else None,
        sleeves=(row.target or "").startswith(SLEEVE_TARGET),
    )


def sorted_queue(
    uow: UnitOfWork, where: QueueFilter, sort: str, limit: int | None = None
) -> list[QueueItem]:
    """The whole queue (or its first ``limit`` items) in ``sort`` order, unpaged."""
    order = _sort_keys(sort)
    query = queue_query(uow, where).order_by(
        *(s.column.desc() if s.descending else s.column for s in order)
    )
    if limit is not None:
        query = query.limit(limit)
    return [queue_item(r) for r in uow.conn.execute(query)]


def queue_page(
    uow: UnitOfWork,
    *,
    actor: str,
    reason: str | None = None,
    household: str | None = None,
    model: str | None = None,
    sort: str = "account",
    pending: bool = False,
    limit: int = DEFAULT_LIMIT,
    page_token: str | None = None,
) -> Page[QueueItem]:
    """A page of the queue: each account's newest open entry (with ``pending``, also those
    waiting in an open request) with ``reason`` among its reasons, of ``household``, on
    ``model``, in ``sort`` order (:data:`QUEUE_SORTS`).

    ``limit`` items at most (1 to 1000); ``page_token`` continues a previous page of the
    same sort and filters. Raises :class:`ConflictError` while the newest evaluation is
    incomplete, :class:`InputError` for a bad sort, limit or token.
    """
    require_role(uow, user_id=actor, role="viewer")
    check_limit(limit)
    where = QueueFilter(reason=reason, household=household, model=model, pending=pending)
    order = _sort_keys(sort)
    scope = ("queue", sort, reason, household, model, pending)
    after = decode_token(page_token, uow.firm_id, scope, _KINDS[sort])
    rows, next_key = page_rows(uow.conn, queue_query(uow, where), order, after, limit)
    return make_page(uow.firm_id, scope, [queue_item(r) for r in rows], next_key)


def queue_count(
    uow: UnitOfWork,
    *,
    actor: str,
    reason: str | None = None,
    household: str | None = None,
    model: str | None = None,
    pending: bool = False,
) -> int:
    """How many accounts :func:`queue_page` lists for these filters, over all its pages."""
    require_role(uow, user_id=actor, role="viewer")
    where = QueueFilter(reason=reason, household=household, model=model, pending=pending)
    counted = select(func.count()).select_from(queue_query(uow, where).subquery())
    return int(uow.conn.execute(counted).scalar_one())


def queue_account_ids(
    uow: UnitOfWork,
    *,
    actor: str,
    reason: str | None = None,
    household: str | None = None,
    model: str | None = None,
) -> list[str]:
    """Every account id in the queue (open entries, not those waiting in a request) with
    these filters, by account id: what "submit all that match" submits."""
    require_role(uow, user_id=actor, role="viewer")
    where = QueueFilter(reason=reason, household=household, model=model)
    query = queue_query(uow, where).with_only_columns(t.queue_entries.c.account_id)
    return list(uow.conn.execute(query.order_by(t.queue_entries.c.account_id)).scalars())
