"""Turning the book's numbers into exact decimals, refusing any the store would round."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

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
