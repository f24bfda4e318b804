"""Lots grouped into holdings when a book folder is read: the lots of an ``(account, symbol)``
replace its position, model line or not, whatever the order of the lots' rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from trimtab.errors import BookError
from trimtab.io.book import LoadedBook, _codes, read_book

LOT_HEADER = "account_id,symbol,quantity,cost_basis,acquired"


def write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")


def write_book(folder: Path, positions: str, lots: str | None = None) -> None:
    """Five symbols at $10; M1 is A 40% / B 40%, M2 is C 50% / A 30% (lines in that order);
    X-1 and X-3 follow M1, X-2 follows M2."""
    write(folder, "prices", "symbol,price\nA,10\nB,10\nC,10\nD,10\nE,10\n")
    write(
        folder,
        "models",
        "model_id,symbol,target_pct,min_pct,max_pct\n"
        "M1,A,40,40,40\nM1,B,40,40,40\nM2,C,50,50,50\nM2,A,30,30,30\n",
    )
    write(folder, "accounts", "account_id,model_id,cash\nX-1,M1,0\nX-2,M2,0\nX-3,M1,0\n")
    write(folder, "positions", "account_id,symbol,quantity\n" + positions)
    if lots is not None:
        write(folder, "lots", f"{LOT_HEADER}\n{lots}")


def laid_out(loaded: LoadedBook) -> list[list[tuple[str, float]]]:
    """Each account's slots as (symbol, shares), padding left out."""
    arrays = loaded.arrays
    return [
        [
            (loaded.symbols[int(code)], float(q))
            for code, q in zip(arrays.slot_symbol[row], arrays.quantity[row], strict=True)
            if code >= 0
        ]
        for row in range(arrays.size)
    ]


POSITIONS = """
X-1,A,100
X-1,B,50
X-1,D,20
X-2,C,70
X-2,E,5
X-3,B,10
"""

# X-1 A (model line 0) and X-1 D (outside M1) replace their positions; X-3 B replaces 10 with 4;
# X-2 A (line 1 of M2) and X-3 D (outside M1) have no position and add holdings.
LOTS_GROUPED = """
X-1,A,30.5,300,2024-01-02
X-1,A,60,700,2025-03-04
X-1,D,7,70,2024-05-06
X-1,D,1.25,12,2025-07-08
X-2,A,12,110,2023-02-03
X-3,B,4,40,2024-09-10
X-3,D,3,,2022-11-12
"""

# The same lots with rows interleaved: X-1 A and X-1 D come in two runs each.
LOTS_INTERLEAVED = """
X-3,D,3,,2022-11-12
X-1,A,30.5,300,2024-01-02
X-1,D,7,70,2024-05-06
X-2,A,12,110,2023-02-03
X-1,A,60,700,2025-03-04
X-3,B,4,40,2024-09-10
X-1,D,1.25,12,2025-07-08
"""


@pytest.mark.parametrize("lots", [LOTS_GROUPED, LOTS_INTERLEAVED], ids=["grouped", "interleaved"])
def test_lots_replace_the_positions_they_cover(tmp_path: Path, lots: str) -> None:
    write_book(tmp_path, POSITIONS, lots)
    loaded = read_book(tmp_path)
    assert loaded.arrays.slot_symbol.shape == (3, 3)  # two model lines, one other holding
    assert laid_out(loaded) == [
        [("A", 90.5), ("B", 50.0), ("D", 8.25)],  # A: 30.5 + 60, B kept, D: 7 + 1.25
        [("C", 70.0), ("A", 12.0), ("E", 5.0)],  # C and E kept, A from its lot
        [("A", 0.0), ("B", 4.0), ("D", 3.0)],  # B: the lot's 4, not the position's 10
    ]
    assert loaded.lot_codes is not None
    account, symbol = loaded.lot_codes
    rows = [r.split(",")[:2] for r in lots.strip().splitlines()]
    assert account.tolist() == [int(a[2]) - 1 for a, _ in rows]  # X-n is account code n - 1
    assert symbol.tolist() == ["ABCDE".index(s) for _, s in rows]


def test_without_lots_positions_are_the_holdings(tmp_path: Path) -> None:
    write_book(tmp_path, POSITIONS)
    loaded = read_book(tmp_path)
    assert loaded.lot_codes is None
    assert laid_out(loaded) == [
        [("A", 100.0), ("B", 50.0), ("D", 20.0)],
        [("C", 70.0), ("A", 0.0), ("E", 5.0)],
        [("A", 0.0), ("B", 10.0)],
    ]


def test_an_empty_lots_table_covers_nothing(tmp_path: Path) -> None:
    write_book(tmp_path, POSITIONS, "")
    loaded = read_book(tmp_path)
    assert loaded.lot_codes is not None and loaded.lot_codes[0].size == 0
    assert laid_out(loaded)[0] == [("A", 100.0), ("B", 50.0), ("D", 20.0)]


@pytest.mark.parametrize(
    ("positions", "message"),
    [
        # Row 1 is replaced by lots, so the kept positions are renumbered; the row is not.
        (
            "X-1,A,100\nX-1,B,5\nX-2,C,1\nX-1,B,7\n",
            "positions.csv row 4 column symbol: duplicate key (account_id=X-1, symbol=B)",
        ),
        (
            "X-1,A,100\nX-2,E,5\nX-2,C,1\nX-3,B,2\nX-2,E,6\n",
            "positions.csv row 5 column symbol: duplicate key (account_id=X-2, symbol=E)",
        ),
    ],
    ids=["model-line", "outside-model"],
)
def test_duplicate_position_names_its_row(tmp_path: Path, positions: str, message: str) -> None:
    write_book(tmp_path, positions, "X-1,A,30,300,2024-01-02\nX-3,D,3,30,2024-01-02")
    with pytest.raises(BookError) as err:
        read_book(tmp_path)
    assert str(err.value) == message


def test_duplicate_positions_covered_by_lots_are_replaced(tmp_path: Path) -> None:
    write_book(tmp_path, "X-1,D,1\nX-1,D,2\nX-1,B,3\n", "X-1,D,4,40,2024-01-02")
    assert laid_out(read_book(tmp_path))[0] == [("A", 0.0), ("B", 3.0), ("D", 4.0)]


@pytest.mark.parametrize(
    ("lots", "message"),
    [
        (
            "X-1,A,1,10,2024-01-02\nX-2,C,1,10,2024-01-02\nX-9,C,1,10,2024-01-02",
            "lots.csv row 3 column account_id: unknown account 'X-9'",
        ),
        (
            "X-1,A,1,10,2024-01-02\nX-2,Z,1,10,2024-01-02",
            "lots.csv row 2 column symbol: no price for symbol 'Z'",
        ),
        (
            "X-1,A,1,,2024-01-02\nX-2,C,1,inf,2024-01-02",
            "lots.csv row 2 column cost_basis: must be a finite number",
        ),
    ],
    ids=["account", "symbol", "cost-basis"],
)
def test_bad_lot_names_row_and_column(tmp_path: Path, lots: str, message: str) -> None:
    write_book(tmp_path, POSITIONS, lots)
    with pytest.raises(BookError) as err:
        read_book(tmp_path)
    assert str(err.value) == message


def test_codes_across_chunks_with_their_own_dictionaries() -> None:
    """Each chunk's indices go through its own dictionary; an unknown value that no row uses
    is no error, one that a row uses names the row counted over all chunks."""
    vocabulary = pa.array(["A", "B", "C"])
    first = pa.DictionaryArray.from_arrays(pa.array([1, 0, 1], pa.int32()), ["C", "B"])
    second = pa.DictionaryArray.from_arrays(pa.array([0, 0], pa.int32()), ["A", "Q"])
    codes = _codes("t.csv", "symbol", pa.chunked_array([first, second]), vocabulary, "no")
    assert codes.dtype == np.int32
    assert codes.tolist() == [1, 2, 1, 0, 0]
    third = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), ["A", "Q"])
    with pytest.raises(BookError, match=r"^t\.csv row 7 column symbol: no 'Q'$"):
        _codes("t.csv", "symbol", pa.chunked_array([first, second, third]), vocabulary, "no")


def random_book(
    rng: np.random.Generator, *, grouped: bool
) -> tuple[dict[str, str], dict[tuple[str, str], float], int]:
    """Tables of a random book (as CSV text), the expected shares by (account, symbol) and
    how many of the lots' pairs are outside their account's model. Expected: the positions,
    then for each pair with lots the sum of its lots in file order, as ``np.add.reduceat``
    adds one group."""
    symbols = [f"S{i:02d}" for i in range(12)]
    models = {
        f"M{m}": [str(s) for s in rng.choice(symbols, n, replace=False)]
        for m, n in enumerate((2, 4, 3))
    }
    accounts = {f"A-{i:02d}": f"M{int(rng.integers(0, 3))}" for i in range(20)}
    pairs = [(a, s) for a in accounts for s in symbols]
    held = rng.choice(len(pairs), size=90, replace=False)
    positions = {pairs[i]: float(rng.integers(0, 1000)) / 8 for i in held}
    lot_rows = [pairs[i] for i in rng.integers(0, len(pairs), size=400)]
    lot_qty = rng.random(len(lot_rows)) * 1000
    if grouped:  # each pair's lots together, in the order they were drawn
        order = sorted(range(len(lot_rows)), key=lambda r: (pairs.index(lot_rows[r]), r))
        lot_rows = [lot_rows[r] for r in order]
        lot_qty = lot_qty[order]
    by_pair: dict[tuple[str, str], list[float]] = {}
    for pair, q in zip(lot_rows, lot_qty.tolist(), strict=True):
        by_pair.setdefault(pair, []).append(q)
    expected = dict(positions)
    for pair, qs in by_pair.items():
        expected[pair] = float(np.add.reduceat(np.array(qs), [0])[0])
    tables = {
        "prices": "symbol,price\n" + "".join(f"{s},{10 + i}\n" for i, s in enumerate(symbols)),
        "models": "model_id,symbol,target_pct,min_pct,max_pct\n"
        + "".join(f"{m},{s},20,10,30\n" for m, ss in models.items() for s in ss),
        "accounts": "account_id,model_id,cash\n"
        + "".join(f"{a},{m},0\n" for a, m in accounts.items()),
        "positions": "account_id,symbol,quantity\n"
        + "".join(f"{a},{s},{q!r}\n" for (a, s), q in positions.items()),
        "lots": f"{LOT_HEADER}\n"
        + "".join(
            f"{a},{s},{q!r},100,2024-01-02\n"
            for (a, s), q in zip(lot_rows, lot_qty.tolist(), strict=True)
        ),
    }
    outside = sum(s not in models[accounts[a]] for a, s in by_pair)
    return tables, expected, outside


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("grouped", [False, True], ids=["shuffled", "grouped"])
@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_random_lots_equal_a_dict_reference(
    tmp_path: Path, seed: int, grouped: bool, parquet: bool
) -> None:
    rng = np.random.default_rng(seed)
    tables, expected, outside = random_book(rng, grouped=grouped)
    assert outside > 0
    for name, text in tables.items():
        write(tmp_path, name, text)
        if parquet and name in ("positions", "lots"):
            path = tmp_path / f"{name}.csv"
            # Row groups of 64 rows: the key columns come back in several dictionary chunks.
            pq.write_table(pacsv.read_csv(path), tmp_path / f"{name}.parquet", row_group_size=64)
            path.unlink()
    loaded = read_book(tmp_path)
    got = {
        (str(loaded.account_ids[a].as_py()), symbol): q
        for a, slots in enumerate(laid_out(loaded))
        for symbol, q in slots
        if q != 0 or (str(loaded.account_ids[a].as_py()), symbol) in expected
    }
    assert got == expected
    assert loaded.lot_codes is not None
    lot_lines = tables["lots"].strip().splitlines()[1:]
    assert loaded.lot_codes[0].tolist() == [int(r[2:4]) for r in lot_lines]
    assert [loaded.symbols[c] for c in loaded.lot_codes[1]] == [r[5:8] for r in lot_lines]
