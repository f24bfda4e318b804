"""The stored rules of submitted accounts as the core's :class:`AccountRules`.

Tax lots, lot method, gain and elective locks, trade hold, exclusions and substitutions,
and the household's recent transactions (for wash sales), read with one query per table
for all accounts at once. Equivalents groups are stored but not laid on yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from trimtab.core.lots import Lot, LotMethod
from trimtab.core.restrictions import Behaviour, EndAction, Exclusion, Replacement
from trimtab.core.rules import WASH_SALE_DAYS, AccountRules, Side, Transaction
from trimtab.service.snapshot import Snapshot
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

BEHAVIOUR = {
    "hold": Behaviour.HOLD,
    "liquidate_now": Behaviour.LIQUIDATE_NOW,
    "liquidate_as_needed": Behaviour.LIQUIDATE_AS_NEEDED,
}
REPLACEMENT = {"hold_cash": Replacement.HOLD_CASH, "reallocate": Replacement.REALLOCATE}


def account_rules(
    uow: UnitOfWork,
    *,
    snap: Snapshot,
    accounts: Mapping[str, Any],
    held: set[str],
    trade_day: date,
) -> list[AccountRules]:
    """One :class:`AccountRules` per account of ``snap``, in its order.

    ``accounts`` are the stored account rows by id; ``held`` the accounts on trade hold.
    """
    conn, firm, ids = uow.conn, uow.firm_id, snap.account_ids
    code = {s: i for i, s in enumerate(snap.symbols)}
    lots: dict[str, dict[int, list[Lot]]] = defaultdict(lambda: defaultdict(list))
    for r in conn.execute(
        select(t.lots)
        .where(t.lots.c.firm_id == firm, t.lots.c.as_of == snap.as_of, t.lots.c.account_id.in_(ids))
        .order_by(t.lots.c.row)
    ):
        if r.symbol in code:
            lots[r.account_id][code[r.symbol]].append(
                Lot(
                    quantity=float(r.quantity),
                    cost_basis=None if r.cost_basis is None else float(r.cost_basis),
                    acquired=r.acquired or date.min,
                    lot_id=r.lot_id or f"#{r.row}",  # the book's id, else its row
                )
            )
    locks: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for r in conn.execute(
        select(t.locks.c.account_id, t.locks.c.symbol, t.locks.c.kind).where(
            t.locks.c.firm_id == firm, t.locks.c.as_of == snap.as_of, t.locks.c.account_id.in_(ids)
        )
    ):
        if r.symbol in code:
            locks[r.account_id][r.kind].add(code[r.symbol])
    exclusions: dict[str, list[Exclusion]] = defaultdict(list)
    for r in conn.execute(
        select(t.restrictions)
        .where(
            t.restrictions.c.firm_id == firm,
            t.restrictions.c.as_of == snap.as_of,
            t.restrictions.c.account_id.in_(ids),
            t.restrictions.c.kind.in_(("exclusion", "substitution")),
        )
        .order_by(t.restrictions.c.account_id, t.restrictions.c.restriction_id)
    ):
        if r.symbol not in code:
            continue
        exclusions[r.account_id].append(
            Exclusion(
                symbol=code[r.symbol],
                behaviour=BEHAVIOUR[r.behaviour],
                start=r.start_date,
                replacement=REPLACEMENT[r.replacement],
                substitute=code.get(r.substitute, -1) if r.substitute else -1,
                end=r.end_date,
                end_action=EndAction.REBALANCE
                if r.end_action == "rebalance_immediately"
                else EndAction.WAIT_FOR_WEIGHT_CHANGE,
            )
        )
    household = {a: accounts[a].household_id or f"account:{a}" for a in ids}
    members: dict[str, list[str]] = defaultdict(list)
    for r in conn.execute(
        select(t.accounts.c.account_id, t.accounts.c.household_id).where(
            t.accounts.c.firm_id == firm,
            t.accounts.c.household_id.in_({h for h in household.values()}),
        )
    ):
        members[r.household_id].append(r.account_id)
    recent: dict[str, list[Transaction]] = defaultdict(list)
    since = trade_day - timedelta(days=WASH_SALE_DAYS)
    everyone = sorted({m for ms in members.values() for m in ms} | set(ids))
    seen: set[tuple[Any, ...]] = set()
    for r in conn.execute(
        select(t.transactions).where(
            t.transactions.c.firm_id == firm,
            t.transactions.c.account_id.in_(everyone),
            t.transactions.c.trade_date >= since,
        )
    ):
        key = (r.account_id, r.trade_date, r.symbol, r.side, r.quantity)
        if r.symbol not in code or key in seen:
            continue
        seen.add(key)
        recent[r.account_id].append(
            Transaction(
                account=r.account_id,
                symbol=code[r.symbol],
                side=Side.BUY if r.side == "buy" else Side.SELL,
                when=r.trade_date,
                quantity=float(r.quantity),
            )
        )
    out = []
    for a in ids:
        row = accounts[a]
        mates = members.get(row.household_id, [a]) if row.household_id else [a]
        out.append(
            AccountRules(
                account=a,
                qualified=row.registration == "qualified",
                lots={k: tuple(v) for k, v in lots[a].items()},
                lot_method=LotMethod(row.lot_method),
                gain_lock_symbols=frozenset(locks[a]["gain"]),
                elective_locks=frozenset(locks[a]["elective"]),
                on_hold=a in held,
                exclusions=tuple(exclusions.get(a, ())),
                transactions=tuple(x for m in mates for x in recent.get(m, [])),
            )
        )
    return out
