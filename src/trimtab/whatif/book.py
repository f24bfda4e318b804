"""``compare-book``: every chosen logic over every account of a book folder, chunk by chunk.

The book is read and laid out as ``propose-book`` does it
(:func:`~trimtab.io.book_run.load_for_proposing`), cut into the same chunks
(:func:`~trimtab.io.batch.chunk_spans`) and each chunk's partition made the same way
(:func:`~trimtab.io.batch.chunk_partition`): a logic's figures here are those of its
``propose-book`` output. A chunk's rules are prepared once and serve every logic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from trimtab.core.book import map_chunks
from trimtab.core.drift import DriftResult
from trimtab.core.engine import Method
from trimtab.io.batch import (
    BookRulesOn,
    batch_options,
    chunk_partition,
    chunk_spans,
    with_book_classes,
)
from trimtab.io.book import LoadedBook
from trimtab.pipeline import Partition
from trimtab.whatif.compare import Comparison, Run, amounts_for, assemble, compare_partition
from trimtab.whatif.figures import AccountFigures, TaxRates


def book_runs(
    logics: Sequence[Method],
    *,
    rounding: str,
    share_decimals: int,
    amounts: Mapping[str, float | None],
) -> list[Run]:
    """Each logic with its options as ``propose-book --logic`` takes them, given the amounts
    it uses of ``amounts`` (``cash_to_generate``, ``mccar_pct``, ``cash_to_invest``,
    ``min_trade_value``); raises :class:`~trimtab.errors.InputError` naming a bad one."""
    runs = []
    for method in logics:
        given = amounts_for(method, amounts)
        _, options = batch_options(
            method=method.value,
            rounding=rounding,
            share_decimals=share_decimals,
            cash_to_generate=given.get("cash_to_generate"),
            mccar_pct=given.get("mccar_pct"),
            cash_to_invest=given.get("cash_to_invest"),
            min_trade_value=given.get("min_trade_value") or 0.0,
        )
        runs.append(Run(method, options))
    return runs


def compare_book(
    loaded: LoadedBook,
    runs: Sequence[Run],
    *,
    rules: BookRulesOn | None = None,
    rates: TaxRates | None = None,
    workers: int = 2,
) -> Comparison:
    """Every run over every account of ``loaded`` (laid out by
    :func:`~trimtab.io.book_run.load_for_proposing` for the runs' logics, with ``rules``)."""
    rates = rates or TaxRates()
    runs = [Run(r.method, with_book_classes(loaded, r.method, r.options)) for r in runs]
    size, spans = chunk_spans(loaded, [r.method for r in runs], rules)
    work = partial(_chunk, loaded, runs, rules, rates)
    parts = [
        part
        for _, _, part in map_chunks(loaded.arrays, work, workers=workers, size=size, spans=spans)
    ]
    return assemble(loaded.account_ids, runs, rates, loaded.arrays.cash, parts)


def _chunk(
    loaded: LoadedBook,
    runs: Sequence[Run],
    rules: BookRulesOn | None,
    rates: TaxRates,
    start: int,
    stop: int,
) -> tuple[DriftResult, list[AccountFigures]]:
    # households and rules (prepared once) as propose-book lays them for household rebalance
    base = chunk_partition(loaded, Method.HOUSEHOLD_REBALANCE, rules, start, stop)

    def make(method: Method) -> Partition:
        by_household = rules is not None or method is Method.HOUSEHOLD_REBALANCE
        return replace(
            base,
            batch=loaded.arrays.batch(start, stop),
            household=base.household if by_household else None,
        )

    return compare_partition(
        make, loaded.arrays.batch(start, stop), runs, slice(start, stop), rates
    )
