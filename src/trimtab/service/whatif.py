"""The what-if over a firm's current book: every chosen logic over every account of the
newest imported book, proposed as a request would propose them.

The accounts are laid out as a request lays out its own (:func:`request_book`: the stored
rules in force on today's (Chicago) date, the book date's tax lots, the stored sleeves) and
each logic gets a request's options (:func:`request_options`: the service's minimum trade
size unless another is given), so a logic's figures here are those of a request for every
account. The comparison is :func:`trimtab.whatif.compare.compare_partition`, as for a book
folder. Nothing is stored: a viewer may run it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import pyarrow as pa
from sqlalchemy import select

from trimtab.core.engine import Method
from trimtab.io.book_sleeve_rules import check_sleeve_run
from trimtab.pipeline import Partition
from trimtab.service.access import require_role
from trimtab.service.market import CHICAGO
from trimtab.service.proposing import request_book
from trimtab.service.request_proposing import _of_accounts, request_options
from trimtab.service.sleeve_store import sleeved_accounts
from trimtab.service.snapshot import latest_book_date, load_snapshot
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork
from trimtab.whatif.compare import (
    Comparison,
    Run,
    amounts_for,
    assemble,
    check_amounts,
    compare_partition,
)
from trimtab.whatif.figures import TaxRates


def compare_firm_book(
    uow: UnitOfWork,
    *,
    actor: str,
    logics: Sequence[Method],
    amounts: Mapping[str, float | None] | None = None,
    rates: TaxRates | None = None,
    now: datetime,
) -> Comparison:
    """Every logic of ``logics`` over every account of the firm's newest book (accounts with
    a model or sleeves), with the request amounts (``cash_to_generate``, ``mccar_pct``,
    ``cash_to_invest``, ``min_trade_value``) each logic uses. Needs the viewer role.

    Raises :class:`~trimtab.errors.NotFoundError` when no book was imported, and
    :class:`~trimtab.errors.InputError` naming a bad amount.
    """
    require_role(uow, user_id=actor, role="viewer")
    given = {k: v for k, v in (amounts or {}).items() if v is not None}
    check_amounts(logics, given)
    options = [request_options(m, amounts_for(m, given))[0] for m in logics]  # checked first
    as_of = latest_book_date(uow)
    accounts = {
        r.account_id: r
        for r in uow.conn.execute(select(t.accounts).where(t.accounts.c.firm_id == uow.firm_id))
    }
    sleeved = sleeved_accounts(uow, sorted(accounts))
    snap = load_snapshot(uow, as_of=as_of, sleeved=sleeved)
    trade_day = now.astimezone(CHICAGO).date()
    book = request_book(uow, snap=snap, accounts=accounts, trade_day=trade_day)
    if book.sleeves is not None:
        check_sleeve_run(
            book.sleeves, household=Method.HOUSEHOLD_REBALANCE in logics, as_of=trade_day
        )
    rows = [accounts[a] for a in snap.account_ids]
    runs = [Run(m, _of_accounts(o, snap, book, rows)) for m, o in zip(logics, options, strict=True)]
    n = book.arrays.size
    part = book.partition
    base = part if part.rules is None else replace(part, rules=part.rules.prepared())

    def make(method: Method) -> Partition:
        return replace(base, batch=book.arrays.batch(0, n))

    compared = compare_partition(
        make, book.arrays.batch(0, n), runs, slice(0, n), rates or TaxRates()
    )
    return assemble(
        pa.array(snap.account_ids, pa.string()),
        runs,
        rates or TaxRates(),
        book.arrays.cash,
        [compared],
    )
