"""The audit trail: reading it, verifying its hash chain, and recording refused attempts.

Every state change appends an entry through :meth:`UnitOfWork.audit`, chained per firm
(:mod:`trimtab.store.chain`). :func:`verify_chain` recomputes the chain: an entry altered,
removed or inserted out of turn breaks it from that entry on, and the firm's head
(``audit_heads``) must name the last entry, so removing the newest entries shows too.
Entries written before the chain existed (migration 0005) carry no hash and are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from trimtab.errors import InputError
from trimtab.service.access import require_role
from trimtab.store.chain import GENESIS, entry_hash
from trimtab.store.tables import audit_heads, audit_log, firms
from trimtab.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Verification:
    """What :func:`verify_chain` found: chained entries checked, entries from before the
    chain, and the problems (empty when the chain holds), first first."""

    entries: int
    unchained: int
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def verify_chain(
    uow: UnitOfWork, *, actor: str | None = None, since: int | None = None
) -> Verification:
    """Recompute the firm's audit chain entry by entry (streamed, oldest first).

    ``actor``, the user asking, must be admin; ``None`` (the command line, run by whoever
    holds the database) checks no role. ``since``: recompute from entry ``since`` on only,
    from the stored hash of the chained entry before it. Every entry from ``since`` on is
    checked as in the whole chain, and so is the head (entries removed or added); an entry
    before it is taken as stored (``trimtab audit verify`` checks the whole chain).
    ``entries`` counts the entries recomputed.
    """
    if actor is not None:
        require_role(uow, user_id=actor, role="admin", attempt="verify the audit chain")
    a = audit_log.c
    mine = a.firm_id == uow.firm_id
    query = select(audit_log).where(mine).order_by(a.audit_id)
    previous, before, last_id = GENESIS, 0, None
    if since is not None:
        query = query.where(a.audit_id >= since)
        chained_before = (mine, a.audit_id < since, a.hash.is_not(None))
        last = uow.conn.execute(
            select(a.audit_id, a.hash).where(*chained_before).order_by(a.audit_id.desc()).limit(1)
        ).first()
        if last is not None:
            last_id, previous = last.audit_id, last.hash
            before = uow.conn.execute(select(func.count()).where(*chained_before)).scalar_one()
    rows = uow.conn.execution_options(yield_per=2000).execute(query)
    checked, unchained = 0, 0
    problems: list[str] = []
    for r in rows:
        if r.hash is None:
            if checked or before:
                problems.append(f"entry {r.audit_id}: has no hash after chained entries")
            else:
                unchained += 1
            continue
        expected = entry_hash(
            previous,
            firm_id=r.firm_id,
            actor=r.actor,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            at=r.at,
            before=r.before,
            after=r.after,
        )
        if expected != r.hash:
            problems.append(
                f"entry {r.audit_id}: its hash does not match (the entry was altered, or one "
                "before it removed)"
            )
        previous, checked, last_id = r.hash, checked + 1, r.audit_id
    head = uow.conn.execute(select(audit_heads).where(audit_heads.c.firm_id == uow.firm_id)).first()
    chained = before + checked
    if head is None:
        if chained:
            problems.append("the chain's head is missing")
    elif (head.last_id, head.last_hash, head.entries) != (last_id, previous, chained):
        problems.append(
            f"the chain's head names entry {head.last_id} of {head.entries}, the log ends at "
            f"entry {last_id} of {chained}: entries were removed or added outside trimtab"
        )
    return Verification(entries=checked, unchained=unchained, problems=problems)


def audit_query(
    uow: UnitOfWork,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Select[Any]:
    """The firm's audit entries with the given fields (unsorted); ``since`` and ``until``
    are UTC dates, both included."""
    a = audit_log.c
    q = select(audit_log).where(a.firm_id == uow.firm_id)
    for column, value in (
        (a.actor, actor),
        (a.action, action),
        (a.entity, entity),
        (a.entity_id, entity_id),
    ):
        if value is not None:
            q = q.where(column == value)
    if since is not None:
        q = q.where(a.at >= datetime.combine(since, time(0), UTC))
    if until is not None:
        q = q.where(a.at < datetime.combine(until, time(0), UTC) + timedelta(days=1))
    return q


def list_audit(
    uow: UnitOfWork,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 100,
) -> list[Any]:
    """Audit entries of the firm, newest first, filtered on any of the given fields;
    ``since`` and ``until`` are UTC dates, both included. Stored rows (``before`` and
    ``after`` as JSON text), for ``trimtab audit``; the API reads
    :func:`trimtab.service.listing.audit_page`."""
    if limit < 1:
        raise InputError("limit", f"must be at least 1, got {limit}")
    q = audit_query(
        uow,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        since=since,
        until=until,
    )
    return list(uow.conn.execute(q.order_by(audit_log.c.audit_id.desc()).limit(limit)).all())


def record_refusal(
    uow: UnitOfWork,
    *,
    actor: str,
    attempt: str,
    entity: str,
    entity_id: str,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Log a refused attempt (action ``refused``) in a transaction of its own.

    Whatever the refused use case did so far is rolled back first. Nothing is logged for a
    firm that does not exist (there is no trail to add to).
    """
    uow.rollback()
    exists = uow.conn.execute(select(firms.c.firm_id).where(firms.c.firm_id == uow.firm_id))
    if exists.first() is None:
        return
    uow.audit(
        actor=actor,
        action="refused",
        entity=entity,
        entity_id=entity_id,
        at=now or datetime.now(UTC),
        after={"attempt": attempt, "reason": reason},
    )
    uow.commit()
