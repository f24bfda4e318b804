"""Rebalance requests: submit, approve, cancel, expire, and reading them back.

A submission is two steps. :func:`open_request` checks the input, stores the request
``proposing`` and holds its accounts, at once; :func:`propose_request` (in
:mod:`trimtab.service.request_proposing`) computes one proposal per account from the prices
of the request's book date, and the request waits ``pending`` until it is approved (orders
are created), cancelled, or expires at the end of the next business day.
:func:`submit_request` does both in turn. Every state change is a conditional ``UPDATE ...
WHERE status = ...`` in its own transaction, so of two racing approvals, or an approval
racing a cancellation, exactly one takes effect.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from trimtab.core.engine import Method
from trimtab.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from trimtab.options import parse_method
from trimtab.service._listing_queue import QueueFilter, sorted_queue
from trimtab.service.access import require_role
from trimtab.service.audit import record_refusal
from trimtab.service.listing import MAX_LIMIT, QueueItem, RequestSummary, requests_page
from trimtab.service.market import expiry, trade_date
from trimtab.service.orders import create_orders
from trimtab.service.paging import Page, SortKey, check_limit, decode_token, make_page, page_rows
from trimtab.service.proposing import account_households
from trimtab.service.request_proposing import (
    AMOUNTS,
    Submitted,
    propose_request,
    proposing_requests,
    request_options,
    stale_prices,
)
from trimtab.service.request_proposing import release_accounts as _release
from trimtab.service.request_proposing import requeue as _requeue
from trimtab.service.request_record import record_sha256
from trimtab.service.sleeve_store import sleeved_accounts
from trimtab.service.snapshot import book_account_ids, latest_book_date
from trimtab.store import tables as t
from trimtab.store.among import among
from trimtab.store.holdings import of_accounts
from trimtab.store.uow import UnitOfWork

__all__ = [
    "AMOUNTS",
    "Approval",
    "ProposalView",
    "QueueItem",
    "RequestView",
    "Submitted",
    "TradeLine",
    "approve_request",
    "cancel_request",
    "expire_requests",
    "list_queue",
    "list_requests",
    "open_request",
    "oversold",
    "proposals_page",
    "propose_request",
    "proposing_requests",
    "resubmit_failed",
    "show_request",
    "stale_prices",
    "submit_request",
]

OPEN = ("proposing", "pending")
"""The states of an open request: it holds its accounts and may still be cancelled."""


def _wanted(uow: UnitOfWork, method: Method, account_ids: list[str]) -> tuple[list[str], set[str]]:
    """The accounts to propose for (a household rebalance brings each named account's
    household) and those whose target is in their sleeves; refuses unknown, held-away and
    target-less ones, and APM sleeves in a household rebalance."""
    wanted = list(dict.fromkeys(a.strip() for a in account_ids if a.strip()))
    if not wanted:
        raise InputError("accounts", "name at least one account")
    if method is Method.HOUSEHOLD_REBALANCE:
        wanted = account_households(uow, account_ids=wanted)
    accounts = {
        r.account_id: r
        for r in uow.conn.execute(
            select(t.accounts).where(
                t.accounts.c.firm_id == uow.firm_id, among(t.accounts.c.account_id, wanted)
            )
        )
    }
    sleeved = sleeved_accounts(uow, wanted)
    for account_id in wanted:
        if account_id not in accounts:
            raise NotFoundError(f"account {account_id!r} does not exist")
        if accounts[account_id].held_away:
            raise InputError("accounts", f"account {account_id!r} is held away: never traded")
        if accounts[account_id].model_id is None and account_id not in sleeved:
            raise InputError("accounts", f"account {account_id!r} has no target")
    if method is Method.HOUSEHOLD_REBALANCE and sleeved:
        s = t.account_sleeves.c
        apm = uow.conn.execute(
            select(s.account_id).where(
                s.firm_id == uow.firm_id, among(s.account_id, sorted(sleeved)), s.sleeve == "apm"
            )
        ).first()
        if apm is not None:  # as propose-book says it (check_sleeve_run)
            raise InputError(
                "--logic", "household_rebalance takes no apm sleeves (sleeves): propose them alone"
            )
    return wanted, sleeved


def open_request(
    uow: UnitOfWork,
    *,
    actor: str,
    account_ids: list[str],
    logic: str,
    now: datetime,
    amounts: Mapping[str, float] | None = None,
    replace: bool = False,
) -> int:
    """Store a request for ``account_ids`` by ``logic``, ``proposing``; returns its id.

    Everything a submission checks is checked here, so bad input is refused at once and
    nothing is stored: the operator role, the logic and its ``amounts`` (:data:`AMOUNTS`:
    ``cash_to_generate`` and ``cash_to_invest`` in dollars per account, ``mccar_pct`` in
    percent of account value, ``min_trade_value`` in dollars), the accounts (known, not held
    away, with a target, in the newest book; ``household_rebalance`` takes each named
    account's whole household). An account belongs to at most one open request: one already
    in an open request is refused (:class:`ConflictError` naming it) unless ``replace``,
    which cancels that request.

    The request holds its accounts from now on, their queue entries are marked submitted,
    and its ``price_date`` is the newest book date, which :func:`propose_request` proposes
    on.
    """
    require_role(uow, user_id=actor, role="operator")
    method = parse_method(logic, field="logic")
    _, given = request_options(method, amounts)
    wanted, sleeved = _wanted(uow, method, account_ids)
    conn, firm = uow.conn, uow.firm_id
    _free_accounts(uow, actor=actor, account_ids=wanted, replace=replace, now=now)
    as_of = latest_book_date(uow)
    in_book = book_account_ids(uow, as_of=as_of, account_ids=wanted, sleeved=sleeved)
    missing = [a for a in sorted(wanted) if a not in in_book]
    if missing:
        raise InputError("accounts", f"account {missing[0]!r} is not in the book of {as_of}")
    request_id: int = conn.execute(
        insert(t.requests)
        .values(
            firm_id=firm,
            logic=method.value,
            status="proposing",
            submitted_by=actor,
            submitted_at=now,
            expires_at=expiry(now),
            needs_second_approver=False,
            price_date=as_of,
            options=json.dumps(given, sort_keys=True) if given else None,
        )
        .returning(t.requests.c.request_id)
    ).scalar_one()
    _hold_accounts(uow, request_id, wanted)
    conn.execute(
        update(t.queue_entries)
        .where(
            t.queue_entries.c.firm_id == firm,
            among(t.queue_entries.c.account_id, wanted),
            t.queue_entries.c.status == "open",
        )
        .values(status="submitted", request_id=request_id)
    )
    uow.audit(
        actor=actor,
        action="submit",
        entity="request",
        entity_id=str(request_id),
        at=now,
        after={
            "status": "proposing",
            "logic": method.value,
            "accounts": wanted,
            "price_date": as_of,
            "amounts": given,
        },
    )
    uow.commit()
    return request_id


def submit_request(
    uow: UnitOfWork,
    *,
    actor: str,
    account_ids: list[str],
    logic: str,
    now: datetime,
    amounts: Mapping[str, float] | None = None,
    replace: bool = False,
) -> Submitted:
    """Propose trades for ``account_ids`` by ``logic`` and store them as a pending request:
    :func:`open_request` (which checks everything) and then :func:`propose_request`.

    Every logic of the engine, under every stored rule, through the one proposing pipeline
    (:func:`trimtab.pipeline.propose_partition`). Accounts on trade hold get a failed
    proposal. A request whose every proposal failed is ``failed`` at once (with the issue);
    otherwise it waits for approval. Interrupted while proposing (Ctrl-C, say), the request
    is cancelled: no other process would take up the work.
    """
    request_id = open_request(
        uow,
        actor=actor,
        account_ids=account_ids,
        logic=logic,
        now=now,
        amounts=amounts,
        replace=replace,
    )
    try:
        return propose_request(uow, request_id=request_id, now=now)
    except Exception:
        raise  # the request failed, with the error as its issue
    except BaseException:
        _abandon(uow, actor=actor, request_id=request_id, now=now)
        raise


def _abandon(uow: UnitOfWork, *, actor: str, request_id: int, now: datetime) -> None:
    """Cancel a request whose proposing was interrupted, if it is still proposing (best
    effort: the connection may be gone; the request then expires in time)."""
    try:
        uow.rollback()
        _decide(
            uow,
            request_id=request_id,
            actor=actor,
            status="canceled",
            now=now,
            issue="interrupted while proposing",
            from_states=("proposing",),
        )
        _closed_unapproved(
            uow, actor=actor, request_id=request_id, action="cancel", before="proposing", now=now
        )
        uow.commit()
    except Exception:
        pass


def _request(uow: UnitOfWork, request_id: int) -> Any:
    row = uow.conn.execute(
        select(t.requests).where(
            t.requests.c.firm_id == uow.firm_id, t.requests.c.request_id == request_id
        )
    ).first()
    if row is None:
        raise NotFoundError(f"request {request_id} does not exist")
    return row


def _decide(
    uow: UnitOfWork,
    *,
    request_id: int,
    actor: str,
    status: str,
    now: datetime,
    issue: str | None = None,
    from_states: tuple[str, ...] = ("pending",),
) -> str:
    """Move a request in one of ``from_states`` to ``status`` and let go of its accounts;
    returns the state it left. Raises :class:`ConflictError` when it is in none of them."""
    r = t.requests.c
    mine = (r.firm_id == uow.firm_id, r.request_id == request_id)
    current = uow.conn.execute(select(r.status).where(*mine).with_for_update()).scalar()
    done = uow.conn.execute(
        update(t.requests)
        .where(*mine, r.status == current, r.status.in_(from_states))
        .values(
            status=status,
            decided_by=actor,
            decided_at=now,
            issue=issue,
            lease_owner=None,
            lease_until=None,
        )
    )
    if done.rowcount != 1:
        uow.rollback()
        current = _request(uow, request_id).status
        raise ConflictError(f"request {request_id} is {current}, no longer pending")
    _release(uow, request_id)
    return str(current)


@dataclass(frozen=True, slots=True)
class Approval:
    """An approval's outcome: the request's final status, orders created, their trade date
    and whether they trade on a best-effort basis (approved between 14:00 and 14:45)."""

    status: str
    orders: int
    trade_date: date
    best_effort: bool


def approve_request(uow: UnitOfWork, *, actor: str, request_id: int, now: datetime) -> Approval:
    """Approve a pending request and create its orders; returns the outcome.

    Accounts whose proposal failed get no orders and go back to the queue.

    Needs the approver role; when a proposal realises $1,000 or more of gains in a
    non-qualified account the approver must not be the submitter. A request past its
    expiry cannot be approved.
    """
    require_role(
        uow, user_id=actor, role="approver", attempt=f"approve request {request_id}", now=now
    )
    req = _request(uow, request_id)
    if req.status == "proposing":
        raise ConflictError(
            f"request {request_id} is still proposing: it can be approved once its "
            "proposals are stored (status pending)"
        )
    if req.status != "pending":
        raise ConflictError(f"request {request_id} is {req.status}, no longer pending")
    if req.needs_second_approver and req.submitted_by == actor:
        problem = (
            f"request {request_id} realises $1,000 or more of gains: "
            f"an approver other than {actor!r} must approve it"
        )
        record_refusal(
            uow,
            actor=actor,
            attempt=f"approve request {request_id}",
            entity="request",
            entity_id=str(request_id),
            reason=problem,
            now=now,
        )
        raise ForbiddenError(problem)
    if now >= req.expires_at:
        raise ConflictError(f"request {request_id} expired at {req.expires_at:%Y-%m-%d %H:%M} UTC")
    proposals = uow.conn.execute(
        select(t.proposals.c.account_id, t.proposals.c.status, t.proposals.c.message).where(
            t.proposals.c.firm_id == uow.firm_id, t.proposals.c.request_id == request_id
        )
    ).all()
    short = oversold(uow, request_id=request_id)
    failed = [
        (p.account_id, short.get(p.account_id, p.message))
        for p in proposals
        if p.status == "failed" or p.account_id in short
    ]
    ok = [p.account_id for p in proposals if p.status != "failed" and p.account_id not in short]
    status = "complete" if not failed else "complete_with_errors" if ok else "failed"
    issue = "; ".join(f"{a}: {message}" for a, message in failed) or None
    for account_id, message in failed:
        if account_id in short:
            uow.conn.execute(
                update(t.proposals)
                .where(
                    t.proposals.c.request_id == request_id,
                    t.proposals.c.account_id == account_id,
                )
                .values(status="failed", message=message)
            )
    _decide(uow, request_id=request_id, actor=actor, status=status, now=now, issue=issue)
    n = create_orders(uow, request_id=request_id, accounts=ok, now=now)
    if failed:
        _requeue(uow, request_id, [a for a, _ in failed])
    uow.audit(
        actor=actor,
        action="approve",
        entity="request",
        entity_id=str(request_id),
        at=now,
        before={"status": "pending"},
        after={
            "status": status,
            "orders": n,
            "approved": sorted(ok),
            "failed": dict(sorted(failed)),
            "record_sha256": record_sha256(uow, request_id),
        },
    )
    uow.commit()
    day, best_effort = trade_date(now)
    return Approval(status=status, orders=n, trade_date=day, best_effort=best_effort)


def _free_accounts(
    uow: UnitOfWork, *, actor: str, account_ids: list[str], replace: bool, now: datetime
) -> None:
    """Refuse accounts already in an open request, or cancel those requests (``replace``)."""
    oa = t.open_accounts.c
    held = uow.conn.execute(
        select(oa.account_id, oa.request_id, t.requests.c.status)
        .join(t.requests, t.requests.c.request_id == oa.request_id)
        .where(oa.firm_id == uow.firm_id, among(oa.account_id, account_ids))
        .order_by(oa.account_id)
    ).all()
    if held and not replace:
        account_id, request_id, status = held[0]
        state = "still proposing" if status == "proposing" else "pending approval"
        raise ConflictError(
            f"--accounts: account {account_id!r} is in open request {request_id} ({state}): "
            f"cancel that request first (trimtab request cancel {request_id})"
        )
    for request_id in sorted({r.request_id for r in held}):
        before = _decide(
            uow,
            request_id=request_id,
            actor=actor,
            status="canceled",
            now=now,
            issue="replaced by a new submission",
            from_states=OPEN,
        )
        _closed_unapproved(
            uow, actor=actor, request_id=request_id, action="cancel", before=before, now=now
        )


def _hold_accounts(uow: UnitOfWork, request_id: int, account_ids: list[str]) -> None:
    """Mark ``account_ids`` as in the open request ``request_id`` (the key refuses a second)."""
    try:
        uow.bulk_insert(
            t.open_accounts,
            ("firm_id", "account_id", "request_id"),
            [(uow.firm_id, a, request_id) for a in account_ids],
        )
    except IntegrityError:
        raise ConflictError(
            "--accounts: another request took one of these accounts at the same time"
        ) from None


def oversold(uow: UnitOfWork, *, request_id: int) -> dict[str, str]:
    """Accounts of a request whose sells exceed what they hold, each with its message.

    Held means the newest imported book's quantity less every sell order (of any request)
    trading after that book's date, which the book cannot reflect yet. Shares, exact.
    """
    conn, firm = uow.conn, uow.firm_id
    sells = conn.execute(
        select(
            t.proposal_lines.c.account_id, t.proposal_lines.c.symbol, t.proposal_lines.c.quantity
        )
        .join(
            t.proposals,
            (t.proposals.c.request_id == t.proposal_lines.c.request_id)
            & (t.proposals.c.account_id == t.proposal_lines.c.account_id),
        )
        .where(
            t.proposal_lines.c.firm_id == firm,
            t.proposal_lines.c.request_id == request_id,
            t.proposal_lines.c.action == "sell",
            t.proposals.c.status != "failed",
        )
        .order_by(t.proposal_lines.c.account_id, t.proposal_lines.c.symbol)
    ).all()
    if not sells:
        return {}
    book = latest_book_date(uow)
    accounts = sorted({s.account_id for s in sells})
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in of_accounts(uow, as_of=book, kind="positions", account_ids=accounts).to_pylist():
        held[(r["account_id"], r["symbol"])] += r["quantity"]
    ordered: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in conn.execute(
        select(t.orders.c.account_id, t.orders.c.symbol, t.orders.c.quantity).where(
            t.orders.c.firm_id == firm,
            t.orders.c.side == "sell",
            t.orders.c.trade_date > book,
            among(t.orders.c.account_id, accounts),
        )
    ):
        ordered[(r.account_id, r.symbol)] += r.quantity
    sold: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for s in sells:  # a model line and an APM sleeve's line of a security sell together
        sold[(s.account_id, s.symbol)] += s.quantity
    short: dict[str, str] = {}
    for key, quantity in sold.items():
        account_id, symbol = key
        left = held[key] - ordered[key]
        if quantity > left and account_id not in short:
            short[account_id] = (
                f"sells {_plain(quantity)} {symbol} but {_plain(max(left, Decimal(0)))} "
                f"are held ({_plain(held[key])} in the book of {book}, "
                f"{_plain(ordered[key])} sold by orders since)"
            )
    return short


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _closed_unapproved(
    uow: UnitOfWork, *, actor: str, request_id: int, action: str, before: str, now: datetime
) -> None:
    """An open request (``before``: proposing or pending) closed without orders (canceled or
    expired): its accounts return to the queue and the audit log records the change."""
    status = {"cancel": "canceled", "expire": "expired"}[action]
    _requeue(uow, request_id)
    uow.audit(
        actor=actor,
        action=action,
        entity="request",
        entity_id=str(request_id),
        at=now,
        before={"status": before},
        after={"status": status},
    )


def cancel_request(uow: UnitOfWork, *, actor: str, request_id: int, now: datetime) -> None:
    """Cancel an open request, proposing or pending (no orders); its accounts return to the
    queue. A proposing request's proposals are then never stored."""
    require_role(uow, user_id=actor, role="operator")
    _request(uow, request_id)
    before = _decide(
        uow, request_id=request_id, actor=actor, status="canceled", now=now, from_states=OPEN
    )
    _closed_unapproved(
        uow, actor=actor, request_id=request_id, action="cancel", before=before, now=now
    )
    uow.commit()


def expire_requests(uow: UnitOfWork, *, actor: str, now: datetime) -> list[int]:
    """Expire every open request whose expiry has passed (pending, or still proposing: its
    proposing stopped); returns their ids."""
    require_role(uow, user_id=actor, role="operator")
    r = t.requests.c
    due = uow.conn.execute(
        select(r.request_id, r.status)
        .where(r.firm_id == uow.firm_id, r.status.in_(OPEN), r.expires_at <= now)
        .order_by(r.request_id)
    ).all()
    expired = []
    for request_id, before in due:
        done = uow.conn.execute(
            update(t.requests)
            .where(r.firm_id == uow.firm_id, r.request_id == request_id, r.status == before)
            .values(
                status="expired",
                decided_by=actor,
                decided_at=now,
                lease_owner=None,
                lease_until=None,
            )
        )
        if done.rowcount == 1:
            expired.append(request_id)
            _release(uow, request_id)
            _closed_unapproved(
                uow, actor=actor, request_id=request_id, action="expire", before=before, now=now
            )
    uow.commit()
    return expired


def resubmit_failed(uow: UnitOfWork, *, actor: str, request_id: int, now: datetime) -> Submitted:
    """Submit again, with the same logic and amounts, the accounts that failed in a request
    (operator: the role is checked before anything is said about the request)."""
    require_role(uow, user_id=actor, role="operator")
    req = _request(uow, request_id)
    if req.status not in ("complete_with_errors", "failed"):
        raise ConflictError(
            f"request {request_id} is {req.status}: only failed accounts are resubmitted"
        )
    failed = (
        uow.conn.execute(
            select(t.proposals.c.account_id).where(
                t.proposals.c.firm_id == uow.firm_id,
                t.proposals.c.request_id == request_id,
                t.proposals.c.status == "failed",
            )
        )
        .scalars()
        .all()
    )
    if not failed:  # it failed while proposing: no proposal says which accounts it had
        raise ConflictError(
            f"request {request_id} failed before its proposals were stored ({req.issue}): "
            "submit its accounts again (the audit log's submit entry lists them)"
        )
    return submit_request(
        uow,
        actor=actor,
        account_ids=list(failed),
        logic=req.logic,
        now=now,
        amounts=json.loads(req.options) if req.options else None,
    )


@dataclass(frozen=True, slots=True)
class TradeLine:
    """One buy or sell of a proposal: shares, dollars per share, dollars."""

    symbol: str
    sleeve: str
    """``apm`` on a line of the APM sleeve, empty otherwise."""
    action: str
    quantity: Decimal
    price: Decimal
    order_value: Decimal
    realized_gain: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class ProposalView:
    """One account's proposal in a request; dollars as stored (to the cent)."""

    account_id: str
    status: str
    message: str
    value: Decimal
    cash_after: Decimal
    realized_gain: Decimal
    needs_second_approver: bool
    trades: tuple[TradeLine, ...]


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request with its proposals (:func:`show_request`); times in UTC."""

    request_id: int
    logic: str
    status: str
    submitted_by: str
    submitted_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    issue: str | None
    needs_second_approver: bool
    price_date: date
    amounts: dict[str, float]
    """The logic's amounts as submitted (:data:`AMOUNTS`)."""
    households: tuple[dict[str, Any], ...]
    """A household rebalance's household weights before and after, percent."""
    proposals: tuple[ProposalView, ...]

    def as_json(self) -> dict[str, Any]:
        """The request as ``request show --format json`` prints it: ``request`` (its fields)
        and ``proposals`` (each with its ``trades``)."""
        fields = {f: getattr(self, f) for f in self.__slots__ if f != "proposals"}
        return {
            "request": fields,
            "proposals": [
                {
                    **{f: getattr(p, f) for f in p.__slots__ if f != "trades"},
                    "trades": [{f: getattr(x, f) for f in x.__slots__} for x in p.trades],
                }
                for p in self.proposals
            ],
        }


def _proposal_views(
    uow: UnitOfWork, request_id: int, proposals: Sequence[Any]
) -> tuple[ProposalView, ...]:
    """The stored ``proposals`` of the request with their trade lines (buys and sells)."""
    pl = t.proposal_lines.c
    wanted = [p.account_id for p in proposals]
    by_account: dict[str, list[TradeLine]] = defaultdict(list)
    for chunk in (wanted[k : k + 500] for k in range(0, len(wanted), 500)):
        lines = uow.conn.execute(
            select(t.proposal_lines)
            .where(
                pl.firm_id == uow.firm_id,
                pl.request_id == request_id,
                pl.action != "none",
                pl.account_id.in_(chunk),
            )
            .order_by(pl.account_id, pl.symbol)
        ).all()
        for x in lines:
            by_account[x.account_id].append(
                TradeLine(
                    symbol=x.symbol,
                    sleeve=x.sleeve or "",
                    action=x.action,
                    quantity=x.quantity,
                    price=x.price,
                    order_value=x.order_value,
                    realized_gain=x.realized_gain,
                    reason=x.reason,
                )
            )
    return tuple(
        ProposalView(
            account_id=p.account_id,
            status=p.status,
            message=p.message,
            value=p.value,
            cash_after=p.cash_after,
            realized_gain=p.realized_gain,
            needs_second_approver=bool(p.needs_second_approver),
            trades=tuple(by_account.get(p.account_id, [])),
        )
        for p in proposals
    )


def show_request(
    uow: UnitOfWork, *, actor: str, request_id: int, proposals: bool = True
) -> RequestView:
    """The request, its proposals and their trade lines (buys and sells only); without
    ``proposals``, the request alone (page them with :func:`proposals_page`)."""
    require_role(uow, user_id=actor, role="viewer")
    req = _request(uow, request_id)
    stored: Sequence[Any] = ()
    if proposals:
        stored = uow.conn.execute(
            select(t.proposals)
            .where(t.proposals.c.firm_id == uow.firm_id, t.proposals.c.request_id == request_id)
            .order_by(t.proposals.c.account_id)
        ).all()
    return RequestView(
        request_id=req.request_id,
        logic=req.logic,
        status=req.status,
        submitted_by=req.submitted_by,
        submitted_at=req.submitted_at,
        expires_at=req.expires_at,
        decided_by=req.decided_by,
        decided_at=req.decided_at,
        issue=req.issue,
        needs_second_approver=bool(req.needs_second_approver),
        price_date=req.price_date,
        amounts=json.loads(req.options) if req.options else {},
        households=tuple(json.loads(req.households)) if req.households else (),
        proposals=_proposal_views(uow, request_id, stored),
    )


def proposals_page(
    uow: UnitOfWork,
    *,
    actor: str,
    request_id: int,
    limit: int = 50,
    page_token: str | None = None,
) -> Page[ProposalView]:
    """One page of the request's proposals by account id, each with its trade lines
    (View Details of a request of any size); tokens as every list's
    (:mod:`trimtab.service.paging`)."""
    require_role(uow, user_id=actor, role="viewer")
    check_limit(limit)
    _request(uow, request_id)
    scope = ("proposals", request_id)
    after = decode_token(page_token, uow.firm_id, scope, (str,))
    p = t.proposals.c
    rows, next_key = page_rows(
        uow.conn,
        select(t.proposals).where(p.firm_id == uow.firm_id, p.request_id == request_id),
        [SortKey(p.account_id)],
        after,
        limit,
    )
    return make_page(uow.firm_id, scope, _proposal_views(uow, request_id, rows), next_key)


def list_requests(
    uow: UnitOfWork, *, actor: str, pending: bool | None = None, limit: int = 50
) -> list[RequestSummary]:
    """Requests newest first: open only (proposing or pending), decided only
    (``pending=False``) or all; the first ``limit`` of
    :func:`~trimtab.service.listing.requests_page`, page after page."""
    status = None
    if pending is not None:
        status = tuple(s for s in t.REQUEST_STATUSES if (s in OPEN) == pending)
    out: list[RequestSummary] = []
    token = None
    while len(out) < limit:
        page = requests_page(
            uow,
            actor=actor,
            status=status,
            limit=min(limit - len(out), MAX_LIMIT),
            page_token=token,
        )
        out.extend(page.items)
        token = page.next_page_token
        if token is None:
            break
    return out


def list_queue(
    uow: UnitOfWork,
    *,
    actor: str,
    pending: bool = False,
    reason: str | None = None,
    sort: str = "account",
    limit: int | None = None,
) -> list[QueueItem]:
    """Open queue entries, the newest evaluation per account (with ``pending``, also accounts
    waiting in an open request), those with ``reason`` only, in ``sort`` order
    (:data:`~trimtab.service.listing.QUEUE_SORTS`); the first ``limit`` when given. The
    query of :func:`~trimtab.service.listing.queue_page`, unpaged.

    Raises :class:`ConflictError` while the newest evaluation is incomplete: its queue would
    be a partial list.
    """
    require_role(uow, user_id=actor, role="viewer")
    return sorted_queue(uow, QueueFilter(reason=reason, pending=pending), sort, limit)
