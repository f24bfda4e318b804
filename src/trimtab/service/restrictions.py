"""Managing an account's trade restrictions and locks (seed 001, "Trade Restrictions").

A restriction is added whole, edited only in its end date and end action, or removed: "to
make changes to other fields, you must delete the rule and create a new one". A security
sits in at most one restriction of an account, except that a member of an equivalents group
may also be a substitution's substitute; adding one that breaks this is refused, naming the
restriction in the way ("delete the other restriction first"). Locks are added and
removed. Every change is audited with what it replaced.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, insert, select, update

from trimtab.errors import ConflictError, InputError, NotFoundError, ScenarioError
from trimtab.io.errors import first_error
from trimtab.io.rules import (
    EndActionName,
    EquivalentsIn,
    ExclusionIn,
    LockTypeName,
    RestrictionIn,
    RulesIn,
    SubstitutionIn,
    check_rules,
)
from trimtab.service.access import require_role
from trimtab.service.rule_store import RESTRICTION_COLUMNS
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

_RESTRICTION = TypeAdapter(RestrictionIn)
_KIND = {"exclusion": "an exclusion", "substitution": "a substitution", "equivalents": "a group"}


@dataclass(frozen=True, slots=True)
class StoredRestriction:
    """One restriction of an account: its id and its fields (an equivalents group has
    ``members``; the others ``symbol``)."""

    restriction_id: str
    restriction: ExclusionIn | SubstitutionIn | EquivalentsIn


@dataclass(frozen=True, slots=True)
class StoredLock:
    """A lock of an account; ``symbol`` ``None`` for a gain lock on the whole account."""

    type: str
    symbol: str | None


def parse_restriction(data: dict[str, Any]) -> ExclusionIn | SubstitutionIn | EquivalentsIn:
    """A restriction from its fields (the scenario format's ``restrictions`` entries);
    errors name the field."""
    try:
        return _RESTRICTION.validate_python(data)
    except ValidationError as err:
        path, problem = first_error(err)
        raise InputError(path, problem) from None


def _account(uow: UnitOfWork, account_id: str) -> None:
    found = uow.conn.execute(
        select(t.accounts.c.account_id).where(
            t.accounts.c.firm_id == uow.firm_id, t.accounts.c.account_id == account_id
        )
    ).first()
    if found is None:
        raise NotFoundError(f"account {account_id!r} does not exist")


def _stored(uow: UnitOfWork, account_id: str) -> list[StoredRestriction]:
    r = t.account_restrictions
    rows = uow.conn.execute(
        select(r)
        .where(r.c.firm_id == uow.firm_id, r.c.account_id == account_id)
        .order_by(r.c.restriction_id, r.c.symbol)
    ).all()
    by_id: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_id[row.restriction_id].append(row)
    out = []
    for restriction_id, group in by_id.items():
        first = group[0]
        fields: dict[str, Any] = {"type": first.type, "start_date": first.start_date}
        if first.end_date is not None:
            fields["end_date"] = first.end_date
        if first.type == "equivalents":
            fields["members"] = [{"symbol": g.symbol, "behaviour": g.behaviour} for g in group]
        else:
            fields["symbol"] = first.symbol
            fields["behaviour"] = first.behaviour
            for name in ("end_action", "replacement", "substitute"):
                if getattr(first, name) is not None:
                    fields[name] = getattr(first, name)
            if first.weight_at_end_pct is not None:
                fields["weight_at_end_pct"] = float(first.weight_at_end_pct)
        out.append(StoredRestriction(restriction_id, _RESTRICTION.validate_python(fields)))
    return out


def list_restrictions(uow: UnitOfWork, *, actor: str, account_id: str) -> list[StoredRestriction]:
    """The restrictions of ``account_id``, by id."""
    require_role(uow, user_id=actor, role="viewer")
    _account(uow, account_id)
    return _stored(uow, account_id)


def show_restriction(
    uow: UnitOfWork, *, actor: str, account_id: str, restriction_id: str
) -> StoredRestriction:
    """The restriction ``restriction_id`` of ``account_id``. Raises :class:`NotFoundError`."""
    require_role(uow, user_id=actor, role="viewer")
    return _find(uow, account_id, restriction_id)


def _check_known(uow: UnitOfWork, named: dict[str, str]) -> None:
    """Every security named (field -> symbol) is one the firm knows."""
    known = set(
        uow.conn.execute(
            select(t.securities.c.symbol).where(
                t.securities.c.firm_id == uow.firm_id,
                t.securities.c.symbol.in_(list(named.values())),
            )
        ).scalars()
    )
    for field, symbol in named.items():
        if symbol not in known:
            raise InputError(field, f"unknown security {symbol!r}")


def _named(r: ExclusionIn | SubstitutionIn | EquivalentsIn) -> dict[str, str]:
    """The securities a restriction names, by field."""
    if isinstance(r, EquivalentsIn):
        return {f"members[{i}].symbol": m.symbol for i, m in enumerate(r.members)}
    if isinstance(r, SubstitutionIn):
        return {"symbol": r.symbol, "substitute": r.substitute}
    return {"symbol": r.symbol}


def add_restriction(
    uow: UnitOfWork,
    *,
    actor: str,
    account_id: str,
    restriction: ExclusionIn | SubstitutionIn | EquivalentsIn,
    now: datetime,
    restriction_id: str | None = None,
) -> str:
    """Add ``restriction`` to the account; returns its id (``R1``, ``R2``, ... unless given).

    Refused (:class:`ConflictError`) when a security it names is in another restriction of
    the account, or when the id is taken; an equivalents group's end date must be in the
    future (seed 001).
    """
    require_role(uow, user_id=actor, role="operator")
    _account(uow, account_id)
    _check_known(uow, _named(restriction))
    existing = _stored(uow, account_id)
    taken = {s.restriction_id for s in existing}
    if restriction_id is None:
        n = len(taken) + 1
        while f"R{n}" in taken:
            n += 1
        restriction_id = f"R{n}"
    elif restriction_id in taken:
        raise ConflictError(f"account {account_id!r} already has a restriction {restriction_id!r}")
    today = now.date()
    group = isinstance(restriction, EquivalentsIn)
    if group and restriction.end_date is not None and restriction.end_date <= today:
        raise InputError("end_date", f"must be in the future, got {restriction.end_date}")
    _check_conflicts(existing, restriction, restriction_id)
    uow.bulk_insert(
        t.account_restrictions,
        ("firm_id", "account_id", "restriction_id", "symbol", *RESTRICTION_COLUMNS),
        _rows(uow.firm_id, account_id, restriction_id, restriction, today),
    )
    uow.audit(
        actor=actor,
        action="add_restriction",
        entity="account",
        entity_id=account_id,
        at=now,
        after={"restriction_id": restriction_id, **restriction.model_dump(mode="json")},
    )
    uow.commit()
    return restriction_id


def _check_conflicts(
    existing: list[StoredRestriction],
    new: ExclusionIn | SubstitutionIn | EquivalentsIn,
    new_id: str,
) -> None:
    """The seed's rule: a security in one restriction only (a member may be a substitute)."""
    ids = [s.restriction_id for s in existing] + [new_id]
    try:
        check_rules(RulesIn(restrictions=[s.restriction for s in existing] + [new]))
    except ScenarioError as err:
        index = int(err.where.split("]")[0].split("[")[1])
        field = err.where.split(".", 1)[1]
        if "is already in restrictions[" not in err.problem:
            raise InputError(field, err.problem) from None
        other = int(err.problem.split("restrictions[")[1].split("]")[0])
        kind = next(s.restriction.type for s in existing if s.restriction_id == ids[other])
        symbol = err.problem.split(" is already")[0]
        if index != len(existing):  # the stored ones clash among themselves: name the new one
            other, index = index, other
        raise ConflictError(
            f"{field}: {symbol} is already in restriction {ids[other]!r} ({_KIND[kind]}) of "
            "this account; a security may be in one restriction only (a group member may "
            "also be a substitute): delete the other restriction first"
        ) from None


def _rows(
    firm: str,
    account_id: str,
    restriction_id: str,
    r: ExclusionIn | SubstitutionIn | EquivalentsIn,
    today: date,
) -> list[tuple[Any, ...]]:
    """The stored rows of a restriction (one per member of a group)."""
    if isinstance(r, EquivalentsIn):
        start = r.start_date or today  # a group takes effect at once (seed 001)
        return [
            (firm, account_id, restriction_id, m.symbol, "equivalents", start, r.end_date, *tail)
            for m in r.members
            for tail in [(None, m.behaviour, None, None, None)]
        ]
    weight = None if r.weight_at_end_pct is None else Decimal(repr(r.weight_at_end_pct))
    return [
        (
            firm,
            account_id,
            restriction_id,
            r.symbol,
            r.type,
            r.start_date,
            r.end_date,
            r.end_action,
            r.behaviour,
            r.replacement if isinstance(r, ExclusionIn) else None,
            r.substitute if isinstance(r, SubstitutionIn) else None,
            weight,
        )
    ]


def _find(uow: UnitOfWork, account_id: str, restriction_id: str) -> StoredRestriction:
    _account(uow, account_id)
    for stored in _stored(uow, account_id):
        if stored.restriction_id == restriction_id:
            return stored
    raise NotFoundError(f"account {account_id!r} has no restriction {restriction_id!r}")


def edit_restriction(
    uow: UnitOfWork,
    *,
    actor: str,
    account_id: str,
    restriction_id: str,
    end_date: date | None,
    end_action: EndActionName | None,
    now: datetime,
) -> None:
    """Change a restriction's end date and end action, the only fields that can change
    (seed 001); ``None`` removes the end date (the restriction then stays in force)."""
    require_role(uow, user_id=actor, role="operator")
    before = _find(uow, account_id, restriction_id).restriction
    fields = before.model_dump(exclude_none=True)
    fields.pop("end_date", None)
    fields.pop("end_action", None)
    fields.pop("weight_at_end_pct", None)
    if end_date is not None:
        fields["end_date"] = end_date
    if end_action is not None:
        if isinstance(before, EquivalentsIn):
            raise InputError("end_action", "an equivalents group takes no end action")
        fields["end_action"] = end_action
    after = parse_restriction(fields)
    try:
        check_rules(RulesIn(restrictions=[after]))
    except ScenarioError as err:
        raise InputError(err.where.split(".", 1)[1], err.problem) from None
    if isinstance(after, EquivalentsIn) and end_date is not None and end_date <= now.date():
        raise InputError("end_date", f"must be in the future, got {end_date}")
    r = t.account_restrictions
    uow.conn.execute(
        update(r)
        .where(
            r.c.firm_id == uow.firm_id,
            r.c.account_id == account_id,
            r.c.restriction_id == restriction_id,
        )
        .values(
            end_date=end_date,
            end_action=None if isinstance(after, EquivalentsIn) else end_action,
            weight_at_end_pct=None,
        )
    )
    uow.audit(
        actor=actor,
        action="edit_restriction",
        entity="account",
        entity_id=account_id,
        at=now,
        before={"restriction_id": restriction_id, **before.model_dump(mode="json")},
        after={"restriction_id": restriction_id, **after.model_dump(mode="json")},
    )
    uow.commit()


def remove_restriction(
    uow: UnitOfWork, *, actor: str, account_id: str, restriction_id: str, now: datetime
) -> None:
    """Delete a restriction of the account."""
    require_role(uow, user_id=actor, role="operator")
    before = _find(uow, account_id, restriction_id).restriction
    r = t.account_restrictions
    uow.conn.execute(
        delete(r).where(
            r.c.firm_id == uow.firm_id,
            r.c.account_id == account_id,
            r.c.restriction_id == restriction_id,
        )
    )
    uow.audit(
        actor=actor,
        action="remove_restriction",
        entity="account",
        entity_id=account_id,
        at=now,
        before={"restriction_id": restriction_id, **before.model_dump(mode="json")},
    )
    uow.commit()


def list_locks(uow: UnitOfWork, *, actor: str, account_id: str) -> list[StoredLock]:
    """The locks of ``account_id``."""
    require_role(uow, user_id=actor, role="viewer")
    _account(uow, account_id)
    lk = t.account_locks
    return [
        StoredLock(r.type, r.symbol or None)
        for r in uow.conn.execute(
            select(lk.c.type, lk.c.symbol)
            .where(lk.c.firm_id == uow.firm_id, lk.c.account_id == account_id)
            .order_by(lk.c.type, lk.c.symbol)
        )
    ]


def add_lock(
    uow: UnitOfWork,
    *,
    actor: str,
    account_id: str,
    type: LockTypeName,
    symbol: str | None,
    now: datetime,
) -> None:
    """Lock ``symbol`` (or, for a gain lock without one, the whole account)."""
    require_role(uow, user_id=actor, role="operator")
    _account(uow, account_id)
    if type not in ("gain", "elective", "cost_basis_unlock"):
        raise InputError("type", f"must be gain, elective or cost_basis_unlock, got {type!r}")
    if symbol is None and type != "gain":
        raise InputError("symbol", f"a {type} lock names a security")
    if symbol is not None:
        _check_known(uow, {"symbol": symbol})
    lk = t.account_locks
    key = (lk.c.firm_id == uow.firm_id, lk.c.account_id == account_id)
    if uow.conn.execute(
        select(lk.c.type).where(*key, lk.c.type == type, lk.c.symbol == (symbol or ""))
    ).first():
        raise ConflictError(f"account {account_id!r} already has that {type} lock")
    uow.conn.execute(
        insert(lk).values(
            firm_id=uow.firm_id, account_id=account_id, type=type, symbol=symbol or ""
        )
    )
    uow.audit(
        actor=actor,
        action="add_lock",
        entity="account",
        entity_id=account_id,
        at=now,
        after={"type": type, "symbol": symbol},
    )
    uow.commit()


def remove_lock(
    uow: UnitOfWork,
    *,
    actor: str,
    account_id: str,
    type: str,
    symbol: str | None,
    now: datetime,
) -> None:
    """Remove a lock of the account."""
    require_role(uow, user_id=actor, role="operator")
    _account(uow, account_id)
    lk = t.account_locks
    done = uow.conn.execute(
        delete(lk).where(
            lk.c.firm_id == uow.firm_id,
            lk.c.account_id == account_id,
            lk.c.type == type,
            lk.c.symbol == (symbol or ""),
        )
    )
    if done.rowcount != 1:
        raise NotFoundError(
            f"account {account_id!r} has no {type} lock on {symbol or 'the account'}"
        )
    uow.audit(
        actor=actor,
        action="remove_lock",
        entity="account",
        entity_id=account_id,
        at=now,
        before={"type": type, "symbol": symbol},
    )
    uow.commit()
