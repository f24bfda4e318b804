"""Orders: created from an approved request's proposals, exported as CSV or FIX 4.4.

Client order ids are ``TT<request>-<n>``, ``n`` counting the request's orders in
(account, symbol) order (an account's trade lines of one security, a model line and an APM
sleeve's, net to one order), so the same request always yields the same ids; the store's key on
them means approving twice can never create a second set.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import simplefix
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from trimtab.errors import ConflictError, InputError, NotFoundError
from trimtab.service.access import require_role
from trimtab.service.market import trade_date
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

FORMATS = ("csv", "fix")
CSV_COLUMNS = (
    "client_order_id",
    "trade_date",
    "best_effort",
    "account_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "request_id",
)

OrderSink = Callable[[bytes], None]
"""Where exported orders go (a file, standard output, a socket); called once per export."""


def net_trades(lines: Sequence[Any]) -> list[tuple[str, str, Decimal, Decimal]]:
    """(account, symbol, signed shares, price) of each order that proposal ``lines`` (with
    ``account_id``, ``symbol``, ``action``, ``quantity`` and ``price``, in account and symbol
    order) make: an account's lines of one security (a model line and an APM sleeve's) are
    one order; a security whose lines cancel out has none."""
    net: dict[tuple[str, str], list[Any]] = {}
    for line in lines:
        if line.action == "none":
            continue
        signed = line.quantity if line.action == "buy" else -line.quantity
        key = (line.account_id, line.symbol)
        if key in net:
            net[key][0] += signed
        else:
            net[key] = [signed, line.price]
    return [(a, s, qty, px) for (a, s), (qty, px) in net.items() if qty != 0]


def create_orders(uow: UnitOfWork, *, request_id: int, accounts: list[str], now: datetime) -> int:
    """Orders for the trade lines of ``accounts`` in request ``request_id``; returns how many.

    Trade date and best-effort flag come from the cut-off rule applied to ``now``.
    """
    day, best_effort = trade_date(now)
    lines = uow.conn.execute(
        select(t.proposal_lines)
        .where(
            t.proposal_lines.c.firm_id == uow.firm_id,
            t.proposal_lines.c.request_id == request_id,
            t.proposal_lines.c.action != "none",
        )
        .order_by(t.proposal_lines.c.account_id, t.proposal_lines.c.symbol)
    ).all()
    chosen = set(accounts)
    rows = [
        (
            uow.firm_id,
            f"TT{request_id}-{n + 1:04d}",
            request_id,
            account_id,
            symbol,
            "buy" if qty > 0 else "sell",
            abs(qty),
            px,
            day,
            best_effort,
            now,
        )
        for n, (account_id, symbol, qty, px) in enumerate(net_trades(lines))
        if account_id in chosen
    ]
    return uow.bulk_insert(
        t.orders,
        (
            "firm_id",
            "client_order_id",
            "request_id",
            "account_id",
            "symbol",
            "side",
            "quantity",
            "price",
            "trade_date",
            "best_effort",
            "created_at",
        ),
        rows,
    )


def _csv(orders: Sequence[Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for o in orders:
        writer.writerow(
            [
                o.client_order_id,
                o.trade_date.isoformat(),
                "true" if o.best_effort else "false",
                o.account_id,
                o.symbol,
                o.side,
                _plain(o.quantity),
                _plain(o.price),
                o.request_id,
            ]
        )
    return out.getvalue().encode()


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _fix(orders: Sequence[Any], *, sender: str, target: str, now: datetime) -> bytes:
    out = bytearray()
    stamp = now.strftime("%Y%m%d-%H:%M:%S.%f")[:-3]
    for seq, o in enumerate(orders, start=1):
        msg = simplefix.FixMessage()
        msg.append_pair(8, "FIX.4.4", header=True)
        msg.append_pair(35, "D", header=True)
        msg.append_pair(49, sender, header=True)
        msg.append_pair(56, target, header=True)
        msg.append_pair(34, seq, header=True)
        msg.append_pair(52, stamp, header=True)
        msg.append_pair(11, o.client_order_id)
        msg.append_pair(1, o.account_id)
        msg.append_pair(21, "1")
        msg.append_pair(55, o.symbol)
        msg.append_pair(54, "1" if o.side == "buy" else "2")
        msg.append_pair(60, stamp)
        msg.append_pair(38, _plain(o.quantity))
        msg.append_pair(40, "1")
        msg.append_pair(59, "0")
        msg.append_pair(75, o.trade_date.strftime("%Y%m%d"))
        out += msg.encode() + b"\n"
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Exported:
    """One export: its batch id (``None`` when nothing was written), the trade date and
    format, how many orders it wrote, and ``kind``: ``new`` (orders not exported before),
    ``all`` (every order of the date again) or ``batch`` (an earlier batch again)."""

    export_id: int | None
    trade_date: date | None
    fmt: str
    orders: int
    kind: str
    note: str = ""


def export_orders(
    uow: UnitOfWork,
    *,
    actor: str,
    day: date | None,
    fmt: str,
    sink: OrderSink,
    now: datetime,
    target: str = "CUSTODIAN",
    again: bool = False,
    batch: int | None = None,
) -> Exported:
    """Write orders trading on ``day`` to ``sink``: those not yet exported in ``fmt``; every
    one of them with ``again``; or, with ``batch``, the orders of that earlier export.

    CSV has one header row and one row per order; FIX is one NewOrderSingle (35=D, market,
    day) per line. Each export is a batch (``export_batches``) recorded in the same
    transaction as the orders it marks exported, once the sink has taken the data. When
    there is nothing to write the sink is not called and ``note`` says why.
    """
    if fmt not in FORMATS:
        raise InputError("format", f"must be csv or fix, got {fmt!r}")
    require_role(uow, user_id=actor, role="operator")
    conn, firm = uow.conn, uow.firm_id
    o, x = t.orders.c, t.order_exports.c
    if batch is not None:
        found = conn.execute(
            select(t.export_batches).where(
                t.export_batches.c.firm_id == firm, t.export_batches.c.export_id == batch
            )
        ).first()
        if found is None or found.kind != "new":
            raise NotFoundError(f"--batch: no export {batch} of new orders in firm {firm!r}")
        if found.format != fmt:
            raise InputError("format", f"export {batch} was {found.format}, not {fmt}")
        day, kind = found.trade_date, "batch"
        mine = select(x.client_order_id).where(x.firm_id == firm, x.export_id == batch)
        query = select(t.orders).where(o.firm_id == firm, o.client_order_id.in_(mine))
    else:
        if day is None:
            raise InputError("date", "give the trade date (or an export batch)")
        kind = "all" if again else "new"
        query = select(t.orders).where(o.firm_id == firm, o.trade_date == day)
        if not again:
            done = select(x.client_order_id).where(x.firm_id == firm, x.format == fmt)
            query = query.where(o.client_order_id.not_in(done))
    orders = conn.execute(query.order_by(o.client_order_id).with_for_update()).all()
    if not orders:
        return Exported(None, day, fmt, 0, kind, note=_nothing(uow, day, fmt))
    export_id = conn.execute(
        insert(t.export_batches)
        .values(
            firm_id=firm,
            trade_date=day,
            format=fmt,
            kind=kind,
            orders=len(orders),
            exported_by=actor,
            exported_at=now,
        )
        .returning(t.export_batches.c.export_id)
    ).scalar_one()
    first_time = {r.client_order_id for r in orders} - set(
        conn.execute(
            select(x.client_order_id).where(
                x.firm_id == firm,
                x.format == fmt,
                x.client_order_id.in_([r.client_order_id for r in orders]),
            )
        ).scalars()
    )
    data = (
        _csv(orders) if fmt == "csv" else _fix(orders, sender=uow.firm_id, target=target, now=now)
    )
    try:
        uow.bulk_insert(
            t.order_exports,
            ("firm_id", "client_order_id", "format", "exported_at", "export_id"),
            [(firm, c, fmt, now, export_id) for c in sorted(first_time)],
        )
    except IntegrityError:
        raise ConflictError(f"another export of {day} as {fmt} ran at the same time") from None
    uow.audit(
        actor=actor,
        action="export" if kind == "new" else "reexport",
        entity="orders",
        entity_id=f"{day.isoformat()}/{fmt}",
        at=now,
        after={
            "export_id": export_id,
            "kind": kind,
            "batch": batch,
            "orders": [r.client_order_id for r in orders],
        },
    )
    sink(data)
    uow.commit()
    return Exported(export_id, day, fmt, len(orders), kind)


def _nothing(uow: UnitOfWork, day: date | None, fmt: str) -> str:
    """Why an export of ``day`` found no order to write."""
    total = uow.conn.execute(
        select(func.count()).where(t.orders.c.firm_id == uow.firm_id, t.orders.c.trade_date == day)
    ).scalar_one()
    if not total:
        return f"no orders trade on {day}"
    batches = uow.conn.execute(
        select(t.export_batches.c.export_id)
        .where(
            t.export_batches.c.firm_id == uow.firm_id,
            t.export_batches.c.trade_date == day,
            t.export_batches.c.format == fmt,
            t.export_batches.c.kind == "new",
        )
        .order_by(t.export_batches.c.export_id)
    ).scalars()
    shown = ", ".join(map(str, batches)) or "before batches were kept"
    return (
        f"all {total} orders of {day} were exported as {fmt} already (exports {shown}); "
        "--all writes them again, --batch ID one export again"
    )
