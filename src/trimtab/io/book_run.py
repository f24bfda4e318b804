"""A book folder read and laid out for proposing: what ``propose-book`` and ``compare-book``
do before their first proposal.

The book is read (with its sleeve tables when it has any), its households put together when
a logic plans by household or rules look across households (wash sales), and its rule tables
and tax lots laid on its slots on ``as_of``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from pathlib import Path

from trimtab.core.engine import Method
from trimtab.errors import InputError
from trimtab.io.batch import BookRulesOn, book_rules, has_rules
from trimtab.io.book import LoadedBook, has_sleeve_tables, read_book
from trimtab.io.household_book import group_households


def parse_as_of(text: str | None) -> date | None:
    """``--as-of`` as a date (``None`` when not given)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("--as-of", f"not a date (YYYY-MM-DD): {text!r}") from None


def load_for_proposing(
    folder: Path, methods: Collection[Method], as_of: date | None
) -> tuple[LoadedBook, BookRulesOn | None]:
    """The book of ``folder`` ready for proposing by every logic of ``methods``, and its rules
    on ``as_of`` (``None`` for a book without rule tables, lots or protected shares).

    Raises :class:`InputError` naming ``--as-of`` when the book has rules and no date is given,
    and the table, row and column of a bad book row.
    """
    ruled = has_rules(folder)
    if ruled and as_of is None:
        raise InputError("--as-of", "required: the book has rule tables or tax lots")
    household = Method.HOUSEHOLD_REBALANCE in methods
    sleeves = None
    if has_sleeve_tables(folder):  # the sleeve reader (pydantic) only when needed
        from trimtab.io.book_sleeve_rules import check_sleeve_run
        from trimtab.io.book_sleeves import read_book_sleeves

        loaded, sleeves = read_book_sleeves(folder, keep_positions=False)
        if sleeves is not None:  # protected shares are rules too
            check_sleeve_run(sleeves, household=household, as_of=as_of)
            ruled = ruled or bool(sleeves.protected)
    else:
        loaded = read_book(folder, keep_positions=False)
    if household or ruled:
        # whole households per chunk (wash sales look across them): household order
        loaded = group_households(loaded)
    rules = None
    if ruled and as_of is not None:
        loaded, rules = book_rules(folder, loaded, as_of)
        if sleeves is not None:
            from trimtab.io.book_sleeve_rules import sleeve_rules

            rules = sleeve_rules(folder, loaded, sleeves, rules)
    return loaded, rules
