"""Exact decimals from book values, by hand."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from trimtab.errors import BookError
from trimtab.service.exact import number_texts, to_decimals


def test_decimals_keep_the_written_value() -> None:
    got = to_decimals([0.1, 100.0, None, 33.333333], label="m.csv", column="x", scale=8)
    assert got == [Decimal("0.1"), Decimal(100), None, Decimal("33.333333")]


def test_too_many_decimals_names_the_row() -> None:
    with pytest.raises(BookError) as err:
        to_decimals([1.5, 1.123456789], label="prices.csv", column="price", scale=8)
    assert str(err.value) == (
        "prices.csv row 2 column price: more than 8 decimals would be rounded, got 1.123456789"
    )


def test_column_texts_name_the_failing_row() -> None:
    table = pa.table({"price": [1.5, 0.1, 2.123456789, None]})
    with pytest.raises(BookError, match=r"^prices.csv row 3 column price: more than 8 decimals"):
        number_texts(table, "price", label="prices.csv", scale=8)
    assert number_texts(table.slice(0, 2), "price", label="p", scale=8) == ["1.5", "0.1"]
    assert number_texts(pa.table({"x": [None, 3.0]}), "x", label="p", scale=2) == [None, "3.0"]
