"""Rebalance requests: submit, approve, cancel, expire, and reading them back.

A request holds one proposal per account, computed at submission from the newest imported
prices. It waits in ``pending`` until it is approved (orders are created), cancelled, or
expires at the end of the next business day. Every state change is a single conditional
``UPDATE ... WHERE status = 'pending'`` in its own transaction, so of two racing approvals,
or an approval racing a cancellation, exactly one takes effect.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from trimtab.core.engine import Method, TradeOptions
from trimtab.core.reasons import Message, Status, describe_line
from trimtab.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from trimtab.io.book_sleeve_rules import check_sleeve_run
from trimtab.io.proposal import household_fields
from trimtab.options import MIN_TRADE_VALUE, parse_method, trade_options
from trimtab.pipeline import Proposed, propose_partition
from trimtab.service._listing_queue import QueueFilter, sorted_queue
from trimtab.service.access import require_role
from trimtab.service.audit import record_refusal
from trimtab.service.listing import MAX_LIMIT, QueueItem, RequestSummary, requests_page
from trimtab.service.market import CHICAGO, expiry, previous_market_day, trade_date
from trimtab.service.orders import create_orders
from trimtab.service.proposing import RequestBook, account_households, request_book, slot_classes
from trimtab.service.sleeve_store import sleeved_accounts
from trimtab.service.snapshot import Snapshot, latest_book_date, load_snapshot
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Submitted:
    """The new request: its id, status, and per-account proposal statuses."""

    request_id: int
    status: str
    proposals: dict[str, str]
    needs_second_approver: bool
    warnings: tuple[str, ...] = ()


AMOUNTS = ("cash_to_generate", "mccar_pct", "cash_to_invest", "min_trade_value")
"""What a request may be given besides its logic: dollars to raise per account, minimum
cash in percent of value, dollars to invest per account, and the minimum trade size in
dollars (:data:`~trimtab.options.MIN_TRADE_VALUE` by default)."""


def _options(
    method: Method, amounts: Mapping[str, float] | None
) -> tuple[TradeOptions, dict[str, float]]:
    given = {k: float(v) for k, v in (amounts or {}).items() if v is not None}
    for name in given:
        if name not in AMOUNTS:
            raise InputError(name, f"unknown amount (allowed: {', '.join(AMOUNTS)})")
    options = trade_options(
        method,
        cash_to_generate=given.get("cash_to_generate"),
        mccar_pct=given.get("mccar_pct"),
        cash_to_invest=given.get("cash_to_invest"),
        min_trade_value=given.get("min_trade_value", MIN_TRADE_VALUE),
    )
    return options, given


def _wanted(
    uow: UnitOfWork, method: Method, account_ids: list[str]
) -> tuple[list[str], dict[str, Any], set[str]]:
    """The accounts to propose for (a household rebalance brings each named account's
    household), their stored rows and those whose target is in their sleeves; refuses
    unknown, held-away and target-less ones."""
    wanted = list(dict.fromkeys(a.strip() for a in account_ids if a.strip()))
    if not wanted:
        raise InputError("accounts", "name at least one account")
    if method is Method.HOUSEHOLD_REBALANCE:
        wanted = account_households(uow, account_ids=wanted)
    accounts = {
        r.account_id: r
        for r in uow.conn.execute(
            select(t.accounts).where(
                t.accounts.c.firm_id == uow.firm_id, t.accounts.c.account_id.in_(wanted)
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
    return wanted, accounts, sleeved


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
    """Propose trades for ``account_ids`` by ``logic`` and store them as a pending request.

    Every logic of the engine, under every stored rule, through the one proposing pipeline
    (:func:`trimtab.pipeline.propose_partition`). ``household_rebalance`` takes each named
    account's whole household. ``amounts`` (:data:`AMOUNTS`): ``cash_to_generate`` and
    ``cash_to_invest`` in dollars per account, ``mccar_pct`` in percent of account value,
    ``min_trade_value`` in dollars. Accounts on trade hold get a failed proposal. A request
    whose every proposal failed is ``failed`` at once (with the issue); otherwise it waits
    for approval. An account belongs to at most one open request: one already in a pending
    request is refused (:class:`ConflictError` naming it) unless ``replace``, which cancels
    that request.
    """
    require_role(uow, user_id=actor, role="operator")
    method = parse_method(logic, field="logic")
    options, given = _options(method, amounts)
    wanted, accounts, sleeved = _wanted(uow, method, account_ids)
    conn, firm = uow.conn, uow.firm_id
    _free_accounts(uow, actor=actor, account_ids=wanted, replace=replace, now=now)
    as_of = latest_book_date(uow)
    warnings = stale_prices(as_of, now)
    snap = load_snapshot(uow, as_of=as_of, account_ids=wanted, sleeved=sleeved)
    missing = sorted(set(wanted) - set(snap.account_ids))
    if missing:
        raise InputError("accounts", f"account {missing[0]!r} is not in the book of {as_of}")
    trade_day = now.astimezone(CHICAGO).date()
    book = request_book(uow, snap=snap, accounts=accounts, trade_day=trade_day)
    if book.sleeves is not None:  # household rebalance takes no APM sleeves
        household = method is Method.HOUSEHOLD_REBALANCE
        check_sleeve_run(book.sleeves, household=household, as_of=trade_day)
    options = _of_accounts(options, snap, book, [accounts[a] for a in snap.account_ids])
    done = propose_partition(book.partition, method, options)
    proposals, lines = _proposal_rows(firm, snap, book, done)
    households = None
    if method is Method.HOUSEHOLD_REBALANCE:
        households = _household_weights(book, done, snap.symbols)
    all_failed = all(p["status"] == "failed" for p in proposals)
    needs_second = any(p["needs_second_approver"] for p in proposals)
    status = "failed" if all_failed else "pending"
    issue = (
        "Every account failed: "
        + "; ".join(f"{p['account_id']}: {p['message']}" for p in proposals)
        if all_failed
        else None
    )
    request_id = conn.execute(
        insert(t.requests)
        .values(
            firm_id=firm,
            logic=method.value,
            status=status,
            submitted_by=actor,
            submitted_at=now,
            expires_at=expiry(now),
            decided_at=now if all_failed else None,
            issue=issue,
            needs_second_approver=needs_second,
            price_date=as_of,
            options=json.dumps(given, sort_keys=True) if given else None,
            households=json.dumps(households, sort_keys=True) if households else None,
        )
        .returning(t.requests.c.request_id)
    ).scalar_one()
    uow.bulk_insert(
        t.proposals,
        ("request_id", "firm_id", *proposals[0].keys()),
        [(request_id, firm, *p.values()) for p in proposals],
    )
    uow.bulk_insert(
        t.proposal_lines,
        (
            "request_id",
            "firm_id",
            "account_id",
            "symbol",
            "sleeve",
            "action",
            "quantity",
            "price",
            "order_value",
            "realized_gain",
            "reason",
        ),
        [(request_id, *line) for line in lines],
    )
    if status == "pending":
        _hold_accounts(
            uow, request_id, [p["account_id"] for p in proposals if p["status"] != "failed"]
        )
    conn.execute(
        update(t.queue_entries)
        .where(
            t.queue_entries.c.firm_id == firm,
            t.queue_entries.c.account_id.in_(wanted),
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
            "status": status,
            "logic": method.value,
            "accounts": wanted,
            "price_date": as_of,
            "amounts": given,
            "needs_second_approver": needs_second,
        },
    )
    uow.commit()
    return Submitted(
        request_id=request_id,
        status=status,
        proposals={p["account_id"]: p["status"] for p in proposals},
        needs_second_approver=needs_second,
        warnings=warnings,
    )


def _of_accounts(
    options: TradeOptions, snap: Snapshot, book: RequestBook, rows: list[Any]
) -> TradeOptions:
    """The options with the accounts' own sub-asset classes (withdrawal; an APM line's is
    its security's) and cash sweep targets (deposit: percent of value and dollars); ``rows``
    are the stored accounts."""
    return replace(
        options,
        sub_asset_class=slot_classes(snap, book.partition.symbol),
        sweep_pct=np.array([float(r.sweep_pct) for r in rows]),
        sweep_min=np.array([float(r.sweep_min_usd) for r in rows]),
    )


def _cents(value: float) -> Decimal:
    return Decimal(repr(round(float(value), 2))).quantize(Decimal("0.01"))


def _proposal_rows(
    firm: str, snap: Snapshot, book: RequestBook, done: Proposed
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """One stored proposal per account and one line per security of it (buy, sell or
    none; an APM sleeve's line of a security is a line of its own, sleeve ``apm``), with
    exact decimals: shares as proposed, dollars to the cent."""
    arrays = book.arrays
    proposal = done.proposal
    rule_reason = None if done.ruled is None else done.ruled.rule_reason
    gains = done.short_term_gain + done.long_term_gain
    proposals: list[dict[str, Any]] = []
    lines: list[tuple[Any, ...]] = []
    for row, account_id in enumerate(snap.account_ids):
        status = Status(int(proposal.status[row])).label
        for k in np.flatnonzero(arrays.slot_symbol[row] >= 0):
            qty = float(proposal.quantity[row, k])
            code = int(arrays.slot_symbol[row, k])
            action = "buy" if qty > 0 else "sell" if qty < 0 else "none"
            if status == "failed":  # a failed proposal trades nothing
                action, qty = "none", 0.0
            lines.append(
                (
                    firm,
                    account_id,
                    book.symbols[code],
                    book.sleeve(code),
                    action,
                    Decimal(repr(abs(qty))),
                    Decimal(repr(float(arrays.price[code]))),
                    _cents(abs(proposal.order_value[row, k])),
                    _cents(gains[row, k]) if action == "sell" else Decimal(0),
                    describe_line(
                        int(proposal.reason[row, k]),
                        0 if rule_reason is None else int(rule_reason[row, k]),
                        buying=action == "buy",
                        selling=action == "sell",
                    ),
                )
            )
        proposals.append(
            {
                "account_id": account_id,
                "status": status,
                "message": Message(int(proposal.message[row])).text,
                "value": _cents(proposal.value[row]),
                "cash_after": _cents(proposal.cash_after[row]),
                "realized_gain": _cents(done.realized_gain[row]),
                "needs_second_approver": bool(done.needs_approval[row]) and status != "failed",
            }
        )
    return proposals, lines


def _household_weights(
    book: RequestBook, done: Proposed, symbols: list[str]
) -> list[dict[str, Any]]:
    """Each household's weights before and after, percent (household rebalance)."""
    out = []
    for household in dict.fromkeys(book.household):
        rows = np.array([i for i, h in enumerate(book.household) if h == household], dtype=np.intp)
        out.append(
            household_fields(
                household_id=household,
                book=book.arrays,
                proposal=done.proposal,
                symbols=symbols,
                rows=rows,
            )
        )
    return out


def stale_prices(price_date: date, now: datetime) -> tuple[str, ...]:
    """A warning when the newest prices are older than the market day before ``now``'s
    (Chicago) date: custodian data is one market day old, older data is stale."""
    expected = previous_market_day(now.astimezone(CHICAGO).date())
    if price_date >= expected:
        return ()
    return (
        f"prices are of {price_date}, older than the previous market day {expected}: "
        f"import the book of {expected} for current prices",
    )


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
) -> None:
    """Move a pending request to ``status``; raises when it is no longer pending."""
    done = uow.conn.execute(
        update(t.requests)
        .where(
            t.requests.c.firm_id == uow.firm_id,
            t.requests.c.request_id == request_id,
            t.requests.c.status == "pending",
        )
        .values(status=status, decided_by=actor, decided_at=now, issue=issue)
    )
    if done.rowcount != 1:
        uow.rollback()
        current = _request(uow, request_id).status
        raise ConflictError(f"request {request_id} is {current}, no longer pending")
    _release(uow, request_id)


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
        uow.conn.execute(
            update(t.queue_entries)
            .where(
                t.queue_entries.c.firm_id == uow.firm_id,
                t.queue_entries.c.request_id == request_id,
                t.queue_entries.c.account_id.in_([a for a, _ in failed]),
            )
            .values(status="open", request_id=None)
        )
    uow.audit(
        actor=actor,
        action="approve",
        entity="request",
        entity_id=str(request_id),
        at=now,
        before={"status": "pending"},
        after={"status": status, "orders": n},
    )
    uow.commit()
    day, best_effort = trade_date(now)
    return Approval(status=status, orders=n, trade_date=day, best_effort=best_effort)


def _free_accounts(
    uow: UnitOfWork, *, actor: str, account_ids: list[str], replace: bool, now: datetime
) -> None:
    """Refuse accounts already in an open request, or cancel those requests (``replace``)."""
    held = uow.conn.execute(
        select(t.open_accounts.c.account_id, t.open_accounts.c.request_id)
        .where(
            t.open_accounts.c.firm_id == uow.firm_id, t.open_accounts.c.account_id.in_(account_ids)
        )
        .order_by(t.open_accounts.c.account_id)
    ).all()
    if held and not replace:
        account_id, request_id = held[0]
        raise ConflictError(
            f"--accounts: account {account_id!r} is in open request {request_id} (pending "
            f"approval): cancel that request first (trimtab request cancel {request_id})"
        )
    for request_id in sorted({r.request_id for r in held}):
        _decide(
            uow,
            request_id=request_id,
            actor=actor,
            status="canceled",
            now=now,
            issue="replaced by a new submission",
        )
        _closed_unapproved(uow, actor=actor, request_id=request_id, action="cancel", now=now)


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


def _release(uow: UnitOfWork, request_id: int) -> None:
    uow.conn.execute(
        delete(t.open_accounts).where(
            t.open_accounts.c.firm_id == uow.firm_id, t.open_accounts.c.request_id == request_id
        )
    )


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
    for r in conn.execute(
        select(t.positions.c.account_id, t.positions.c.symbol, t.positions.c.quantity).where(
            t.positions.c.firm_id == firm,
            t.positions.c.as_of == book,
            t.positions.c.account_id.in_(accounts),
        )
    ):
        held[(r.account_id, r.symbol)] += r.quantity
    ordered: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in conn.execute(
        select(t.orders.c.account_id, t.orders.c.symbol, t.orders.c.quantity).where(
            t.orders.c.firm_id == firm,
            t.orders.c.side == "sell",
            t.orders.c.trade_date > book,
            t.orders.c.account_id.in_(accounts),
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
    uow: UnitOfWork, *, actor: str, request_id: int, action: str, now: datetime
) -> None:
    """A pending request closed without orders (canceled or expired): its accounts return to
    the queue and the audit log records the change."""
    status = {"cancel": "canceled", "expire": "expired"}[action]
    _requeue(uow, request_id)
    uow.audit(
        actor=actor,
        action=action,
        entity="request",
        entity_id=str(request_id),
        at=now,
        before={"status": "pending"},
        after={"status": status},
    )


def cancel_request(uow: UnitOfWork, *, actor: str, request_id: int, now: datetime) -> None:
    """Cancel a pending request (no orders); its accounts return to the queue."""
    require_role(uow, user_id=actor, role="operator")
    _request(uow, request_id)
    _decide(uow, request_id=request_id, actor=actor, status="canceled", now=now)
    _closed_unapproved(uow, actor=actor, request_id=request_id, action="cancel", now=now)
    uow.commit()


def _requeue(uow: UnitOfWork, request_id: int) -> None:
    uow.conn.execute(
        update(t.queue_entries)
        .where(t.queue_entries.c.firm_id == uow.firm_id, t.queue_entries.c.request_id == request_id)
        .values(status="open", request_id=None)
    )


def expire_requests(uow: UnitOfWork, *, actor: str, now: datetime) -> list[int]:
    """Expire every pending request whose expiry has passed; returns their ids."""
    require_role(uow, user_id=actor, role="operator")
    due = (
        uow.conn.execute(
            select(t.requests.c.request_id)
            .where(
                t.requests.c.firm_id == uow.firm_id,
                t.requests.c.status == "pending",
                t.requests.c.expires_at <= now,
            )
            .order_by(t.requests.c.request_id)
        )
        .scalars()
        .all()
    )
    expired = []
    for request_id in due:
        done = uow.conn.execute(
            update(t.requests)
            .where(
                t.requests.c.firm_id == uow.firm_id,
                t.requests.c.request_id == request_id,
                t.requests.c.status == "pending",
            )
            .values(status="expired", decided_by=actor, decided_at=now)
        )
        if done.rowcount == 1:
            expired.append(request_id)
            _release(uow, request_id)
            _closed_unapproved(uow, actor=actor, request_id=request_id, action="expire", now=now)
    uow.commit()
    return expired


def resubmit_failed(uow: UnitOfWork, *, actor: str, request_id: int, now: datetime) -> Submitted:
    """Submit again, with the same logic and amounts, the accounts that failed in a request."""
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


def show_request(uow: UnitOfWork, *, actor: str, request_id: int) -> RequestView:
    """The request, its proposals and their trade lines (buys and sells only)."""
    require_role(uow, user_id=actor, role="viewer")
    req = _request(uow, request_id)
    proposals = uow.conn.execute(
        select(t.proposals)
        .where(t.proposals.c.firm_id == uow.firm_id, t.proposals.c.request_id == request_id)
        .order_by(t.proposals.c.account_id)
    ).all()
    lines = uow.conn.execute(
        select(t.proposal_lines)
        .where(
            t.proposal_lines.c.firm_id == uow.firm_id,
            t.proposal_lines.c.request_id == request_id,
            t.proposal_lines.c.action != "none",
        )
        .order_by(t.proposal_lines.c.account_id, t.proposal_lines.c.symbol)
    ).all()
    by_account: dict[str, list[TradeLine]] = defaultdict(list)
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
        proposals=tuple(
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
        ),
    )


def list_requests(
    uow: UnitOfWork, *, actor: str, pending: bool | None = None, limit: int = 50
) -> list[RequestSummary]:
    """Requests newest first: pending only, decided only (``pending=False``) or all; the
    first ``limit`` of :func:`~trimtab.service.listing.requests_page`, page after page."""
    status = None
    if pending is not None:
        status = tuple(s for s in t.REQUEST_STATUSES if (s == "pending") == pending)
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
