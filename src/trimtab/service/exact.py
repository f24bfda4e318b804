"""Turning the book's numbers into exact decimals, refusing any the store would round."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.errors import BookError


def to_decimals(
    values: Sequence[float | None], *, label: str, column: str, scale: int
) -> list[Decimal | None]:
    """``values`` as decimals (the shortest text of each float, as written in the file).

    Raises :class:`BookError` naming the row when a value has more than ``scale`` decimals.
    """
    out: list[Decimal | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        d = Decimal(repr(float(v)))
        exponent = d.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -scale:
            d = d.normalize()
            exponent = d.as_tuple().exponent
            if isinstance(exponent, int) and exponent < -scale:
                raise BookError(
                    f"{label} row {i + 1} column {column}",
                    f"more than {scale} decimals would be rounded, got {v!r}",
                )
        out.append(d)
    return out


def exact_floats(table: pa.Table, column: str, *, label: str, scale: int) -> pa.ChunkedArray:
    """A number column as float64, checked to have at most ``scale`` decimals, vectorised
    (each value is then the nearest double of a decimal the store keeps exactly).

    Raises :class:`BookError` naming the row when a value has more than ``scale`` decimals.
    """
    col = table.column(column).cast(pa.float64())
    values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    null = pc.is_null(col).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        suspect = ~null & (np.round(values, scale) != values)
    for i in np.flatnonzero(suspect):
        try:
            to_decimals([float(values[i])], label=label, column=column, scale=scale)
        except BookError as err:
            raise _row_error(err, int(i) + 1) from None
    return col


def number_texts(table: pa.Table, column: str, *, label: str, scale: int) -> list[str | None]:
    """A float column as decimal text (the shortest text of each value), vectorised.

    Raises :class:`BookError` naming the row when a value has more than ``scale`` decimals.
    """
    col = exact_floats(table, column, label=label, scale=scale)
    texts: list[str | None] = [repr(v) for v in col.to_numpy(zero_copy_only=False).tolist()]
    for i in np.flatnonzero(pc.is_null(col).to_numpy(zero_copy_only=False)):
        texts[i] = None
    return texts


def _row_error(err: BookError, row: int) -> BookError:
    where = err.where.replace(" row 1 ", f" row {row} ")
    return BookError(where, err.problem)
