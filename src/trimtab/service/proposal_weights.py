"""Weights of a request's accounts before, at target and after its proposal (View Details).

Worked out from what the request stored: each proposal line's trade (shares, dollars per
share), the proposal's value and cash after, and the book the request was proposed on (its
``price_date``): the shares and cash held then, and the model version the account was on.
Weights are percent points of the account's value, cash included; a security held twice (a
model line and an APM sleeve's) is one row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import func, select

from trimtab.service.paging import MAX_LIMIT
from trimtab.service.requests import RequestView, proposals_page, show_request
from trimtab.store import tables as t
from trimtab.store.among import among
from trimtab.store.holdings import of_accounts
from trimtab.store.uow import UnitOfWork

CASH = "Cash"
"""The row of an account's cash."""

_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class WeightRow:
    """One security (or the account's cash) of a proposal: percent points of the account's
    value, to the hundredth, before the trades, at target (``None``: no target for it) and
    after the trades; ``cash`` marks the cash row."""

    symbol: str
    before_pct: Decimal
    target_pct: Decimal | None
    after_pct: Decimal
    cash: bool = False


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * _HUNDRED / whole).quantize(_CENT) if whole else Decimal(0)


@dataclass(frozen=True, slots=True)
class RequestDetails:
    """A page of a request as View Details shows it: the request with the page's proposals
    and trade lines, each of their accounts' weights (:func:`proposal_weights`), the token
    of the next page (``None`` on the last) and the request's number of accounts."""

    request: RequestView
    weights: dict[str, tuple[WeightRow, ...]]
    next_page_token: str | None = None
    accounts: int = 0


def request_details(
    uow: UnitOfWork,
    *,
    actor: str,
    request_id: int,
    limit: int = MAX_LIMIT,
    page_token: str | None = None,
) -> RequestDetails:
    """Request ``request_id`` with one page of its proposals (by account id, ``limit`` of
    them) and their accounts' weights. Raises :class:`NotFoundError` for an unknown request
    (or another firm's) and :class:`InputError` for a bad ``limit`` or ``page_token``."""
    header = show_request(uow, actor=actor, request_id=request_id, proposals=False)
    page = proposals_page(
        uow, actor=actor, request_id=request_id, limit=limit, page_token=page_token
    )
    request = replace(header, proposals=page.items)
    accounts = uow.conn.execute(
        select(func.count()).where(
            t.proposals.c.firm_id == uow.firm_id, t.proposals.c.request_id == request_id
        )
    ).scalar_one()
    return RequestDetails(request, _weights(uow, request), page.next_page_token, accounts)


def proposal_weights(
    uow: UnitOfWork, *, actor: str, request_id: int
) -> dict[str, tuple[WeightRow, ...]]:
    """Each account of request ``request_id`` with its weights before, at target and after
    the proposal, securities by symbol then cash. A failed proposal trades nothing: its
    after equals its before. Raises :class:`NotFoundError` for an unknown request (or
    another firm's)."""
    out: dict[str, tuple[WeightRow, ...]] = {}
    token = None
    while True:
        page = request_details(uow, actor=actor, request_id=request_id, page_token=token)
        out.update(page.weights)
        token = page.next_page_token
        if token is None:
            return out


def _weights(uow: UnitOfWork, request: RequestView) -> dict[str, tuple[WeightRow, ...]]:
    request_id = request.request_id
    conn, firm, day = uow.conn, uow.firm_id, request.price_date
    accounts = [p.account_id for p in request.proposals]
    pl = t.proposal_lines.c
    traded: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    price: dict[str, Decimal] = {}
    for line in conn.execute(
        select(pl.account_id, pl.symbol, pl.action, pl.quantity, pl.price).where(
            pl.firm_id == firm, pl.request_id == request_id, among(pl.account_id, accounts)
        )
    ):
        sign = {"buy": 1, "sell": -1}.get(line.action, 0)
        traded[line.account_id][line.symbol] += sign * line.quantity
        price[line.symbol] = line.price
    held: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in of_accounts(uow, as_of=day, kind="positions", account_ids=accounts).to_pylist():
        held[r["account_id"]][r["symbol"]] += r["quantity"]
    for quote in conn.execute(
        select(t.prices.c.symbol, t.prices.c.price).where(
            t.prices.c.firm_id == firm,
            t.prices.c.as_of == day,
            t.prices.c.symbol.in_(sorted({s for h in held.values() for s in h} - set(price))),
        )
    ):
        price[quote.symbol] = quote.price
    days = {
        r.account_id: r
        for r in conn.execute(
            select(
                t.account_days.c.account_id,
                t.account_days.c.cash,
                t.account_days.c.model_id,
                t.account_days.c.model_version,
            ).where(
                t.account_days.c.firm_id == firm,
                t.account_days.c.as_of == day,
                among(t.account_days.c.account_id, accounts),
            )
        )
    }
    targets = _targets(uow, {(d.model_id, d.model_version) for d in days.values() if d.model_id})
    out: dict[str, tuple[WeightRow, ...]] = {}
    for proposal in request.proposals:
        account_id, value = proposal.account_id, proposal.value
        found = days.get(account_id)
        target = targets.get((found.model_id, found.model_version), {}) if found else {}
        symbols = sorted(set(held[account_id]) | set(traded[account_id]) | set(target))
        failed = proposal.status == "failed"
        rows = []
        for symbol in symbols:
            px = price.get(symbol, Decimal(0))
            before = held[account_id][symbol]
            after = before if failed else before + traded[account_id][symbol]
            rows.append(
                WeightRow(
                    symbol=symbol,
                    before_pct=_pct(before * px, value),
                    target_pct=target.get(symbol, Decimal(0)) if target else None,
                    after_pct=_pct(after * px, value),
                )
            )
        cash_before = found.cash if found else Decimal(0)
        cash_target = (_HUNDRED - sum(target.values(), Decimal(0))) if target else None
        rows.append(
            WeightRow(
                symbol=CASH,
                before_pct=_pct(cash_before, value),
                target_pct=cash_target,
                after_pct=_pct(cash_before if failed else proposal.cash_after, value),
                cash=True,
            )
        )
        out[account_id] = tuple(rows)
    return out


def _targets(
    uow: UnitOfWork, keys: set[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, Decimal]]:
    """Target percent by symbol of each (model, version)."""
    out: dict[tuple[str, int], dict[str, Decimal]] = {k: {} for k in keys}
    if not keys:
        return out
    ml = t.model_lines.c
    for r in uow.conn.execute(
        select(ml.model_id, ml.version, ml.symbol, ml.target_pct).where(
            ml.firm_id == uow.firm_id, ml.model_id.in_(sorted({k[0] for k in keys}))
        )
    ):
        if (r.model_id, r.version) in out:
            out[(r.model_id, r.version)][r.symbol] = r.target_pct
    return out
