"""The what-if over a firm's current book: every chosen logic over every account of the
newest imported book, proposed as a request would propose them.

The accounts are laid out as a request lays out its own (:func:`request_book`: the stored
rules in force on today's (Chicago) date, the book date's tax lots, the stored sleeves) and
each logic gets a request's options (:func:`request_options`: the service's minimum trade
size unless another is given), so a logic's figures here are those of a request for every
account. The comparison is :func:`trimtab.whatif.compare.compare_partition`, as for a book
folder. Nothing is stored: a viewer may run it. The accounts are compared a chunk of whole
households at a time, in this process or on a Dask cluster (:mod:`trimtab.cluster.whatif`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import select

from trimtab.core.drift import DriftResult
from trimtab.core.engine import Method, TradeOptions
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

if TYPE_CHECKING:
    from trimtab.cluster.evaluate import ClusterRun


@dataclass(frozen=True, slots=True)
class FirmWhatIf:
    """What each household chunk of a firm's what-if is compared with (sent as it is to a
    cluster's workers)."""

    firm_id: str
    logics: tuple[Method, ...]
    options: tuple[TradeOptions, ...]
    as_of: date
    trade_day: date
    rates: TaxRates


@dataclass(frozen=True, slots=True)
class ChunkFigures:
    """One chunk compared: its accounts (as laid out), each logic's run with the accounts'
    options, their cash, and the drift before with every run's figures."""

    account_ids: list[str]
    runs: list[Run]
    cash: npt.NDArray[np.float64]
    figures: tuple[DriftResult, list[AccountFigures]]


def compare_firm_book(
    uow: UnitOfWork,
    *,
    actor: str,
    logics: Sequence[Method],
    amounts: Mapping[str, float | None] | None = None,
    rates: TaxRates | None = None,
    now: datetime,
    cluster: ClusterRun | None = None,
    chunk_accounts: int | None = None,
) -> Comparison:
    """Every logic of ``logics`` over every account of the firm's newest book (accounts with
    a model or sleeves), with the request amounts (``cash_to_generate``, ``mccar_pct``,
    ``cash_to_invest``, ``min_trade_value``) each logic uses. Needs the viewer role.

    The accounts are compared in chunks of whole households (``chunk_accounts``, default
    :data:`CHUNK_ACCOUNTS`), each laid out alone as a request lays out its accounts: in this
    process, or each chunk on one of ``cluster``'s workers (which read the store
    themselves), with the same result.

    Raises :class:`~trimtab.errors.NotFoundError` when no book was imported, and
    :class:`~trimtab.errors.InputError` naming a bad amount.
    """
    require_role(uow, user_id=actor, role="viewer")
    rates = rates or TaxRates()
    given = {k: v for k, v in (amounts or {}).items() if v is not None}
    check_amounts(logics, given)
    options = [request_options(m, amounts_for(m, given))[0] for m in logics]  # checked first
    plan = FirmWhatIf(
        firm_id=uow.firm_id,
        logics=tuple(logics),
        options=tuple(options),
        as_of=latest_book_date(uow),
        trade_day=now.astimezone(CHICAGO).date(),
        rates=rates,
    )
    ids = uow.conn.execute(
        select(t.accounts.c.account_id, t.accounts.c.household_id)
        .where(t.accounts.c.firm_id == uow.firm_id)
        .order_by(t.accounts.c.account_id)
    ).all()
    chunks = _household_chunks(ids, chunk_accounts or CHUNK_ACCOUNTS)
    if cluster is None:
        done = [compare_chunk(uow, plan, chunk) for chunk in chunks]
    else:
        from trimtab.cluster.whatif import compare_on_cluster

        uow.commit()  # reads only: the workers read the store themselves
        done = compare_on_cluster(plan, chunks, cluster)
    parts = [d for d in done if d is not None]
    runs = parts[0].runs if parts else [Run(m, o) for m, o in zip(logics, options, strict=True)]
    return assemble(
        pa.array([a for p in parts for a in p.account_ids], pa.string()),
        runs,
        rates,
        np.concatenate([p.cash for p in parts]) if parts else np.zeros(0),
        [p.figures for p in parts],
    )


def compare_chunk(uow: UnitOfWork, plan: FirmWhatIf, chunk: list[str]) -> ChunkFigures | None:
    """The accounts of ``chunk`` (whole households) read from the store, laid out as a
    request lays them out, and compared (``None``: none of them has a target)."""
    inputs = request_inputs(uow, as_of=plan.as_of, account_ids=chunk, trade_day=plan.trade_day)
    if not inputs.account_ids:
        return None
    snap, book = lay_out_request(inputs)
    if book.sleeves is not None:
        household = Method.HOUSEHOLD_REBALANCE in plan.logics
        check_sleeve_run(book.sleeves, household=household, as_of=plan.trade_day)
    settings = inputs.account_rows()
    rows = [settings[a] for a in snap.account_ids]
    runs = [
        Run(m, _of_accounts(o, snap, book, rows))
        for m, o in zip(plan.logics, plan.options, strict=True)
    ]
    return ChunkFigures(
        list(snap.account_ids), runs, book.arrays.cash, _compare(book, runs, plan.rates)
    )


CHUNK_ACCOUNTS = 5000
"""Accounts proposed together (whole households): the store is read a chunk at a time."""


def _household_chunks(accounts: Sequence[Any], size: int) -> list[list[str]]:
    """The ids of ``accounts`` (rows of ``account_id`` and ``household_id``, by id) in
    chunks of whole households, of about ``size`` accounts; households in the order of
    their first account."""
    houses: dict[tuple[str, str], list[str]] = {}
    for account_id, household_id in accounts:
        key = ("household", household_id) if household_id else ("alone", account_id)
        houses.setdefault(key, []).append(account_id)
    chunks: list[list[str]] = [[]]
    for members in houses.values():
        if chunks[-1] and len(chunks[-1]) + len(members) > size:
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
