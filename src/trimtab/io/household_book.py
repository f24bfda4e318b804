"""``propose-book --logic household_rebalance``: a book's accounts rebalanced by household.

Accounts are grouped by ``accounts.household_id`` (an account without one is a household of
its own). :func:`group_households` puts each household's accounts next to each other,
:func:`household_spans` cuts the book into chunks of whole households; each chunk is
planned by the one proposing pipeline (:mod:`trimtab.pipeline`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.core.book import CHUNK
from trimtab.io.book import LoadedBook

Codes = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]


def household_codes(loaded: LoadedBook, start: int = 0, stop: int | None = None) -> Codes:
    """Household code of accounts ``start:stop``, from ``accounts.household_id``; an account
    without a household (no column, or a missing value) is a household of its own. Codes
    are consistent within one call only."""
    stop = loaded.arrays.size if stop is None else stop
    return account_households(loaded.tables["accounts"], start, stop)


def account_households(accounts: pa.Table, start: int, stop: int) -> Codes:
    """:func:`household_codes` of rows ``start:stop`` of an ``accounts`` table."""
    n = stop - start
    if "household_id" not in accounts.column_names:
        return np.arange(n, dtype=np.int32)
    column = accounts.column("household_id").slice(start, n)
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    encoded = pc.dictionary_encode(column.combine_chunks())
    index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    alone = len(encoded.dictionary) + np.arange(n)
    codes: Codes = np.where(index >= 0, index, alone).astype(np.int32)
    return codes


def group_households(loaded: LoadedBook) -> LoadedBook:
    """The book with each household's accounts next to each other: households in the order
    of their first account, accounts in book order within one. A chunk of proposals then
    holds whole households. Lay rules on the book this returns; a book whose households
    are already together is returned as is."""
    order = household_order(household_codes(loaded))
    if np.array_equal(order, np.arange(order.size)):
        return loaded
    a = loaded.arrays
    arrays = replace(
        a,
        account_model=a.account_model[order],
        cash=a.cash[order],
        slot_symbol=a.slot_symbol[order],
        quantity=a.quantity[order],
    )
    take = pa.array(order)
    tables = dict(loaded.tables)
    tables["accounts"] = tables["accounts"].take(take)
    lot_codes = loaded.lot_codes
    if lot_codes is not None:  # the lots' account codes follow their accounts
        moved = np.empty_like(order)
        moved[order] = np.arange(order.size)
        lot_codes = (moved[lot_codes[0]].astype(np.int32), lot_codes[1])
    return replace(
        loaded,
        arrays=arrays,
        account_ids=loaded.account_ids.take(take),
        tables=tables,
        lot_codes=lot_codes,
    )


def household_order(codes: Codes) -> npt.NDArray[np.int64]:
    """The accounts (of households ``codes``) in :func:`group_households`' order."""
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    seen, first = np.unique(codes, return_index=True)
    rank = np.zeros(int(codes.max()) + 1, dtype=np.int64)
    rank[seen] = first
    order: npt.NDArray[np.int64] = np.argsort(rank[codes], kind="stable")
    return order


def household_spans(loaded: LoadedBook, size: int = CHUNK) -> list[tuple[int, int]]:
    """``(start, stop)`` chunks of at most ``size`` accounts that never split a household (a
    larger household is a chunk of its own). Raises ``ValueError`` when a household's
    accounts are not together (see :func:`group_households`)."""
    return whole_spans(household_codes(loaded), size)


def whole_spans(codes: Codes, size: int) -> list[tuple[int, int]]:
    """:func:`household_spans` of accounts whose households are ``codes``."""
    n = codes.size
    if n == 0:
        return []
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    if np.unique(codes).size != starts.size:
        raise ValueError("household_rebalance needs each household's accounts together")
    spans: list[tuple[int, int]] = []
    at = 0
    for begin, end in zip(starts.tolist(), [*starts[1:].tolist(), n], strict=True):
        if end - at > size and begin > at:
            spans.append((at, begin))
            at = begin
    spans.append((at, n))
    return spans
