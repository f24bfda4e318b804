"""Proposing a request: the long half of a submission, done by whichever process claims it.

:func:`trimtab.service.requests.open_request` stores a request ``proposing`` with its
accounts held; :func:`propose_request` computes its proposals through the one proposing
pipeline (:func:`trimtab.pipeline.propose_partition`) on the book of the request's
``price_date``, stores them and makes the request ``pending`` (or ``failed``).

A process first claims the request with a lease (:mod:`trimtab.service.lease`), in a
transaction of its own that locks the request's row: of two processes, one proposes and the
other returns at once. A process that dies leaves a lease that lapses, and the next one
proposes the request (:func:`proposing_requests` lists them after a restart). Every later
write is conditional on the request being still ``proposing`` under this process's lease, so
a request canceled or expired meanwhile keeps that state and no proposal is stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, update

from trimtab.core.engine import Method, TradeOptions
from trimtab.core.reasons import Message, Status, describe_line
from trimtab.errors import InputError, NotFoundError, TrimtabError
from trimtab.io.book_sleeve_rules import check_sleeve_run
from trimtab.io.proposal import household_fields
from trimtab.options import MIN_TRADE_VALUE, parse_method, trade_options
from trimtab.pipeline import Proposed, propose_partition
from trimtab.service.lease import LEASE, lease_held, lease_owner, wall_clock
from trimtab.service.market import CHICAGO, previous_market_day
from trimtab.service.proposing import (
    RequestBook,
    RequestInputs,
    lay_out_request,
    request_inputs,
    slot_classes,
)
from trimtab.service.request_record import LINE_FIELDS, keep_record
from trimtab.service.snapshot import Snapshot
from trimtab.store import tables as t
from trimtab.store.among import among
from trimtab.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Submitted:
    """A request after proposing: its id, status, and per-account proposal statuses.

    ``status`` is ``pending`` or ``failed`` when this call proposed it; otherwise the state
    it was found in: ``proposing`` while another process holds it, else its decided state
    (``canceled``, say).
    """

    request_id: int
    status: str
    proposals: dict[str, str]
    needs_second_approver: bool
    warnings: tuple[str, ...] = ()


AMOUNTS = ("cash_to_generate", "mccar_pct", "cash_to_invest", "min_trade_value")
"""What a request may be given besides its logic: dollars to raise per account, minimum
cash in percent of value, dollars to invest per account, and the minimum trade size in
dollars (:data:`~trimtab.options.MIN_TRADE_VALUE` by default)."""


def request_options(
    method: Method, amounts: Mapping[str, float] | None
) -> tuple[TradeOptions, dict[str, float]]:
    """The trade options of ``method`` with ``amounts`` (:data:`AMOUNTS`), and the amounts
    given (to store); raises :class:`InputError` naming an unknown or unusable amount."""
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


def release_accounts(
    uow: UnitOfWork, request_id: int, account_ids: Sequence[str] | None = None
) -> None:
    """Let another request take the accounts of ``request_id`` (``account_ids`` only, when
    given)."""
    oa = t.open_accounts.c
    where = [oa.firm_id == uow.firm_id, oa.request_id == request_id]
    if account_ids is not None:
        where.append(among(oa.account_id, account_ids))
    uow.conn.execute(delete(t.open_accounts).where(*where))


def requeue(uow: UnitOfWork, request_id: int, account_ids: Sequence[str] | None = None) -> None:
    """Put the queue entries submitted in ``request_id`` (of ``account_ids`` only, when
    given) back in the queue. An account keeps one open entry, its newest: an entry that a
    later evaluation superseded (an open entry of the account, or a newer one of the
    request) is dropped instead."""
    q = t.queue_entries
    other = t.queue_entries.alias("other")
    mine: list[ColumnElement[bool]] = [q.c.firm_id == uow.firm_id, q.c.request_id == request_id]
    if account_ids is not None:
        mine.append(among(q.c.account_id, account_ids))
    superseded = exists().where(
        other.c.firm_id == q.c.firm_id,
        other.c.account_id == q.c.account_id,
        or_(
            other.c.status == "open",
            and_(other.c.request_id == request_id, other.c.as_of > q.c.as_of),
        ),
    )
    uow.conn.execute(delete(q).where(*mine, superseded))
    uow.conn.execute(update(q).where(*mine).values(status="open", request_id=None))


def proposing_requests(uow: UnitOfWork) -> list[int]:
    """The firm's requests still ``proposing``, oldest first: a server starting up passes
    each to :func:`propose_request` (one another process is proposing is left to it)."""
    r = t.requests.c
    return list(
        uow.conn.execute(
            select(r.request_id)
            .where(r.firm_id == uow.firm_id, r.status == "proposing")
            .order_by(r.submitted_at, r.request_id)
        ).scalars()
    )


def propose_request(uow: UnitOfWork, *, request_id: int, now: datetime) -> Submitted:
    """Compute and store the proposals of the ``proposing`` request ``request_id``.

    Its accounts are proposed on the book of its ``price_date`` by its logic and amounts,
    under the rules in force on ``now``'s (Chicago) date. The request becomes ``pending``,
    or ``failed`` with the issue when every account failed; accounts whose proposal failed
    are let go. A request not ``proposing`` (canceled meanwhile, say), or one another live
    process is proposing, is left as it is and returned in its state.

    An error while proposing fails the request: its issue says what went wrong, its accounts
    return to the queue, the audit log records it, and the error is raised again.
    """
    owner = lease_owner()
    if not _claim(uow, request_id=request_id, owner=owner):
        return _state(uow, request_id)
    try:
        return _propose(uow, request_id=request_id, owner=owner, now=now)
    except Exception as err:
        if not _fail(uow, request_id=request_id, owner=owner, err=err, now=now):
            return _state(uow, request_id)  # ended meanwhile (canceled, expired): that stands
        raise
    except BaseException:
        _let_go(uow, request_id, owner)  # interrupted: the next process need not wait
        raise


def _ours(request_id: int, owner: str) -> tuple[ColumnElement[bool], ...]:
    """The request's row while it is proposing under ``owner``'s lease."""
    r = t.requests.c
    return (r.request_id == request_id, r.status == "proposing", r.lease_owner == owner)


def _claim(uow: UnitOfWork, *, request_id: int, owner: str) -> bool:
    """Take the lease of a proposing request for ``owner`` (committed); False when it is not
    proposing or another live process holds it. The row is locked while deciding."""
    r = t.requests.c
    row = uow.conn.execute(
        select(r.status, r.lease_owner, r.lease_until)
        .where(r.firm_id == uow.firm_id, r.request_id == request_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFoundError(f"request {request_id} does not exist")
    if row.status != "proposing" or lease_held(row.lease_owner, row.lease_until):
        uow.rollback()
        return False
    taken = uow.conn.execute(
        update(t.requests)
        .where(
            r.firm_id == uow.firm_id,
            r.request_id == request_id,
            r.status == "proposing",
            r.lease_owner.is_not_distinct_from(row.lease_owner),
        )
        .values(lease_owner=owner, lease_until=wall_clock() + LEASE)
    )
    if taken.rowcount != 1:
        uow.rollback()
        return False
    uow.commit()
    return True


def _renew(uow: UnitOfWork, request_id: int, owner: str) -> bool:
    """Extend ``owner``'s lease (committed); False when the request is no longer its own."""
    kept = uow.conn.execute(
        update(t.requests)
        .where(t.requests.c.firm_id == uow.firm_id, *_ours(request_id, owner))
        .values(lease_until=wall_clock() + LEASE)
    )
    if kept.rowcount != 1:
        uow.rollback()
        return False
    uow.commit()
    return True


def _let_go(uow: UnitOfWork, request_id: int, owner: str) -> None:
    """End ``owner``'s lease on a request it stops proposing (best effort: it lapses anyway)."""
    try:
        uow.rollback()
        uow.conn.execute(
            update(t.requests)
            .where(t.requests.c.firm_id == uow.firm_id, *_ours(request_id, owner))
            .values(lease_owner=None, lease_until=None)
        )
        uow.commit()
    except Exception:  # the connection itself may be gone; the lease then lapses
        pass


def _state(uow: UnitOfWork, request_id: int) -> Submitted:
    """The request as stored, for a call that did not propose it."""
    r = t.requests.c
    req = uow.conn.execute(
        select(r.status, r.needs_second_approver).where(
            r.firm_id == uow.firm_id, r.request_id == request_id
        )
    ).one()
    p = t.proposals.c
    proposals = uow.conn.execute(
        select(p.account_id, p.status)
        .where(p.firm_id == uow.firm_id, p.request_id == request_id)
        .order_by(p.account_id)
    ).all()
    return Submitted(
        request_id=request_id,
        status=req.status,
        proposals={a: s for a, s in proposals},
        needs_second_approver=bool(req.needs_second_approver),
    )


def _propose(uow: UnitOfWork, *, request_id: int, owner: str, now: datetime) -> Submitted:
    """The proposing itself, under ``owner``'s lease; stores the outcome and commits."""
    conn, firm = uow.conn, uow.firm_id
    req = conn.execute(
        select(t.requests).where(
            t.requests.c.firm_id == firm, t.requests.c.request_id == request_id
        )
    ).one()
    amounts = json.loads(req.options) if req.options else {}
    request_options(parse_method(req.logic, field="logic"), amounts)  # checked before loading
    wanted = sorted(
        conn.execute(
            select(t.open_accounts.c.account_id).where(
                t.open_accounts.c.firm_id == firm, t.open_accounts.c.request_id == request_id
            )
        ).scalars()
    )
    if not wanted:  # let go meanwhile: the request was canceled or expired
        uow.rollback()
        return _state(uow, request_id)
    trade_day = now.astimezone(CHICAGO).date()
    inputs = request_inputs(uow, as_of=req.price_date, account_ids=wanted, trade_day=trade_day)
    missing = sorted(set(wanted) - set(inputs.account_ids))
    if missing:
        raise InputError(
            "accounts", f"account {missing[0]!r} is not in the book of {req.price_date}"
        )
    if not _renew(uow, request_id, owner):  # loaded; ended or taken over meanwhile
        return _state(uow, request_id)
    done = compute_proposal(firm, inputs, logic=req.logic, amounts=amounts)
    proposals, lines, households = done.proposals, done.lines, done.households
    all_failed = all(p["status"] == "failed" for p in proposals)
    needs_second = any(p["needs_second_approver"] for p in proposals)
    status = "failed" if all_failed else "pending"
    issue = (
        "Every account failed: "
        + "; ".join(f"{p['account_id']}: {p['message']}" for p in proposals)
        if all_failed
        else None
    )
    stored = conn.execute(
        update(t.requests)
        .where(t.requests.c.firm_id == firm, *_ours(request_id, owner))
        .values(
            status=status,
            decided_at=now if all_failed else None,
            issue=issue,
            needs_second_approver=needs_second,
            households=json.dumps(households, sort_keys=True) if households else None,
            lease_owner=None,
            lease_until=None,
        )
    )
    if stored.rowcount != 1:  # canceled or expired while proposing: nothing is stored
        uow.rollback()
        return _state(uow, request_id)
    _store_proposals(uow, request_id, proposals, lines)
    record = keep_record(uow, request_id, inputs, done, logic=req.logic, amounts=amounts, now=now)
    if all_failed:
        _closed_failed(uow, request_id, actor=req.submitted_by, issue=issue, now=now, record=record)
    else:
        uow.audit(
            actor=req.submitted_by,
            action="propose",
            entity="request",
            entity_id=str(request_id),
            at=now,
            before={"status": "proposing"},
            after={"status": status, **record},
        )
        release_accounts(
            uow, request_id, [p["account_id"] for p in proposals if p["status"] == "failed"]
        )
    uow.commit()
    return Submitted(
        request_id=request_id,
        status=status,
        proposals={p["account_id"]: p["status"] for p in proposals},
        needs_second_approver=needs_second,
        warnings=stale_prices(req.price_date, now),
    )


@dataclass(frozen=True, slots=True)
class Computed:
    """A request's proposal as computed from its inputs: the rows to store (exact decimals,
    :func:`_proposal_rows`) and each household's weights (household rebalance)."""

    proposals: list[dict[str, Any]]
    lines: list[tuple[Any, ...]]
    households: list[dict[str, Any]] | None


def compute_proposal(
    firm: str, inputs: RequestInputs, *, logic: str, amounts: Mapping[str, float] | None
) -> Computed:
    """The proposal of every account of ``inputs`` by ``logic`` with ``amounts``
    (:data:`AMOUNTS`), through the one proposing pipeline: what a request stores, and what
    a replay computes again (no database involved)."""
    method = parse_method(logic, field="logic")
    options, _ = request_options(method, amounts)
    snap, book = lay_out_request(inputs)
    if book.sleeves is not None:  # household rebalance takes no APM sleeves
        household = method is Method.HOUSEHOLD_REBALANCE
        check_sleeve_run(book.sleeves, household=household, as_of=inputs.trade_day)
    rows = inputs.account_rows()
    options = _of_accounts(options, snap, book, [rows[a] for a in snap.account_ids])
    done = propose_partition(book.partition, method, options)
    proposals, lines = _proposal_rows(firm, snap, book, done)
    households = None
    if method is Method.HOUSEHOLD_REBALANCE:
        households = _household_weights(book, done, snap.symbols)
    return Computed(proposals=proposals, lines=lines, households=households)


def _fail(uow: UnitOfWork, *, request_id: int, owner: str, err: Exception, now: datetime) -> bool:
    """Fail the request that ``err`` stopped proposing, with ``err`` as its issue (committed);
    False when it was no longer ``owner``'s (canceled, expired or taken over meanwhile)."""
    what = str(err) if isinstance(err, TrimtabError) else f"{type(err).__name__}: {err}"
    issue = f"proposing failed: {what}"
    try:
        uow.rollback()
        failed = uow.conn.execute(
            update(t.requests)
            .where(t.requests.c.firm_id == uow.firm_id, *_ours(request_id, owner))
            .values(
                status="failed", decided_at=now, issue=issue, lease_owner=None, lease_until=None
            )
            .returning(t.requests.c.submitted_by)
        ).first()
        if failed is None:
            uow.rollback()
            return False
        _closed_failed(uow, request_id, actor=failed.submitted_by, issue=issue, now=now)
        uow.commit()
    except Exception:  # the database itself may be what failed: the lease lapses, and
        pass  # the request is proposed again by the next process
    return True


def _closed_failed(
    uow: UnitOfWork,
    request_id: int,
    *,
    actor: str,
    issue: str | None,
    now: datetime,
    record: Mapping[str, Any] | None = None,
) -> None:
    """A request that failed while proposing: its accounts are let go and return to the
    queue, and the audit log records why (in the submitter's name: it failed their
    submission) and, when its proposals were computed, their record."""
    release_accounts(uow, request_id)
    requeue(uow, request_id)
    uow.audit(
        actor=actor,
        action="fail",
        entity="request",
        entity_id=str(request_id),
        at=now,
        before={"status": "proposing"},
        after={"status": "failed", "issue": issue, **(record or {})},
    )


def _store_proposals(
    uow: UnitOfWork,
    request_id: int,
    proposals: list[dict[str, Any]],
    lines: list[tuple[Any, ...]],
) -> None:
    firm = uow.firm_id
    uow.bulk_insert(
        t.proposals,
        ("request_id", "firm_id", *proposals[0].keys()),
        [(request_id, firm, *p.values()) for p in proposals],
    )
    uow.bulk_insert(
        t.proposal_lines,
        ("request_id", "firm_id", *LINE_FIELDS),
        [(request_id, *line) for line in lines],
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
    realized = done.realized_gain  # a sum over the book: once, not once per account
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
                "realized_gain": _cents(realized[row]),
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
