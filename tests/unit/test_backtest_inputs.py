"""The backtest's inputs: histories, flows and generated prices; tax netting by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from trimtab.backtest.generate import HistorySpec, generate_history
from trimtab.backtest.history import read_flows, read_history
from trimtab.backtest.tax import TaxRates, year_tax
from trimtab.errors import BookError
from trimtab.service.market import is_market_day


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_history_on_book_symbols(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "h.csv",
        "date,symbol,close,dividend\n"
        "2027-01-05,B,20,\n2027-01-04,A,10,0.1\n2027-01-04,B,21,\n2027-01-05,A,11,\n"
        "2027-01-04,ZZZ,5,\n",
    )
    h = read_history(path, ("A", "B"))
    assert h.days.astype(str).tolist() == ["2027-01-04", "2027-01-05"]
    assert h.close.tolist() == [[10.0, 21.0, 1.0], [11.0, 20.0, 1.0]]
    assert h.dividend.tolist() == [[0.1, 0.0, 0.0], [0.0, 0.0, 0.0]]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("date,symbol,close\n2027-01-04,A,10\n2027-01-05,A,-1\n", "h.csv row 2 column close"),
        ("date,symbol,close\n2027-01-04,A,10\n2027-01-04,A,11\n", "h.csv row 2 column symbol"),
        ("date,symbol,close\n2027-01-04,A,10\n2027-01-45,A,11\n", "h.csv row 2 column date"),
        ("date,symbol,close\n2027-01-04,A,10\n2027-01-05,A,\n", "h.csv row 2 column close"),
        (
            "date,symbol,close,dividend\n2027-01-04,A,10,\n2027-01-05,A,11,-2\n",
            "h.csv row 2 column dividend",
        ),
        ("date,symbol,price\n2027-01-04,A,10\n", "h.csv column price"),
    ],
)
def test_bad_history_names_row_and_field(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(BookError) as err:
        read_history(_csv(tmp_path / "h.csv", text), ("A",))
    assert err.value.where == where


def test_history_missing_a_close(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "h.csv", "date,symbol,close\n2027-01-04,A,10\n2027-01-04,B,1\n2027-01-05,A,11\n"
    )
    with pytest.raises(BookError, match="no close for 'B' on 2027-01-05"):
        read_history(path, ("A", "B"))


def test_flows(tmp_path: Path) -> None:
    days = np.array(["2027-01-04", "2027-01-05", "2027-01-07"], dtype="datetime64[D]")
    path = _csv(
        tmp_path / "f.csv",
        "date,account_id,amount\n2027-01-06,X2,-50.004\n2027-01-04,X1,100\n2027-01-07,X1,1\n",
    )
    flows = read_flows(path, ["X1", "X2"], days)
    assert flows.on(0, 2).tolist() == [100.0, 0.0]
    assert flows.on(2, 2).tolist() == [1.0, -50.0]  # the 6th is booked on the next day, rounded
    bad = _csv(tmp_path / "g.csv", "date,account_id,amount\n2027-01-04,X1,1\n2027-01-05,X9,1\n")
    with pytest.raises(BookError) as err:
        read_flows(bad, ["X1"], days)
    assert err.value.where == "g.csv row 2 column account_id"
    late = _csv(tmp_path / "l.csv", "date,account_id,amount\n2027-02-01,X1,1\n")
    with pytest.raises(BookError) as err:
        read_flows(late, ["X1"], days)
    assert err.value.where == "l.csv row 1 column date"


PRICES = pa.table(
    {
        "symbol": ["AA", "BB", "CC", "DD"],
        "price": [10.0, 50.0, 20.0, 100.0],
        "sub_asset_class": ["Large Value", "Large Value", "Core Bond", "Core Bond"],
        "asset_class": ["Equity", "Equity", "Fixed Income", "Fixed Income"],
    }
)


def test_generated_history_is_seeded_on_market_days() -> None:
    spec = HistorySpec(years=2, seed=5, start=date(2027, 1, 4))
    one, two = generate_history(PRICES, spec), generate_history(PRICES, spec)
    assert one.equals(two)
    other = generate_history(PRICES, HistorySpec(years=2, seed=6, start=date(2027, 1, 4)))
    assert not one.equals(other)
    days = sorted(set(one.column("date").to_pylist()))
    assert len(days) == 2 * 252 + 1
    assert days[0] == date(2027, 1, 4) and all(is_market_day(d) for d in days)
    close = np.array(one.column("close")).reshape(len(days), 4)
    assert close[0].tolist() == [10.0, 50.0, 20.0, 100.0]  # day 0 at the book's prices
    assert (close >= 0.01).all() and (np.round(close, 2) == close).all()
    r = np.diff(np.log(close), axis=0)
    corr = np.corrcoef(r.T)
    assert corr[0, 1] > 0.5 and corr[2, 3] > 0.3  # same class: correlated
    vol = r.std(axis=0) * np.sqrt(252)
    assert vol[:2].min() > 2 * vol[2:].max()  # equities move more than bonds
    dividend = np.array(one.column("dividend")).reshape(len(days), 4)
    assert (dividend[:, 2:] > 0).sum(axis=0).tolist() == [24, 24]  # monthly, two years
    assert (dividend[:, :2] > 0).sum(axis=0).tolist() == [8, 8]  # quarterly


def test_year_tax_nets_short_and_long() -> None:
    """By hand at 40% short and 20% long: 100 ST + 50 LT = 40 + 10; a 30 ST loss offsets
    50 LT: 20 * 0.2 = 4; a 70 LT loss against 50 ST: nothing; both losses: nothing."""
    short = np.array([100.0, -30.0, 50.0, -5.0, 0.0])
    long = np.array([50.0, 50.0, -70.0, -5.0, 10.0])
    tax = year_tax(short, long, TaxRates(0.4, 0.2))
    np.testing.assert_allclose(tax, [50.0, 4.0, 0.0, 0.0, 2.0])
