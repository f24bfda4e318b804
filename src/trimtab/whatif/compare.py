"""Every chosen trade logic over the same accounts, through the one proposing pipeline.

:func:`compare_partition` is the comparison itself: for each logic it takes a fresh
partition of the accounts (:class:`~trimtab.pipeline.Partition`), proposes with
:func:`~trimtab.pipeline.propose_partition` exactly as ``propose-book`` and a request do, and
keeps each account's figures (:mod:`trimtab.whatif.figures`). A book folder runs it chunk by
chunk (:mod:`trimtab.whatif.book`), the service once over a firm's current book
(:mod:`trimtab.service.whatif`); :func:`assemble` puts the parts together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trimtab.core.batch import AccountBatch, Dollars, Fractions
from trimtab.core.drift import DriftResult, drift
from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import InputError
from trimtab.options import USES, parse_method
from trimtab.pipeline import Partition, propose_partition
from trimtab.whatif.figures import AccountFigures, Counts, TaxRates, account_figures, concat_figures

V = TypeVar("V")

NEED_AMOUNT = (Method.GENERATE_CASH, Method.WITHDRAWAL)
"""Logics that need an amount to raise: compared by default only when one is given."""


@dataclass(frozen=True, slots=True)
class Run:
    """A logic and its options for the whole set of accounts compared."""

    method: Method
    options: TradeOptions


def chosen_logics(text: str | None, amounts: Mapping[str, float | None]) -> tuple[Method, ...]:
    """The logics of ``text`` (names separated by commas), in that order; ``None``: every
    logic, those of :data:`NEED_AMOUNT` only when ``cash_to_generate`` or ``mccar_pct`` is
    among ``amounts``. Raises :class:`InputError` naming ``logics``."""
    if text is None:
        raising = amounts.get("cash_to_generate") is not None or bool(amounts.get("mccar_pct"))
        return tuple(m for m in Method if raising or m not in NEED_AMOUNT)
    names = [n.strip() for n in text.split(",")]
    if not any(names) or not all(names):
        raise InputError("logics", f"give logic names separated by commas, got {text!r}")
    logics = tuple(parse_method(n, field="logics") for n in names)
    twice = sorted({m.value for m in logics if logics.count(m) > 1})
    if twice:
        raise InputError("logics", f"{twice[0]!r} is given twice")
    return logics


def check_amounts(logics: Sequence[Method], amounts: Mapping[str, float | None]) -> None:
    """Refuse an amount that none of ``logics`` uses (:class:`InputError` naming it)."""
    for name, users in USES.items():
        if amounts.get(name) is not None and not any(m in users for m in logics):
            used = ", ".join(sorted(m.value for m in users))
            raise InputError(name, f"not used by any logic compared (only by {used})")


def amounts_for(method: Method, amounts: Mapping[str, V]) -> dict[str, V]:
    """Those of ``amounts`` that ``method`` uses (cash to invest only for the logics that
    invest, say); options every logic takes (the minimum trade size) are kept."""
    return {k: v for k, v in amounts.items() if k not in USES or method in USES[k]}


def compare_partition(
    make: Callable[[Method], Partition],
    before: AccountBatch,
    runs: Sequence[Run],
    rows: slice,
    rates: TaxRates,
) -> tuple[DriftResult, list[AccountFigures]]:
    """Drift of the accounts ``before`` (rows ``rows`` of what the runs' options are for) and
    the figures of every run's proposals; ``make(method)`` gives a new partition of them for
    each (the pipeline may overwrite its batch)."""
    figures = []
    for run in runs:
        part = make(run.method)
        done = propose_partition(part, run.method, run.options.take(rows))
        figures.append(account_figures(before, part, done, rates))
    return drift(before), figures


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every logic of ``logics`` over the same ``N`` accounts.

    Attributes:
        account_ids: account id of each account, (N,).
        logics: the logics compared, in the order given.
        value: account value before the trades, dollars, (N,).
        max_drift_before: largest drift before, fraction, (N,).
        out_of_band_before: securities outside their band before, (N,).
        cash_before: dollars, (N,).
        figures: each logic's :class:`AccountFigures`, in ``logics`` order.
        rates: the tax rates of the estimated tax.
    """

    account_ids: pa.Array
    logics: tuple[Method, ...]
    value: Dollars
    max_drift_before: Fractions
    out_of_band_before: Counts
    cash_before: Dollars
    figures: tuple[AccountFigures, ...]
    rates: TaxRates

    @property
    def size(self) -> int:
        return int(self.value.shape[0])


def assemble(
    account_ids: pa.Array,
    runs: Sequence[Run],
    rates: TaxRates,
    cash: Dollars,
    parts: Sequence[tuple[DriftResult, list[AccountFigures]]],
) -> Comparison:
    """One :class:`Comparison` of the parts :func:`compare_partition` gave for consecutive
    accounts (``account_ids`` and their ``cash`` before, in the same order)."""
    drifts = [d for d, _ in parts]
    return Comparison(
        account_ids=account_ids,
        logics=tuple(r.method for r in runs),
        value=np.concatenate([d.value for d in drifts]) if drifts else np.zeros(0),
        max_drift_before=np.concatenate([d.max_drift for d in drifts]) if drifts else np.zeros(0),
        out_of_band_before=(
            np.concatenate([d.out_of_band for d in drifts]) if drifts else np.zeros(0, np.int32)
        ),
        cash_before=np.round(cash, 2),
        figures=tuple(concat_figures([f[i] for _, f in parts]) for i in range(len(runs))),
        rates=rates,
    )


def comparison_table(c: Comparison) -> pa.Table:
    """The per-account numbers of ``c`` as one Arrow table, exactly (float64 as it is): the
    account, the book before (``value``, ``max_drift_before``, ``out_of_band_before``,
    ``cash_before``), then each logic's :class:`AccountFigures`, its columns named
    ``N:field`` with N the logic's place in ``c.logics``. What a cluster partition of
    ``compare-book`` hands back (:mod:`trimtab.cluster.tasks`); :func:`joined` reads it."""
    columns: dict[str, Any] = {
        "account_id": c.account_ids,
        "value": c.value,
        "max_drift_before": c.max_drift_before,
        "out_of_band_before": c.out_of_band_before,
        "cash_before": c.cash_before,
    }
    for i, f in enumerate(c.figures):
        columns |= {f"{i}:{x.name}": getattr(f, x.name) for x in fields(f)}
    return pa.table(columns)


def joined(tables: Sequence[pa.Table], logics: Sequence[Method], rates: TaxRates) -> Comparison:
    """One :class:`Comparison` of ``logics`` from the :func:`comparison_table` of
    consecutive groups of accounts, in order."""
    table = pa.concat_tables(tables)

    def values(name: str) -> npt.NDArray[Any]:
        out: npt.NDArray[Any] = table.column(name).to_numpy()
        return out

    return Comparison(
        account_ids=table.column("account_id").combine_chunks(),
        logics=tuple(logics),
        value=values("value"),
        max_drift_before=values("max_drift_before"),
        out_of_band_before=values("out_of_band_before"),
        cash_before=values("cash_before"),
        figures=tuple(
            AccountFigures(**{x.name: values(f"{i}:{x.name}") for x in fields(AccountFigures)})
            for i in range(len(logics))
        ),
        rates=rates,
    )
