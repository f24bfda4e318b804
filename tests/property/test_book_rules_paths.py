"""A book's rule tables laid on slots column by column (``book_slot_rules``) give what the
row-by-row reader's rules give laid on slots (``slot_rules``): the same slot rules and extra
slots, or the same error naming the same table, row and column.

The row-by-row reader is the one that names bad rows; the column path must never accept what
it refuses, nor lay out other rules from what it accepts.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trimtab.core.rules import SlotRules, slot_rules
from trimtab.errors import BookError
from trimtab.io.book import read_book
from trimtab.io.book_rules import book_slot_rules, read_book_rules

AS_OF = date(2026, 11, 23)
ACCOUNTS = {"A-1": 0, "A-2": 1, "A-3": 2}
SYMBOLS = {"AAPL": 0, "GOOG": 1, "GOOGL": 2, "MSFT": 3}
EXCLUSION = ["hold", "liquidate_immediately", "liquidate_as_needed"]
MEMBER = ["none", "buy_first", "do_not_sell", "do_not_buy", "do_not_trade"]
ENDS = [
    ("", ""),
    ("2026-11-30", "rebalance_immediately"),
    ("2026-11-20", "wait_for_weight_change"),
    ("2026-11-10", "rebalance_immediately"),
]
WEIGHTS = ["", "40", "30", "12.5"]
"""Model weights at the end: AAPL's and GOOG's in the model, and another."""
BAD = ["", "A-9", "ZZZ", "ban", "soon", "-5", "x", "2026-10-01"]


@st.composite
def _rows(draw: st.DrawFn, valid: st.SearchStrategy[list[str]]) -> tuple[str, ...]:
    """A valid row, or one time in eight the same row with one field made wrong."""
    row = draw(valid)
    if draw(st.integers(0, 7)) == 0:
        row[draw(st.integers(0, len(row) - 1))] = draw(st.sampled_from(BAD))
    return tuple(row)


@st.composite
def _restriction(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["exclusion", "substitution", "equivalents"]))
    account = draw(st.sampled_from(list(ACCOUNTS)))
    symbol = draw(st.sampled_from(list(SYMBOLS)))
    end, action = draw(st.sampled_from(ENDS))
    weight = draw(st.sampled_from(WEIGHTS)) if action == "wait_for_weight_change" else ""
    start = draw(st.sampled_from(["2026-01-02", "2026-11-01", "2026-12-01"]))
    if kind == "equivalents":
        group = draw(st.sampled_from(["g1", "g2", ""]))
        group_end = draw(st.sampled_from(["", "2026-11-23", "2026-11-22"]))
        behaviour = draw(st.sampled_from(MEMBER))
        return [account, group, kind, symbol, "", "", behaviour, start, group_end, "", ""]
    substitute = draw(st.sampled_from(list(SYMBOLS))) if kind == "substitution" else ""
    replacement = draw(st.sampled_from(["", "hold_cash", "reallocate"]))
    behaviour = draw(st.sampled_from(EXCLUSION))
    rid = draw(st.sampled_from(["r1", "r2", "r3", ""]))
    return [
        account,
        rid,
        kind,
        symbol,
        substitute,
        replacement,
        behaviour,
        start,
        end,
        action,
        weight,
    ]


@st.composite
def _lock(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["gain", "elective", "cost_basis_unlock", "trade_hold"]))
    symbol = "" if kind == "trade_hold" else draw(st.sampled_from(["", *SYMBOLS]))
    until = draw(st.sampled_from(["", "2026-12-01", "2026-11-20"])) if kind == "trade_hold" else ""
    return [draw(st.sampled_from(list(ACCOUNTS))), kind, symbol, until]


@st.composite
def _transaction(draw: st.DrawFn) -> list[str]:
    return [
        draw(st.sampled_from(list(ACCOUNTS))),
        draw(st.sampled_from(list(SYMBOLS))),
        draw(st.sampled_from(["buy", "sell"])),
        draw(st.sampled_from(["2026-11-10", "2026-10-30", "2026-06-01"])),
        draw(st.sampled_from(["10", "2.5"])),
        draw(st.sampled_from(["", "-40", "25.5"])),
    ]


def _csv(folder: Path, name: str, header: str, rows: list[tuple[str, ...]]) -> None:
    lines = [header, *(",".join(row) for row in rows)]
    (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


BOOK = {
    "prices": "symbol,price\nAAPL,100\nGOOG,50\nGOOGL,50\nMSFT,200",
    "models": "model_id,symbol,target_pct,min_pct,max_pct\nM,AAPL,40,35,45\nM,GOOG,30,25,35",
    "accounts": "account_id,model_id,cash,household_id,registration\n"
    "A-1,M,1000,H,non_qualified\nA-2,M,0,H,qualified\nA-3,M,0,,non_qualified",
    "positions": "account_id,symbol,quantity\nA-1,MSFT,5\nA-3,GOOGL,20\nA-2,AAPL,3",
}
"""Three accounts of model AAPL 40% / GOOG 30%; A-1 and A-2 share household H, A-3 is its
own. MSFT has a slot in A-1 only, GOOGL in A-3 only: rules on them elsewhere have no slot."""


def _laid(rules: SlotRules) -> dict[str, list[Any]]:
    res = rules.restrictions
    fields = ["behaviour", "replacement", "substitute", "lead", "member", "several"]
    out = {name: getattr(res, name).tolist() for name in fields}
    for name in ("elective", "gain_lock", "basis_unlocked", "wash_window", "wash_buy"):
        out[name] = getattr(rules, name).tolist()
    for name in ("short_term", "hold", "ruled", "method"):
        out[name] = getattr(rules, name).tolist()
    return out


def _outcome(folder: Path, by_columns: bool) -> object:
    loaded = read_book(folder)
    arrays = loaded.arrays
    try:
        if by_columns:
            rules, extra = book_slot_rules(folder, loaded, as_of=AS_OF)
        else:
            found = read_book_rules(
                folder,
                account_code=ACCOUNTS,
                symbol_code=SYMBOLS,
                as_of=AS_OF,
                household={"A-1": "H", "A-2": "H"},
                qualified=[False, True, False],
            )
            target = np.zeros(arrays.slot_symbol.shape)
            target[:, : arrays.model_width] = arrays.model_target[arrays.account_model]
            rules = slot_rules(arrays.slot_symbol, found.rules, AS_OF, target)
            extra = found.extra_slots
    except BookError as error:
        return ("error", str(error))
    return (_laid(rules), sorted(extra))


@settings(max_examples=300, deadline=None)
@given(
    restrictions=st.lists(_rows(_restriction()), max_size=6),
    locks=st.lists(_rows(_lock()), max_size=4),
    transactions=st.lists(_rows(_transaction()), max_size=4),
    windows=st.lists(
        st.tuples(st.sampled_from([*SYMBOLS, "ZZZ"]), st.sampled_from(["0", "5", "30", "-1"])),
        max_size=3,
    ),
)
@example(  # a group of two in force, a group of one, an exclusion whose weight moved
    restrictions=[
        ("A-1", "g1", "equivalents", "GOOG", "", "", "buy_first", "2026-01-02", "", "", ""),
        ("A-1", "g1", "equivalents", "AAPL", "", "", "none", "2026-01-02", "", "", ""),
        ("A-2", "", "equivalents", "GOOG", "", "", "do_not_sell", "2026-01-02", "", "", ""),
        (
            "A-3",
            "",
            "exclusion",
            "AAPL",
            "",
            "",
            "hold",
            "2026-01-02",
            "2026-11-20",
            "wait_for_weight_change",
            "12.5",
        ),
        (
            "A-3",
            "",
            "exclusion",
            "GOOG",
            "",
            "",
            "hold",
            "2026-01-02",
            "2026-11-20",
            "wait_for_weight_change",
            "30",
        ),
    ],
    locks=[],
    transactions=[],
    windows=[],
)
def test_column_path_equals_row_path(
    restrictions: list[tuple[str, ...]],
    locks: list[tuple[str, ...]],
    transactions: list[tuple[str, ...]],
    windows: list[tuple[str, str]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, text in BOOK.items():
            (folder / f"{name}.csv").write_text(text + "\n", encoding="utf-8")
        _csv(
            folder,
            "restrictions",
            "account_id,restriction_id,type,symbol,substitute,replacement,behaviour,"
            "start_date,end_date,end_action,weight_at_end_pct",
            restrictions,
        )
        _csv(folder, "locks", "account_id,type,symbol,until", locks)
        _csv(
            folder,
            "transactions",
            "account_id,symbol,action,date,quantity,realized_gain",
            transactions,
        )
        if windows:
            _csv(folder, "short_term_windows", "symbol,days", windows)
        assert _outcome(folder, by_columns=True) == _outcome(folder, by_columns=False)
