"""Which lots a sale may relieve under locks, by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from trimtab.service.gains import Lot
from trimtab.service.locks import sellable_lots

CHEAP = Lot(Decimal(6), Decimal(60), date(2020, 1, 2))  # $10 a share
DEAR = Lot(Decimal(6), Decimal(330), date(2025, 1, 2))  # $55 a share
UNKNOWN = Lot(Decimal(4), None, date(2019, 1, 2))


def test_missing_basis_is_never_sold() -> None:
    assert sellable_lots([CHEAP, UNKNOWN], price=Decimal(50), gain_lock=False, elective=False) == [
        CHEAP
    ]


def test_gain_lock_keeps_lots_with_a_gain() -> None:
    # at $50: the $10 lot has a gain (kept), the $55 lot a loss (sellable)
    got = sellable_lots([CHEAP, DEAR], price=Decimal(50), gain_lock=True, elective=False)
    assert got == [DEAR]


def test_elective_lock_sells_nothing() -> None:
    assert sellable_lots([CHEAP, DEAR], price=Decimal(50), gain_lock=False, elective=True) == []
