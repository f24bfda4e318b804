"""The exactness test of CSV numbers: long texts compared as decimals, short ones trusted."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from trimtab.errors import BookError
from trimtab.service.book_checks import _as_written
from trimtab.store.tables import money


def check(tmp_path: Path, cash: str) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(f"account_id,cash\nACC1,{cash}\n")
    _as_written(path, pa.table({"cash": [float(cash)]}), [("cash", money())])


@pytest.mark.parametrize(
    "cash",
    [
        "1234567890.123456",  # 16 digits, 17 characters: a double keeps it
        "00000000000000000000012.5",  # long, but 3 significant digits
        "99999999999999.5",  # 15 significant digits, 16 characters
        "9007199254740992",  # 2**53: 16 digits a double holds exactly
    ],
)
def test_exact_texts_pass(tmp_path: Path, cash: str) -> None:
    check(tmp_path, cash)


def test_sixteen_digits_beyond_two_to_the_53_are_refused(tmp_path: Path) -> None:
    # 16 characters, 16 digits, above 2**53: the nearest double is 10000000000000000
    with pytest.raises(BookError, match="9999999999999999 has more than 15 significant"):
        check(tmp_path, "9999999999999999")


def test_a_text_a_double_rounds_is_refused(tmp_path: Path) -> None:
    # 20 significant digits: the nearest double prints as 12345678901234.123
    with pytest.raises(BookError, match=r"accounts.csv row 1 column cash: 12345678901234.123456"):
        check(tmp_path, "12345678901234.123456")
