"""NYSE market days (exchange_calendars ``XNYS``) and the order cut-off in Chicago time.

An order approved before 14:00 America/Chicago on a market day trades that day; from 14:00
to 14:45 that day on a best-effort basis (flagged); later, or on a weekend or holiday, on
the next market day.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from trimtab.errors import InputError

CHICAGO = ZoneInfo("America/Chicago")
CUT_OFF = time(14, 0)
BEST_EFFORT_UNTIL = time(14, 45)
FIRST = "2000-01-03"
LAST = "2040-12-31"


@lru_cache(maxsize=1)
def _sessions() -> npt.NDArray[np.datetime64]:
    """The NYSE sessions from :data:`FIRST` to :data:`LAST`, as days.

    Building them takes exchange_calendars and pandas (0.4 s at every command's start), so
    they are kept in a cache file named after the exchange_calendars version that made them
    (:func:`cache_folder`). A cache that cannot be found, read or written (no home folder,
    a file cut short, a read-only disk) is done without: the sessions are built again."""
    path: Path | None = None
    # whatever is wrong with the cache, the calendar itself is right
    with contextlib.suppress(Exception):
        path = cache_folder() / f"xnys-{FIRST}-{LAST}-{version('exchange_calendars')}.npy"
        kept: npt.NDArray[np.datetime64] = np.load(path, allow_pickle=False)
        if kept.dtype == np.dtype("datetime64[D]") and kept.ndim == 1 and kept.size:
            return kept
    sessions = _calendar_sessions()
    if path is not None:
        with contextlib.suppress(Exception):
            _keep(sessions, path)
    return sessions


def _keep(sessions: npt.NDArray[np.datetime64], path: Path) -> None:
    """``sessions`` written to ``path`` whole or not at all: to a file beside it, synced,
    then renamed over it (a process reading it meanwhile finds the old file or the new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
        part = Path(f.name)
        try:
            np.save(f, sessions, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    os.replace(part, path)


def cache_folder() -> Path:
    """Where trimtab keeps files it can make again: ``TRIMTAB_CACHE``, else ``trimtab`` in
    ``XDG_CACHE_HOME`` (``~/.cache`` by default)."""
    if folder := os.environ.get("TRIMTAB_CACHE"):
        return Path(folder)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "trimtab"


def _calendar_sessions() -> npt.NDArray[np.datetime64]:
    import exchange_calendars

    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads tz-aware Series.values, deprecated by pandas 3.1;
        # the values it takes are UTC nanoseconds either way.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        cal = exchange_calendars.get_calendar("XNYS", start=FIRST, end=LAST)
        sessions: npt.NDArray[np.datetime64] = cal.sessions.values.astype("datetime64[D]")
    return sessions


def _index(day: date) -> tuple[int, bool]:
    sessions = _sessions()
    d = np.datetime64(day, "D")
    if d < sessions[0] or d > sessions[-1]:
        raise InputError("date", f"{day} is outside the market calendar ({FIRST} to {LAST})")
    i = int(np.searchsorted(sessions, d))
    return i, bool(i < sessions.size and sessions[i] == d)


def _at(i: int) -> date:
    sessions = _sessions()
    if not 0 <= i < sessions.size:
        raise InputError("date", f"outside the market calendar ({FIRST} to {LAST})")
    value: date = sessions[i].astype(object)
    return value


def market_days(first: date, count: int) -> list[date]:
    """The ``count`` market days from ``first`` on (``first`` included when it is one)."""
    i, _ = _index(first)
    if i + count > _sessions().size:
        raise InputError("date", f"{count} market days from {first} run past {LAST}")
    return [_at(j) for j in range(i, i + count)]


def is_market_day(day: date) -> bool:
    """Whether the NYSE trades on ``day``."""
    return _index(day)[1]


def next_market_day(day: date) -> date:
    """The first market day strictly after ``day``."""
    i, found = _index(day)
    return _at(i + 1 if found else i)


def previous_market_day(day: date) -> date:
    """The last market day strictly before ``day``."""
    i, _ = _index(day)
    return _at(i - 1)


def trade_date(moment: datetime) -> tuple[date, bool]:
    """Trade date of an order approved at ``moment``, and whether it is best effort."""
    local = moment.astimezone(CHICAGO)
    day, clock = local.date(), local.time()
    if is_market_day(day):
        if clock < CUT_OFF:
            return day, False
        if clock < BEST_EFFORT_UNTIL:
            return day, True
    return next_market_day(day), False


def expiry(moment: datetime) -> datetime:
    """When a request submitted at ``moment`` expires: the end of the next business day.

    That is midnight (Chicago) closing the first market day after the submission's day.
    """
    day = next_market_day(moment.astimezone(CHICAGO).date())
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHICAGO)
