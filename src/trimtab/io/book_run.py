"""A book folder read for ``drift`` and ``propose-book``: the same steps on one machine and in
each partition of a cluster run (:mod:`trimtab.cluster`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import InputError
from trimtab.io.batch import BookRulesOn, book_rules, has_rules, with_book_classes
from trimtab.io.book import LoadedBook, has_sleeve_tables, read_book
from trimtab.io.household_book import group_households


@dataclass(frozen=True, slots=True)
class ProposalRun:
    """A book ready to propose for: accounts (households together when ``grouped``), its
    rules on ``as_of`` and the logic's options with the book's sub-asset classes."""

    loaded: LoadedBook
    method: Method
    options: TradeOptions
    rules: BookRulesOn | None


def drift_book_of(folder: Path, *, slots: int = 0) -> LoadedBook:
    """The book for ``trimtab drift`` (positions dropped once laid out)."""
    if has_sleeve_tables(folder):  # the sleeve reader (pydantic) only when needed
        from trimtab.io.book_sleeves import read_book_sleeves

        loaded, _ = read_book_sleeves(folder, keep_positions=False)
        return loaded
    return read_book(folder, keep_positions=False, slots=slots)


def groups_households(folder: Path, method: Method) -> bool:
    """Whether proposals keep each household's accounts together (household rebalance, and
    every logic under rules: wash sales look across the household)."""
    return method is Method.HOUSEHOLD_REBALANCE or has_rules(folder)


def proposal_run(
    folder: Path, method: Method, options: TradeOptions, as_of: date | None, *, slots: int = 0
) -> ProposalRun:
    """Read ``folder`` for ``propose-book``. Raises :class:`InputError` (a book with rule
    tables or tax lots needs ``as_of``)."""
    ruled = has_rules(folder)
    if ruled and as_of is None:
        raise InputError("--as-of", "required: the book has rule tables or tax lots")
    sleeves = None
    if has_sleeve_tables(folder):  # the sleeve reader (pydantic) only when needed
        from trimtab.io.book_sleeve_rules import check_sleeve_run
        from trimtab.io.book_sleeves import read_book_sleeves

        loaded, sleeves = read_book_sleeves(folder, keep_positions=False)
    else:
        loaded = read_book(folder, keep_positions=False, slots=slots)
    if sleeves is not None:  # protected shares are rules too
        check_sleeve_run(sleeves, household=method is Method.HOUSEHOLD_REBALANCE, as_of=as_of)
        ruled = ruled or bool(sleeves.protected)
    if method is Method.HOUSEHOLD_REBALANCE or ruled:
        # whole households per chunk (wash sales look across them): household order
        loaded = group_households(loaded)
    rules = None
    if ruled and as_of is not None:
        loaded, rules = book_rules(folder, loaded, as_of)
        if sleeves is not None:
            from trimtab.io.book_sleeve_rules import sleeve_rules

            rules = sleeve_rules(folder, loaded, sleeves, rules)
    return ProposalRun(loaded, method, with_book_classes(loaded, method, options), rules)
