"""Market days and the order cut-off, worked out from the NYSE calendar by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from trimtab.errors import InputError
from trimtab.service.market import (
    CHICAGO,
    expiry,
    is_market_day,
    next_market_day,
    previous_market_day,
    trade_date,
)

FRI = date(2026, 11, 20)
MON = date(2026, 11, 23)


def chicago(y: int, m: int, d: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (chicago(2026, 11, 20, 13, 59, 59), (FRI, False)),
        (chicago(2026, 11, 20, 14, 0), (FRI, True)),
        (chicago(2026, 11, 20, 14, 44, 59), (FRI, True)),
        (chicago(2026, 11, 20, 14, 45), (MON, False)),
        (chicago(2026, 11, 21, 10, 0), (MON, False)),  # Saturday
        (chicago(2026, 11, 25, 15, 0), (date(2026, 11, 27), False)),  # Thanksgiving on 26th
        (chicago(2026, 11, 26, 9, 0), (date(2026, 11, 27), False)),
        (datetime(2026, 7, 1, 18, 59, tzinfo=UTC), (date(2026, 7, 1), False)),  # 13:59 CDT
        (datetime(2026, 7, 1, 19, 0, tzinfo=UTC), (date(2026, 7, 1), True)),  # 14:00 CDT
    ],
)
def test_trade_date_by_cut_off(moment: datetime, expected: tuple[date, bool]) -> None:
    assert trade_date(moment) == expected


def test_market_days() -> None:
    assert is_market_day(FRI)
    assert not is_market_day(date(2026, 11, 21))
    assert not is_market_day(date(2026, 12, 25))
    assert next_market_day(FRI) == MON
    assert previous_market_day(MON) == FRI
    assert previous_market_day(date(2026, 11, 27)) == date(2026, 11, 25)
    assert previous_market_day(date(2026, 11, 22)) == FRI


def test_expiry_is_end_of_next_business_day() -> None:
    assert expiry(chicago(2026, 11, 20, 8, 0)) == chicago(2026, 11, 24, 0, 0)
    assert expiry(chicago(2026, 11, 25, 16, 0)) == chicago(2026, 11, 28, 0, 0)


def test_date_outside_calendar_is_refused() -> None:
    with pytest.raises(InputError, match="outside the market calendar"):
        next_market_day(date(1990, 1, 2))
