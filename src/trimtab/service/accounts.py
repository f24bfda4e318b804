"""Account settings a user changes: the rebalancing switch, trade hold, lot method, drift
parameters. Each change is audited; switch changes also go to the switch history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import insert, select, update

from trimtab.errors import InputError, NotFoundError
from trimtab.service.access import require_role
from trimtab.service.market import CHICAGO
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

LOT_METHODS = ("fifo", "lifo", "hifo", "minimum_tax")
DRIFT_PARAMETERS = {
    "sac_soft_pct": "percent points a sub-asset class may be off for sac_soft_days",
    "sac_soft_days": "days (over six months by default: 182)",
    "sac_hard_pct": "percent points a sub-asset class may be off two evaluations in a row",
    "cash_high_usd": "cash dollars above the larger of sweep target and model cash that flag",
    "cash_low_pct": "percent of value below which cash is low",
    "sweep_pct": "sweep target, percent of value",
    "sweep_min_usd": "sweep target minimum, dollars",
    "no_trade_days": "days without a trade that flag the account",
}
WHOLE = {"sac_soft_days", "no_trade_days"}


@dataclass(frozen=True, slots=True)
class AccountChange:
    """Changes to apply; ``None`` leaves a setting as it is.

    ``hold_until`` applies with ``trade_hold=True`` (``None`` there: indefinite).
    ``drift`` maps parameter names of :data:`DRIFT_PARAMETERS` to values in their units.
    """

    rebalancing: bool | None = None
    trade_hold: bool | None = None
    hold_until: date | None = None
    lot_method: str | None = None
    drift: dict[str, Decimal] | None = None
    held_away: bool | None = None
    """A held-away account is not managed and never traded; its transactions still count
    for its household's wash sales."""


def drift_values(given: dict[str, str]) -> dict[str, Decimal]:
    """Drift parameters from their texts by name (:data:`DRIFT_PARAMETERS`; blank ones are
    left out), each checked; an error names the parameter."""
    out: dict[str, Decimal] = {}
    for name, text in given.items():
        if name not in DRIFT_PARAMETERS:
            allowed = ", ".join(DRIFT_PARAMETERS)
            raise InputError(name, f"unknown drift parameter (allowed: {allowed})")
        if not text.strip():
            continue
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise InputError(name, f"not a number: {text!r}") from None
        if not value.is_finite() or value < 0:
            raise InputError(name, f"must be a number at least 0, got {text!r}")
        if name in WHOLE and value != value.to_integral_value():
            raise InputError(name, f"must be a whole number of days, got {text!r}")
        out[name] = value
    return out


def parse_drift(pairs: list[str]) -> dict[str, Decimal]:
    """``["cash_high_usd=500", ...]`` as a mapping; names and values checked."""
    out: dict[str, Decimal] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or name not in DRIFT_PARAMETERS:
            allowed = ", ".join(DRIFT_PARAMETERS)
            raise InputError(
                "--set", f"expected NAME=VALUE with NAME one of {allowed}, got {pair!r}"
            )
        if not text.strip():
            raise InputError(f"--set {name}", f"not a number: {text!r}")
        try:
            out.update(drift_values({name: text}))
        except InputError as err:
            raise InputError(f"--set {name}", err.problem) from None
    return out


def update_account(
    uow: UnitOfWork, *, actor: str, account_id: str, change: AccountChange, now: datetime
) -> dict[str, Any]:
    """Apply ``change`` to ``account_id``; returns the settings after the change."""
    require_role(uow, user_id=actor, role="operator")
    conn, firm = uow.conn, uow.firm_id
    row = conn.execute(
        select(t.accounts).where(
            t.accounts.c.firm_id == firm, t.accounts.c.account_id == account_id
        )
    ).first()
    if row is None:
        raise NotFoundError(f"account {account_id!r} does not exist")
    if change.lot_method is not None and change.lot_method not in LOT_METHODS:
        raise InputError(
            "lot_method", f"must be one of {', '.join(LOT_METHODS)}, got {change.lot_method!r}"
        )
    if change.hold_until is not None and change.trade_hold is not True:
        raise InputError("hold_until", "applies only with trade_hold on")
    values: dict[str, Any] = {}
    if change.rebalancing is not None:
        values["rebalancing"] = change.rebalancing
    if change.trade_hold is not None:
        values["trade_hold"] = change.trade_hold
        values["trade_hold_until"] = change.hold_until if change.trade_hold else None
    if change.lot_method is not None:
        values["lot_method"] = change.lot_method
    if change.held_away is not None:
        values["held_away"] = change.held_away
    for name, value in (change.drift or {}).items():
        values[name] = int(value) if name in WHOLE else value
    before = {k: getattr(row, k) for k in values}
    values = {k: v for k, v in values.items() if before[k] != v}
    current = {
        k: getattr(row, k)
        for k in (
            "rebalancing",
            "trade_hold",
            "trade_hold_until",
            "lot_method",
            "held_away",
            *DRIFT_PARAMETERS,
        )
    }
    if not values:
        return current
    conn.execute(
        update(t.accounts)
        .where(t.accounts.c.firm_id == firm, t.accounts.c.account_id == account_id)
        .values(**values)
    )
    if "rebalancing" in values:
        conn.execute(
            insert(t.rebalancing_changes).values(
                firm_id=firm,
                account_id=account_id,
                effective=now.astimezone(CHICAGO).date(),
                changed_at=now,
                rebalancing=values["rebalancing"],
                changed_by=actor,
            )
        )
    uow.audit(
        actor=actor,
        action="update",
        entity="account",
        entity_id=account_id,
        at=now,
        before={k: before[k] for k in values},
        after=values,
    )
    uow.commit()
    return {**current, **values}


@dataclass(frozen=True, slots=True)
class SwitchChange:
    """A change of an account's rebalancing switch: the market day it took effect, the
    switch after it (on or off), the user who changed it (by hand, or by importing a book
    that changed it) and when (UTC)."""

    effective: date
    rebalancing: bool
    changed_by: str
    changed_at: datetime


def switch_history(uow: UnitOfWork, *, actor: str, account_id: str) -> tuple[SwitchChange, ...]:
    """The account's rebalancing switch changes, oldest first. Raises
    :class:`NotFoundError` for an account the firm does not have."""
    require_role(uow, user_id=actor, role="viewer")
    a, c = t.accounts.c, t.rebalancing_changes.c
    known = uow.conn.execute(
        select(a.account_id).where(a.firm_id == uow.firm_id, a.account_id == account_id)
    ).first()
    if known is None:
        raise NotFoundError(f"account {account_id!r} does not exist")
    return tuple(
        SwitchChange(
            effective=r.effective,
            rebalancing=bool(r.rebalancing),
            changed_by=r.changed_by,
            changed_at=r.changed_at,
        )
        for r in uow.conn.execute(
            select(c.effective, c.rebalancing, c.changed_by, c.changed_at)
            .where(c.firm_id == uow.firm_id, c.account_id == account_id)
            .order_by(c.change_id)
        )
    )
