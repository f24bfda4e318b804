"""A book's rule tables read column by column give what the row-by-row reader gives: the
same account rules and extra slots, or the same error naming the same table, row and column.

The row-by-row reader is the one that names bad rows; the column path must never accept what
it refuses, nor build other rules from what it accepts.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trimtab.errors import BookError
from trimtab.io.book_rules import _read_by_rows, read_book_rules

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
    start = draw(st.sampled_from(["2026-01-02", "2026-11-01"]))
    if kind == "equivalents":
        group = draw(st.sampled_from(["g1", "g2"]))
        return [account, group, kind, symbol, "", "", draw(st.sampled_from(MEMBER)), start, "", ""]
    substitute = draw(st.sampled_from(list(SYMBOLS))) if kind == "substitution" else ""
    replacement = draw(st.sampled_from(["", "hold_cash", "reallocate"]))
    behaviour = draw(st.sampled_from(EXCLUSION))
    rid = draw(st.sampled_from(["r1", "r2", "r3", ""]))
    return [account, rid, kind, symbol, substitute, replacement, behaviour, start, end, action]


@st.composite
def _lock(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["gain", "elective", "cost_basis_unlock", "trade_hold"]))
    symbol = "" if kind == "trade_hold" else draw(st.sampled_from(["", *SYMBOLS]))
    until = draw(st.sampled_from(["", "2026-12-01"])) if kind == "trade_hold" else ""
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


def _outcome(read: Any, folder: Path) -> object:
    try:
        found = read(
            folder,
            account_code=ACCOUNTS,
            symbol_code=SYMBOLS,
            as_of=AS_OF,
            household={"A-1": "H", "A-2": "H", "A-3": "K"},
            qualified=[False, True, False],
            lots=None,
            lot_method=None,
        )
    except BookError as error:
        return ("error", str(error))
    return (found.rules, sorted(found.extra_slots))


@settings(max_examples=200, deadline=None)
@given(
    restrictions=st.lists(_rows(_restriction()), max_size=6),
    locks=st.lists(_rows(_lock()), max_size=4),
    transactions=st.lists(_rows(_transaction()), max_size=4),
)
def test_column_path_equals_row_path(
    restrictions: list[tuple[str, ...]],
    locks: list[tuple[str, ...]],
    transactions: list[tuple[str, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _csv(
            folder,
            "restrictions",
            "account_id,restriction_id,type,symbol,substitute,replacement,behaviour,"
            "start_date,end_date,end_action",
            restrictions,
        )
        _csv(folder, "locks", "account_id,type,symbol,until", locks)
        _csv(
            folder,
            "transactions",
            "account_id,symbol,action,date,quantity,realized_gain",
            transactions,
        )
        assert _outcome(read_book_rules, folder) == _outcome(_read_by_rows, folder)
