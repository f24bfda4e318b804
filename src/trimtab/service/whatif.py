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
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import select

from trimtab.core.drift import DriftResult
from trimtab.core.engine import Method
from trimtab.io.book_sleeve_rules import check_sleeve_run
from trimtab.pipeline import Partition
from trimtab.service.access import require_role
from trimtab.service.market import CHICAGO
from trimtab.service.proposing import RequestBook, lay_out_request, request_inputs
from trimtab.service.request_proposing import _of_accounts, request_options
from trimtab.service.snapshot import latest_book_date
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
from trimtab.whatif.figures import AccountFigures, TaxRates


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
    rates = rates or TaxRates()
    given = {k: v for k, v in (amounts or {}).items() if v is not None}
    check_amounts(logics, given)
    options = [request_options(m, amounts_for(m, given))[0] for m in logics]  # checked first
    as_of = latest_book_date(uow)
    accounts = {
        r.account_id: r
        for r in uow.conn.execute(
            select(t.accounts)
            .where(t.accounts.c.firm_id == uow.firm_id)
            .order_by(t.accounts.c.account_id)
        )
    }
    trade_day = now.astimezone(CHICAGO).date()
    ids: list[str] = []
    parts = []
    for chunk in _household_chunks(accounts):
        inputs = request_inputs(uow, as_of=as_of, account_ids=chunk, trade_day=trade_day)
        if not inputs.account_ids:
            continue
        snap, book = lay_out_request(inputs)
        if book.sleeves is not None:
            household = Method.HOUSEHOLD_REBALANCE in logics
            check_sleeve_run(book.sleeves, household=household, as_of=trade_day)
        settings = inputs.account_rows()
        rows = [settings[a] for a in snap.account_ids]
        runs = [
            Run(m, _of_accounts(o, snap, book, rows)) for m, o in zip(logics, options, strict=True)
        ]
        parts.append((runs, book.arrays.cash, _compare(book, runs, rates)))
        ids += snap.account_ids
    runs = parts[0][0] if parts else [Run(m, o) for m, o in zip(logics, options, strict=True)]
    cash = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    return assemble(pa.array(ids, pa.string()), runs, rates, cash, [p[2] for p in parts])


CHUNK_ACCOUNTS = 5000
"""Accounts proposed together (whole households): the store is read a chunk at a time."""


def _household_chunks(accounts: Mapping[str, Any]) -> list[list[str]]:
    """The ids of ``accounts`` (stored rows by id) in chunks of whole households, of about
    :data:`CHUNK_ACCOUNTS` accounts; households in the order of their first account."""
    houses: dict[tuple[str, str], list[str]] = {}
    for account_id, row in accounts.items():
        key = ("household", row.household_id) if row.household_id else ("alone", account_id)
        houses.setdefault(key, []).append(account_id)
    chunks: list[list[str]] = [[]]
    for members in houses.values():
        if chunks[-1] and len(chunks[-1]) + len(members) > CHUNK_ACCOUNTS:
            chunks.append([])
        chunks[-1].extend(members)
    return [c for c in chunks if c]


def _compare(
    book: RequestBook, runs: Sequence[Run], rates: TaxRates
) -> tuple[DriftResult, list[AccountFigures]]:
    """The runs over the accounts of ``book``, a new batch for each (rules prepared once)."""
    n = book.arrays.size
    part = book.partition
    base = part if part.rules is None else replace(part, rules=part.rules.prepared())

    def make(method: Method) -> Partition:
        return replace(base, batch=book.arrays.batch(0, n))

    return compare_partition(make, book.arrays.batch(0, n), runs, slice(0, n), rates)
