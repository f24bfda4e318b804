"""A book's sleeves on its rules (docs/rules.md, "Book tables"): protected shares on
``SlotRules.protected``, APM lines on ``SlotRules.apm`` with their security's rules laid
on them too, and each slot's security for the wash-sale checks (an APM twin is its
security).

The rules of an account with APM lines are those of ``read_book_rules`` (its rows of the
rule tables, its household's past trades) with each security's rules laid on its twin by
the scenario's :func:`~trimtab.io.sleeves.twin_rules`: what ``trimtab propose`` does for
the account alone. Lots, holds and lot methods stay as the book laid them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.core.rules import SlotRules, slot_rules
from trimtab.errors import InputError
from trimtab.io.batch import BookRulesOn
from trimtab.io.book import LoadedBook
from trimtab.io.book_rules import (
    RULE_SCHEMAS,
    RuleSource,
    qualified_accounts,
    read_book_rules,
    rule_table,
)
from trimtab.io.book_sleeves import BookSleeves
from trimtab.io.sleeves import twin_rules

Codes = npt.NDArray[np.int32]


def check_sleeve_run(sleeves: BookSleeves, *, household: bool, as_of: date | None) -> None:
    """Protected shares are rules (``--as-of``, as a scenario's ``as_of``); household
    rebalancing takes no APM sleeves (a household scenario takes protected sleeves only)."""
    if sleeves.protected and as_of is None:
        raise InputError("--as-of", "required: the book has protected shares (sleeve_positions)")
    if household and sleeves.twin_of.size:
        raise InputError(
            "--logic", "household_rebalance takes no apm sleeves (sleeves): propose them alone"
        )


def sleeve_rules(
    folder: RuleSource,
    loaded: LoadedBook,
    sleeves: BookSleeves,
    on: BookRulesOn,
    *,
    mates: Mapping[str, str] | None = None,
) -> BookRulesOn:
    """``on`` with the book's sleeves: protected shares, APM lines and their rules, and the
    security of each symbol code for the wash-sale checks.

    ``folder`` is the book folder, or its rule tables already read (the service's stored
    ones); ``loaded.tables["accounts"]`` gives households and registrations. ``mates``:
    accounts outside ``loaded`` whose past trades count for its households (account id ->
    household id), as the service proposes some accounts of a household."""
    a = loaded.arrays
    rules = on.rules
    apm = a.slot_symbol >= sleeves.first_twin
    rows = np.flatnonzero(apm.any(axis=1))
    if rows.size:
        rules = _apm_rules(folder, loaded, sleeves, rules, rows, on.as_of, mates or {})
    ruled = rules.ruled
    protected = None
    if sleeves.protected:
        code = {x: i for i, x in enumerate(loaded.account_ids.to_pylist())}
        account = np.array([code[x] for x, _, _ in sleeves.protected], dtype=np.int32)
        symbol = np.array([s for _, s, _ in sleeves.protected], dtype=np.int32)
        slot = a.slots_of(account, symbol)
        protected = np.zeros(a.slot_symbol.shape)
        protected[account, slot] = [q for _, _, q in sleeves.protected]
        ruled = ruled.copy()
        ruled[account] = True  # a scenario with a protected sleeve has rules
    return replace(
        on,
        rules=replace(rules, protected=protected, apm=apm if rows.size else None, ruled=ruled),
        security=sleeves.security,
    )


_MASKS = ("elective", "gain_lock", "basis_unlocked", "wash_window", "wash_buy", "short_term")
_RESTRICTIONS = ("behaviour", "replacement", "substitute", "lead", "member", "several")


def _apm_rules(
    folder: RuleSource,
    loaded: LoadedBook,
    sleeves: BookSleeves,
    rules: SlotRules,
    rows: npt.NDArray[np.intp],
    as_of: date,
    mates: Mapping[str, str],
) -> SlotRules:
    """``rules`` with the accounts ``rows`` (those with APM lines) laid again from their
    rows of the rule tables, each security's rules on its twin too."""
    ids = loaded.account_ids.to_pylist()
    account_code = {x: i for i, x in enumerate([*ids, *(m for m in mates if m not in ids)])}
    symbol_code = {s: i for i, s in enumerate(loaded.symbols[: sleeves.first_twin])}
    accounts = loaded.tables["accounts"]
    house: dict[str, str] = {}
    if "household_id" in accounts.column_names:
        named = accounts.column("household_id").to_pylist()
        house = {x: h for x, h in zip(ids, named, strict=True) if h is not None}
    house |= {x: h for x, h in mates.items() if x not in house}
    mine = {ids[r] for r in rows.tolist()}
    houses = {house.get(x, x) for x in mine}
    tables: dict[str, tuple[str, pa.Table]] = {}
    for name in RULE_SCHEMAS:
        label, table = rule_table(folder, name)
        if table is None or name == "specific_lots":
            continue
        if name in ("restrictions", "locks"):
            table = table.filter(pc.is_in(_text(table, "account_id"), pa.array(sorted(mine))))
        elif name == "transactions":
            of = [house.get(x, x) in houses for x in _text(table, "account_id").to_pylist()]
            table = table.filter(pa.array(of, pa.bool_()))
        tables[name] = (label, table)
    found = read_book_rules(
        tables,
        account_code=account_code,
        symbol_code=symbol_code,
        as_of=as_of,
        household=house or None,
        qualified=qualified_accounts(accounts).tolist() + [False] * (len(account_code) - len(ids)),
    )
    twin = {int(c): sleeves.first_twin + i for i, c in enumerate(sleeves.twin_of.tolist())}
    a = loaded.arrays
    target = np.zeros((rows.size, a.slot_symbol.shape[1]))
    target[:, : a.model_width] = a.model_target[a.account_model[rows]]
    mine_rules = [
        None if found.rules[r] is None else twin_rules(found.rules[r], twin) for r in rows.tolist()
    ]
    laid = slot_rules(a.slot_symbol[rows], mine_rules, as_of, target)
    masks = {}
    for name in _MASKS:
        whole = getattr(rules, name).copy()
        whole[rows] = getattr(laid, name)
        masks[name] = whole
    restricted = {}
    for name in _RESTRICTIONS:
        whole = getattr(rules.restrictions, name).copy()
        whole[rows] = getattr(laid.restrictions, name)
        restricted[name] = whole
    return replace(
        rules,
        restrictions=replace(rules.restrictions, excluded=None, members=None, **restricted),
        **masks,
    )


def _text(table: pa.Table, name: str) -> pa.ChunkedArray:
    column = table.column(name)
    return column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column
