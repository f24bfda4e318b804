"""The lots a book's sales relieve, as text for the ``lots`` column of propose-book's trades.

Kept apart from the rule tables' reader so that the batch path does not import pydantic.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.core.lots import LotArrays, Relieved, lot_positions


def relief_text(
    lots: LotArrays,
    done: Relieved,
    lines: npt.NDArray[np.int64],
    width: int,
    lot_ids: pa.ChunkedArray | None,
    decimals: int,
) -> pa.Array:
    """The ``lots`` column of a chunk's trade lines: the lots each sale relieved, in relief
    order, as ``id:shares`` joined by ``;`` (``#N`` for a lot without an id, N its row in
    ``lots``); null for buys and sales of positions without lots. Vectorised.

    ``lines`` are the trade lines' slots as ``row * width + slot``; ``lot_ids`` the ``lots``
    table's ``lot_id`` column (``None`` without one); ``decimals`` rounds the shares.
    """
    out = pa.nulls(lines.size, pa.string())
    idx = done.index  # by position, in relief order
    if idx.size == 0 or lots.source is None:
        return out
    flat = lot_positions(lots.row[idx], lots.slot[idx], width)
    source = lots.source[idx]
    number = pc.binary_join_element_wise("#", pc.cast(pa.array(source + 1), pa.string()), "")
    if lot_ids is not None:
        given = lot_ids.take(pa.array(source))
        if pa.types.is_dictionary(given.type):
            given = given.cast(pa.string())
        given = pc.if_else(pc.equal(given, ""), pa.scalar(None, pa.string()), given)
        number = pc.coalesce(given, number)
    shares = _as_text(np.round(done.quantity, decimals))
    each = pc.binary_join_element_wise(number, shares, ":")
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    grouped = pa.ListArray.from_arrays(
        pa.array(np.r_[starts, flat.size].astype(np.int32)),
        each.combine_chunks() if isinstance(each, pa.ChunkedArray) else each,
    )
    joined = pc.binary_join(grouped, ";")
    # Each trade line's place among the positions that relieved lots (-1: none), by slot.
    keys = flat[starts]
    place = np.full(int(max(keys[-1], lines.max(initial=-1))) + 1, -1, dtype=np.int64)
    place[keys] = np.arange(keys.size)
    at = place[lines]
    hit = at >= 0
    if not hit.any():
        return out
    taken = joined.take(pa.array(np.maximum(at, 0)))
    return pc.if_else(pa.array(hit), taken, out)


def _as_text(shares: npt.NDArray[np.float64]) -> pa.Array:
    """Shares as text, as Arrow writes a float64 ("33", "0.5"); whole numbers go through
    integers, which Arrow writes the same way, faster."""
    whole = bool(np.all((shares == np.floor(shares)) & (np.abs(shares) < 1e15)))
    return pc.cast(pa.array(shares.astype(np.int64) if whole else shares), pa.string())
