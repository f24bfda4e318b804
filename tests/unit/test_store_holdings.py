"""The order a date's holdings are staged in: by part, then by the document's keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from trimtab.store import holdings


def _positions(rng: np.random.Generator, rows: int) -> pa.Table:
    """``rows`` distinct (account, symbol) keys in random order, texts of varied length."""
    accounts = [f"A{i}" if i % 3 else f"acct-{i:04d}" for i in range(rows)]
    symbols = ["BRK.B", "A", "AA", "Z", "b", "MSFT", "é"]
    keys = sorted({(accounts[i], symbols[j]) for i, j in rng.integers(0, [rows, 7], (rows, 2))})
    rng.shuffle(keys)  # type: ignore[arg-type]
    return pa.table(
        {
            "account_id": pa.chunked_array([[a for a, _ in keys[:5]], [a for a, _ in keys[5:]]]),
            "symbol": [s for _, s in keys],
            "quantity": pa.array(rng.random(len(keys))),
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_positions_by_part_then_account_then_symbol(seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = _positions(rng, 300)
    part = rng.integers(0, 4, len(table)).astype(np.int32)
    order = holdings.staging_order("positions", table, part)
    expected = pc.sort_indices(
        table.append_column("part", pa.array(part)),
        [("part", "ascending"), ("account_id", "ascending"), ("symbol", "ascending")],
    )
    assert order.tolist() == expected.to_pylist()


def test_dictionaries_ranked_by_their_values() -> None:
    """Accounts and symbols as dictionaries (a value may even be in one twice) are ordered
    by their texts, not by their codes."""
    accounts = pa.DictionaryArray.from_arrays(
        pa.array([2, 0, 1, 3, 2, 0], pa.int32()), pa.array(["b", "c", "a", "b"])
    )
    symbols = pa.DictionaryArray.from_arrays(
        pa.array([0, 0, 1, 1, 1, 2], pa.int32()), pa.array(["Z", "B", "A"])
    )
    table = pa.table({"account_id": accounts, "symbol": symbols})
    order = holdings.staging_order("positions", table, np.zeros(6, np.int32))
    keys = [(table["account_id"][i].as_py(), table["symbol"][i].as_py()) for i in order]
    assert keys == [("a", "B"), ("a", "Z"), ("b", "A"), ("b", "B"), ("b", "Z"), ("c", "B")]


def test_lots_by_part_then_row() -> None:
    rows = pa.table({"row": pa.array([5, 1, 4, 2, 3], pa.int64())})
    part = np.array([1, 1, 0, 0, 1], dtype=np.int32)
    assert holdings.staging_order("lots", rows, part).tolist() == [3, 2, 1, 4, 0]


def test_no_rows() -> None:
    empty = holdings.POSITIONS.empty_table()
    assert holdings.staging_order("positions", empty, np.zeros(0, np.int32)).size == 0
