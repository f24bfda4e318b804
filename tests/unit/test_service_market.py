"""Market days and the order cut-off, worked out from the NYSE calendar by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from trimtab.errors import InputError
from trimtab.service import market
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


@pytest.fixture
def fresh_sessions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The market calendar worked out again, with its cache file in ``tmp_path``."""
    monkeypatch.setenv("TRIMTAB_CACHE", str(tmp_path))
    market._sessions.cache_clear()
    yield tmp_path
    market._sessions.cache_clear()


def test_the_sessions_are_kept_in_a_cache_file_and_read_back(fresh_sessions: Path) -> None:
    built = market._calendar_sessions()
    assert np.array_equal(market._sessions(), built)
    (kept,) = fresh_sessions.glob("xnys-*.npy")
    assert np.array_equal(np.load(kept), built)
    assert not list(fresh_sessions.glob("*.tmp"))
    market._sessions.cache_clear()
    # read back from the file: a day written into it is a market day from then on
    np.save(kept, np.r_[built, np.datetime64("2041-01-05", "D")])
    assert market._sessions()[-1] == np.datetime64("2041-01-05", "D")


def test_a_cache_file_that_cannot_be_read_is_made_again(fresh_sessions: Path) -> None:
    market._sessions()
    (kept,) = fresh_sessions.glob("xnys-*.npy")
    kept.write_bytes(b"not an array")
    market._sessions.cache_clear()
    assert previous_market_day(MON) == FRI
    assert np.array_equal(np.load(kept), market._calendar_sessions())


def test_no_cache_folder_is_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.setenv("TRIMTAB_CACHE", str(blocked / "cache"))  # under a file: cannot be made
    market._sessions.cache_clear()
    try:
        assert next_market_day(FRI) == MON
    finally:
        market._sessions.cache_clear()
    assert blocked.read_text() == ""


def test_an_empty_cache_file_is_made_again(fresh_sessions: Path) -> None:
    """A cache file cut short (say by a power cut) is read as no cache."""
    market._sessions()
    (kept,) = fresh_sessions.glob("xnys-*.npy")
    kept.write_bytes(b"")
    market._sessions.cache_clear()
    assert next_market_day(FRI) == MON
    assert np.array_equal(np.load(kept), market._calendar_sessions())


def test_no_home_folder_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``TRIMTAB_CACHE``, ``XDG_CACHE_HOME`` or a home folder, no cache is kept."""
    for name in ("TRIMTAB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def nowhere() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(nowhere))
    market._sessions.cache_clear()
    try:
        assert previous_market_day(MON) == FRI
    finally:
        market._sessions.cache_clear()
