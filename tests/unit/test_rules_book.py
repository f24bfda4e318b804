"""The rule tables of a book folder: read into per-account rules, errors naming row and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from trimtab.core.lots import Lot
from trimtab.core.restrictions import Behaviour, MemberBehaviour
from trimtab.errors import BookError
from trimtab.io.book_rules import read_book_rules

AS_OF = date(2026, 11, 23)
ACCOUNTS = {"A-1": 0, "A-2": 1, "A-3": 2}
SYMBOLS = {"AAPL": 0, "GOOG": 1, "GOOGL": 2, "MSFT": 3}


def write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")


def read(folder: Path, **more: object) -> object:
    return read_book_rules(
        folder,
        account_code=ACCOUNTS,
        symbol_code=SYMBOLS,
        as_of=AS_OF,
        household={"A-1": "H", "A-2": "H", "A-3": "K"},
        **more,  # type: ignore[arg-type]
    )


def test_reads_restrictions_locks_transactions(tmp_path: Path) -> None:
    write(
        tmp_path,
        "restrictions",
        """
account_id,restriction_id,type,symbol,substitute,behaviour,start_date
A-1,r1,substitution,AAPL,GOOG,liquidate_immediately,2026-11-01
A-1,g1,equivalents,GOOG,,none,
A-1,g1,equivalents,GOOGL,,buy_first,
""",
    )
    write(tmp_path, "locks", "account_id,type,symbol,until\nA-2,elective,MSFT,\nA-3,trade_hold,,\n")
    write(
        tmp_path,
        "transactions",
        """
account_id,symbol,action,date,quantity,realized_gain
A-2,MSFT,sell,2026-11-10,5,-40
""",
    )
    lots = {1: {3: [Lot(10, 900.0, date(2025, 1, 2))]}}
    got = read(tmp_path, lots=lots, qualified=[False, True, False])
    rules = got.rules  # type: ignore[attr-defined]
    a1, a2, a3 = rules
    assert a1.exclusions[0].behaviour == Behaviour.LIQUIDATE_NOW
    assert a1.exclusions[0].substitute == SYMBOLS["GOOG"]
    assert a1.groups[0].behaviours == (MemberBehaviour.NONE, MemberBehaviour.BUY_FIRST)
    assert a2.elective_locks == frozenset({3})
    assert a2.qualified
    assert a2.lots[3][0].cost_basis == 900.0
    # The loss sale in A-2 blocks buys of MSFT across household H, A-1 included.
    assert a1.wash_buy_blocked(AS_OF) == frozenset({3})
    assert a3.on_hold
    assert a3.wash_buy_blocked(AS_OF) == frozenset()
    assert got.extra_slots == [(0, 1), (0, 2)]  # type: ignore[attr-defined]


def test_no_tables_no_rules(tmp_path: Path) -> None:
    got = read(tmp_path)
    assert got.rules == [None, None, None]  # type: ignore[attr-defined]


def test_conflict_names_row_and_column(tmp_path: Path) -> None:
    write(
        tmp_path,
        "restrictions",
        """
account_id,type,symbol,behaviour,start_date
A-1,exclusion,AAPL,hold,2026-11-01
A-1,exclusion,AAPL,liquidate_immediately,2026-11-01
""",
    )
    with pytest.raises(BookError) as err:
        read(tmp_path)
    assert str(err.value).startswith(
        "restrictions.csv row 2 column symbol: 'AAPL' is already in restrictions[0]"
    )


def test_end_date_before_start(tmp_path: Path) -> None:
    write(
        tmp_path,
        "restrictions",
        """
account_id,type,symbol,behaviour,start_date,end_date,end_action
A-2,exclusion,AAPL,hold,2026-11-01,2026-10-01,rebalance_immediately
""",
    )
    with pytest.raises(BookError) as err:
        read(tmp_path)
    assert str(err.value) == (
        "restrictions.csv row 1 column end_date: must be after start_date 2026-11-01, "
        "got 2026-10-01"
    )


def test_unknown_account_and_bad_behaviour(tmp_path: Path) -> None:
    write(tmp_path, "locks", "account_id,type,symbol\nZ-9,elective,AAPL\n")
    with pytest.raises(BookError, match=r"locks.csv row 1 column account_id: unknown account"):
        read(tmp_path)
    write(tmp_path, "locks", "account_id,type,symbol\nA-1,sometimes,AAPL\n")
    with pytest.raises(BookError, match=r"locks.csv row 1 column type"):
        read(tmp_path)


def test_group_of_21(tmp_path: Path) -> None:
    rows = "\n".join("A-1,g,equivalents,AAPL,none," for _ in range(21))
    write(
        tmp_path,
        "restrictions",
        "account_id,restriction_id,type,symbol,behaviour,start_date\n" + rows,
    )
    with pytest.raises(BookError, match="must have 1 to 20 members, got 21"):
        read(tmp_path)
