"""The rule tables of a book folder: read into per-account rules, errors naming row and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from trimtab.core.lots import Lot, LotMethod
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


def test_lot_method_per_account(tmp_path: Path) -> None:
    lots = {c: {3: [Lot(10, 900.0, date(2025, 1, 2), "L1")]} for c in range(3)}
    got = read(tmp_path, lots=lots, lot_method=["fifo", "lifo", "minimum_tax"])
    methods = [r.lot_method for r in got.rules]  # type: ignore[attr-defined]
    assert methods == [LotMethod.FIFO, LotMethod.LIFO, LotMethod.MINIMUM_TAX]


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


def test_book_lots_laid_on_slots_equal_per_account_lots() -> None:
    """Two accounts, model A/B, account 1 also holds C: lots given as flat book arrays give
    the same sell limits and reliefs as lots given per account."""
    import numpy as np

    from trimtab.core.book import assemble_book
    from trimtab.core.engine import Method, propose
    from trimtab.core.lots import in_relief_order, lots_on_slots
    from trimtab.core.rules import AccountRules, apply_slot_rules, realize, slot_rules

    book = assemble_book(
        price=np.array([10.0, 20.0, 30.0]),
        model_symbol=np.array([[0, 1]], dtype=np.int32),
        model_target=np.array([[0.5, 0.5]]),
        model_lower=np.array([[0.5, 0.5]]),
        model_upper=np.array([[0.5, 0.5]]),
        model_cash=np.array([0.0]),
        account_model=np.zeros(2, dtype=np.int32),
        cash=np.array([0.0, 0.0]),
        position_account=np.array([0, 0, 1, 1], dtype=np.int32),
        position_symbol=np.array([0, 1, 0, 2], dtype=np.int32),
        position_quantity=np.array([300.0, 20.0, 100.0, 50.0]),
    )
    flat = [  # account, symbol, shares, basis, acquired
        (0, 0, 200.0, 1000.0, date(2024, 1, 2)),
        (0, 0, 100.0, np.nan, date(2025, 1, 2)),
        (1, 2, 30.0, 1200.0, date(2026, 9, 1)),
        (1, 2, 20.0, 400.0, date(2023, 9, 1)),
        (1, 0, 100.0, 2000.0, date(2022, 9, 1)),
    ]
    per_account = [
        AccountRules(
            account=f"A-{a}",
            gain_lock=a == 1,
            lots={
                s: tuple(
                    Lot(q, None if np.isnan(b) else b, d)
                    for aa, ss, q, b, d in flat
                    if aa == a and ss == s
                )
                for s in {s for aa, s, *_ in flat if aa == a}
            },
        )
        for a in (0, 1)
    ]
    columns = list(zip(*flat, strict=True))
    account = np.array(columns[0], dtype=np.int32)
    slot = book.slots_of(account, np.array(columns[1], dtype=np.int32))
    table = {
        "account": account,
        "slot": slot,
        "quantity": np.array(columns[2]),
        "basis": np.array(columns[3]),
        "acquired": np.array([d.toordinal() for d in columns[4]], dtype=np.int64),
    }
    laid = lots_on_slots(book.slot_symbol.shape[1], **table)
    batch = book.batch(0, 2)
    no_lots = [AccountRules(account=r.account, gain_lock=r.gain_lock) for r in per_account]
    one = apply_slot_rules(batch, slot_rules(book.slot_symbol, per_account, AS_OF))
    two = apply_slot_rules(batch, slot_rules(book.slot_symbol, no_lots, AS_OF, lots=laid))
    np.testing.assert_array_equal(one.batch.sell_limit, two.batch.sell_limit)
    # Account 0: the lot without basis is locked (200 of 300 A sellable); account 1 has a
    # gain lock: of C only the 30 shares bought at $40 (a loss at $30) may be sold.
    assert one.batch.sell_limit[0, 0] == 200.0
    assert one.batch.sell_limit[1, 2] == 30.0
    p = propose(one.batch, Method.REBALANCE_TO_TARGET)
    a, b = realize(p, one, AS_OF), realize(p, two, AS_OF)
    assert {k: s.gain for k, s in a.items()} == {k: s.gain for k, s in b.items()}
    assert a
    # Laid with each account's relief method (LIFO, HIFO), the lots come in relief order:
    # the same as ordering them afterwards.
    method = np.array([1, 2], dtype=np.int8)
    ordered = lots_on_slots(book.slot_symbol.shape[1], **table, method=method)
    after = in_relief_order(laid, method, book.slot_symbol.shape[1])
    assert ordered.ordered and after.ordered
    assert ordered.source is not None and after.source is not None
    assert ordered.source.tolist() == after.source.tolist() == [1, 0, 4, 2, 3]


def test_book_slot_rules_from_a_book_folder(tmp_path: Path) -> None:
    """A two-account book, model A 50% / B 50%, every price $100.

    A-1 holds 600 A, 300 B, 100 C with an elective lock on A and an exclusion of C
    (liquidate immediately): the 100 C are sold and their $10,000 buys 100 B; A's $10,000
    excess stays (locked). A-2 holds 700 A (lots: 400 at $80, 300 at $120) and 300 B under
    a gain lock: only the 300 at a loss may go; A sells $20,000 = 200 shares (short-term
    loss 200 x $20 = $4,000) and B buys 200."""
    import numpy as np

    from trimtab.core.engine import Method, propose
    from trimtab.core.rules import apply_slot_rules, realize, settle
    from trimtab.io.book import read_book
    from trimtab.io.book_rules import book_slot_rules

    write(tmp_path, "prices", "symbol,price\nA,100\nB,100\nC,100\n")
    write(
        tmp_path,
        "models",
        "model_id,symbol,target_pct,min_pct,max_pct\nM,A,50,50,50\nM,B,50,50,50\n",
    )
    write(
        tmp_path,
        "accounts",
        "account_id,model_id,cash,household_id,registration\n"
        "A-1,M,0,H,non_qualified\nA-2,M,0,H,non_qualified\n",
    )
    write(
        tmp_path,
        "positions",
        "account_id,symbol,quantity\nA-1,A,600\nA-1,B,300\nA-1,C,100\nA-2,B,300\n",
    )
    write(
        tmp_path,
        "lots",
        "account_id,symbol,quantity,cost_basis,acquired\n"
        "A-2,A,400,32000,2024-01-02\nA-2,A,300,36000,2026-06-01\n",
    )
    write(tmp_path, "locks", "account_id,type,symbol\nA-1,elective,A\nA-2,gain,\n")
    write(
        tmp_path,
        "restrictions",
        "account_id,type,symbol,behaviour,start_date\n"
        "A-1,exclusion,C,liquidate_immediately,2026-11-01\n",
    )
    loaded = read_book(tmp_path)
    rules, extra = book_slot_rules(tmp_path, loaded, as_of=AS_OF)
    assert extra == []
    ruled = apply_slot_rules(loaded.arrays.batch(0, 2), rules.rows(0, 2))
    prepared = rules.prepared()
    for start in (0, 1):
        plain = apply_slot_rules(loaded.arrays.batch(start, 2), rules.rows(start, 2))
        fast = apply_slot_rules(loaded.arrays.batch(start, 2), prepared.rows(start, 2))
        np.testing.assert_array_equal(fast.batch.sell_limit, plain.batch.sell_limit)
        np.testing.assert_array_equal(fast.rule_reason, plain.rule_reason)
    p = propose(ruled.batch, Method.REBALANCE_TO_TARGET, groups=ruled.groups)
    p, limited = settle(p, ruled)
    by_symbol = [
        {
            loaded.symbols[int(c)]: float(q)
            for c, q in zip(loaded.arrays.slot_symbol[r], p.quantity[r], strict=True)
            if c >= 0
        }
        for r in (0, 1)
    ]
    assert by_symbol[0] == {"A": 0.0, "B": 100.0, "C": -100.0}
    assert by_symbol[1] == {"A": -200.0, "B": 200.0}
    assert limited.tolist() == [True, False]
    sale = realize(p, ruled, AS_OF)[(1, 0)]
    assert [(r.acquired, r.quantity, r.gain) for r in sale.reliefs] == [
        (date(2026, 6, 1), 200.0, -4000.0)
    ]
    assert np.isclose(sale.short_term_gain, -4000.0)


def test_lots_of_a_security_without_a_slot_are_dropped() -> None:
    """A lot of symbol 4 in an account whose slots hold symbols 0 and 1 has no slot: it is
    dropped, not laid on another security's slot (keys must not collide)."""
    import numpy as np

    from trimtab.core.book import find_slots
    from trimtab.core.lots import lots_on_slots

    account = np.array([0, 1], dtype=np.int32)
    slot = find_slots(
        np.array([[0, 1], [0, 1]], dtype=np.int32), account, np.array([4, 1], dtype=np.int32)
    )
    assert slot.tolist() == [-1, 1]
    laid = lots_on_slots(
        2,
        account=account,
        slot=slot,
        quantity=np.array([5.0, 7.0]),
        basis=np.array([50.0, 70.0]),
        acquired=np.array([700_000, 700_000], dtype=np.int64),
    )
    assert laid.row.tolist() == [1]
    assert laid.slot.tolist() == [1]
    assert laid.quantity.tolist() == [7.0]
    assert laid.rank is None  # no lot is named


def test_lots_of_unknown_accounts_or_symbols_are_dropped_and_the_rest_laid() -> None:
    """Lots whose account or symbol has no slot are left out, whatever their codes (an
    unknown account, -1, next to the highest symbol code gives the lookup key -1)."""
    import numpy as np

    from trimtab.core.book import find_slots
    from trimtab.core.lots import lots_on_slots

    slot_symbol = np.array([[0, 2, -1], [1, 2, 0]], dtype=np.int32)
    account = np.array([-1, -1, 0, 0, 1, 1, 1], dtype=np.int32)
    slot = find_slots(slot_symbol, account, np.array([3, 3, 2, 1, 0, 0, 2], dtype=np.int32))
    assert slot.tolist() == [-1, -1, 1, -1, 2, 2, 1]
    laid = lots_on_slots(
        3,
        account=account,
        slot=slot,
        quantity=np.arange(1.0, 8.0),
        basis=np.zeros(7),
        acquired=np.zeros(7, dtype=np.int64),
    )
    # Sorted by row; within a row the lots keep their order (relief order comes later).
    assert laid.source is not None
    assert laid.source.tolist() == [2, 4, 5, 6]
    assert laid.row.tolist() == [0, 1, 1, 1]
    assert laid.slot.tolist() == [1, 2, 2, 1]
    assert laid.quantity.tolist() == [3.0, 5.0, 6.0, 7.0]
    assert not laid.ordered
    # Lots already sorted by row, each with a slot, are taken as they are.
    quantity = np.arange(1.0, 4.0)
    same = lots_on_slots(
        3,
        account=np.array([0, 1, 1], dtype=np.int32),
        slot=np.array([2, 0, 1], dtype=np.int32),
        quantity=quantity,
        basis=np.zeros(3),
        acquired=np.zeros(3, dtype=np.int64),
    )
    assert same.quantity is quantity
    assert same.source is not None and same.source.tolist() == [0, 1, 2]


def test_slots_of_a_book_by_model_line_and_holding() -> None:
    """Two models (M0: symbols 3, 1; M1: symbol 2). Account 0 (M0) also holds 0 and 4,
    account 1 (M1) holds 3: model symbols are found at their lines, other holdings at the
    slots after the model lines in symbol order, anything else (symbol 2 in account 0,
    unknown codes) at -1. Random pairs agree with the general search of the layout."""
    import numpy as np

    from trimtab.core.book import assemble_book, find_slots

    book = assemble_book(
        price=np.ones(5),
        model_symbol=np.array([[3, 1], [2, -1]], dtype=np.int32),
        model_target=np.array([[0.5, 0.5], [1.0, 0.0]]),
        model_lower=np.zeros((2, 2)),
        model_upper=np.ones((2, 2)),
        model_cash=np.zeros(2),
        account_model=np.array([0, 1], dtype=np.int32),
        cash=np.zeros(2),
        position_account=np.array([0, 0, 1], dtype=np.int32),
        position_symbol=np.array([4, 0, 3], dtype=np.int32),
        position_quantity=np.array([1.0, 2.0, 3.0]),
    )
    assert book.slot_symbol.tolist() == [[3, 1, 0, 4], [2, -1, 3, -1]]
    account = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, -1, 0], dtype=np.int32)
    symbol = np.array([3, 1, 0, 4, 2, 2, 3, 1, 3, 3, 5], dtype=np.int32)
    assert book.slots_of(account, symbol).tolist() == [0, 1, 2, 3, -1, 0, 2, -1, -1, -1, -1]
    rng = np.random.default_rng(3)
    account = rng.integers(-1, 3, 200).astype(np.int32)
    symbol = rng.integers(-1, 6, 200).astype(np.int32)
    np.testing.assert_array_equal(
        book.slots_of(account, symbol), find_slots(book.slot_symbol, account, symbol)
    )


def test_negative_or_missing_short_term_window_names_its_row(tmp_path: Path) -> None:
    write(tmp_path, "short_term_windows", "symbol,days\nAAPL,30\nMSFT,-1\n")
    with pytest.raises(BookError) as err:
        read(tmp_path)
    assert str(err.value) == "short_term_windows.csv row 2 column days: must be 0 or more, got -1"
    write(tmp_path, "short_term_windows", "symbol,days\nAAPL,\n")
    with pytest.raises(BookError, match=r"row 1 column days: must be 0 or more, got nothing"):
        read(tmp_path)


def test_lots_already_in_relief_order_are_kept_as_they_are() -> None:
    """Two positions, FIFO: lots listed oldest first are already in relief order and come
    back as they are (no copy); listed newest first, they are reordered."""
    import numpy as np

    from trimtab.core.lots import LotArrays, in_relief_order

    def lots(acquired: list[int]) -> LotArrays:
        return LotArrays(
            row=np.array([0, 0, 0, 1], dtype=np.int32),
            slot=np.array([0, 0, 1, 0], dtype=np.int32),
            quantity=np.array([1.0, 2.0, 3.0, 4.0]),
            basis=np.array([10.0, 20.0, 30.0, 40.0]),
            acquired=np.array(acquired, dtype=np.int32),
            rank=None,
            source=np.array([7, 8, 9, 10]),
        )

    fifo = np.zeros(2, dtype=np.int8)
    oldest_first = lots([700_000, 700_100, 700_050, 700_000])
    kept = in_relief_order(oldest_first, fifo, 2)
    assert kept.ordered and kept.quantity is oldest_first.quantity
    assert kept.source is not None and kept.source.tolist() == [7, 8, 9, 10]
    newest_first = in_relief_order(lots([700_100, 700_000, 700_050, 700_000]), fifo, 2)
    assert newest_first.quantity.tolist() == [2.0, 1.0, 3.0, 4.0]
    assert newest_first.source is not None and newest_first.source.tolist() == [8, 7, 9, 10]
