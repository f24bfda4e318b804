"""A book folder read and laid out for proposing: what ``drift``, ``propose-book`` and
``compare-book`` do before their first proposal, the same on one machine and in each
partition of a cluster run (:mod:`trimtab.cluster`).

The book is read (with its sleeve tables when it has any), its households put together when
a logic plans by household or rules look across households (wash sales), and its rule tables
and tax lots laid on its slots on ``as_of``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import InputError
from trimtab.io.batch import BookRulesOn, book_rules, has_rules, with_book_classes
from trimtab.io.book import LoadedBook, has_sleeve_tables, read_book, twin_start
from trimtab.io.household_book import group_households


def parse_as_of(text: str | None) -> date | None:
    """``--as-of`` as a date (``None`` when not given)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("--as-of", f"not a date (YYYY-MM-DD): {text!r}") from None


@dataclass(frozen=True, slots=True)
class Layout:
    """How a part of a book (a cluster partition) is laid out so that its arrays are the
    whole book's rows: at least ``slots`` slots per account; with sleeve tables, model
    lines ``width`` wide, a twin code for each security of ``apm`` (sorted), and every
    account proposed under rules when ``protected`` (protected shares anywhere in the book
    make it rule-aware). The default lays a book out as it needs alone."""

    slots: int = 0
    width: int = 0
    apm: tuple[str, ...] = ()
    protected: bool = False

    def widest(self, other: Layout) -> Layout:
        """The layout wide enough for both."""
        return Layout(
            max(self.slots, other.slots),
            max(self.width, other.width),
            tuple(sorted(set(self.apm) | set(other.apm))),
            self.protected or other.protected,
        )


def layout_of(loaded: LoadedBook, protected: bool) -> Layout:
    """The layout ``loaded`` was laid out with (``protected``: its accounts hold protected
    shares, or were proposed as if)."""
    twins = twin_start(loaded.symbols)
    return Layout(
        slots=int(loaded.arrays.slot_symbol.shape[1]),
        width=loaded.arrays.model_width,
        apm=tuple(loaded.symbols[twins:]) if twins is not None else (),
        protected=protected,
    )


def drift_book_of(folder: Path, *, layout: Layout | None = None) -> LoadedBook:
    """The book for ``trimtab drift`` (positions dropped once laid out)."""
    at = layout or Layout()
    if has_sleeve_tables(folder):  # the sleeve reader (pydantic) only when needed
        from trimtab.io.book_sleeves import read_book_sleeves

        loaded, _ = read_book_sleeves(
            folder, keep_positions=False, slots=at.slots, width=at.width, apm=at.apm
        )
        return loaded
    return read_book(folder, keep_positions=False, slots=at.slots)


def groups_households(folder: Path, methods: Collection[Method]) -> bool:
    """Whether the book is proposed for ``methods`` in household order, each household's
    accounts together (household rebalance among them, or rules: wash sales look across
    the household; protected shares are rules), as :func:`load_for_proposing` lays it out."""
    return Method.HOUSEHOLD_REBALANCE in methods or has_rules(folder) or has_protected(folder)


def has_protected(folder: Path) -> bool:
    """Whether the book (or, inside :func:`~trimtab.io.book_subset.only_accounts`, its
    accounts read) has protected shares."""
    if not has_sleeve_tables(folder):
        return False
    from trimtab.io.book_sleeves import has_protected_shares

    return has_protected_shares(folder)


def load_for_proposing(
    folder: Path,
    methods: Collection[Method],
    as_of: date | None,
    *,
    layout: Layout | None = None,
) -> tuple[LoadedBook, BookRulesOn | None]:
    """The book of ``folder`` ready for proposing by every logic of ``methods``, and its rules
    on ``as_of`` (``None`` for a book without rule tables, lots or protected shares);
    ``layout`` lays a cluster partition out as its whole book is.

    Raises :class:`InputError` naming ``--as-of`` when the book has rules and no date is given,
    and the table, row and column of a bad book row.
    """
    at = layout or Layout()
    ruled = has_rules(folder)
    if ruled and as_of is None:
        raise InputError("--as-of", "required: the book has rule tables or tax lots")
    household = Method.HOUSEHOLD_REBALANCE in methods
    sleeves = None
    if has_sleeve_tables(folder):  # the sleeve reader (pydantic) only when needed
        from trimtab.io.book_sleeve_rules import check_sleeve_run
        from trimtab.io.book_sleeves import read_book_sleeves

        loaded, sleeves = read_book_sleeves(
            folder, keep_positions=False, slots=at.slots, width=at.width, apm=at.apm
        )
        if sleeves is not None:  # protected shares are rules too
            check_sleeve_run(sleeves, household=household, as_of=as_of)
            ruled = ruled or bool(sleeves.protected) or at.protected
    else:
        loaded = read_book(folder, keep_positions=False, slots=at.slots)
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


@dataclass(frozen=True, slots=True)
class ProposalRun:
    """A book ready to propose for by one logic: accounts (households together when
    grouped), its rules on ``as_of`` and the logic's options with the book's sub-asset
    classes."""

    loaded: LoadedBook
    method: Method
    options: TradeOptions
    rules: BookRulesOn | None


def proposal_run(
    folder: Path,
    method: Method,
    options: TradeOptions,
    as_of: date | None,
    *,
    layout: Layout | None = None,
) -> ProposalRun:
    """Read ``folder`` for ``propose-book`` by ``method`` (:func:`load_for_proposing`)."""
    loaded, rules = load_for_proposing(folder, [method], as_of, layout=layout)
    return ProposalRun(loaded, method, with_book_classes(loaded, method, options), rules)
