"""A book's full sale of a fractional holding sells all of it, whatever the rounding."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from trimtab.cli import main


@pytest.mark.parametrize("rounding", ["whole_shares", "fractional"])
def test_a_fractional_non_model_holding_is_sold_in_full(
    tmp_path: Path, rounding: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A-1 holds 10.5 MSFT, which its model (FB 50%, ORCL 50%) does not have: sold in full,
    # 10.5 shares at $37.60 = $394.80 (not 10 shares, nor 10 shares' worth of 10.5).
    (tmp_path / "prices.csv").write_text("symbol,price\nFB,26.18\nORCL,38.46\nMSFT,37.60\n")
    (tmp_path / "models.csv").write_text(
        "model_id,symbol,target_pct,min_pct,max_pct\nM1,FB,50,45,55\nM1,ORCL,50,45,55\n"
    )
    (tmp_path / "accounts.csv").write_text("account_id,model_id,cash\nA-1,M1,100\n")
    (tmp_path / "positions.csv").write_text(
        "account_id,symbol,quantity\nA-1,FB,10\nA-1,ORCL,5\nA-1,MSFT,10.5\n"
    )
    out = tmp_path / "trades.csv"
    with pytest.raises(SystemExit) as done:
        main(
            [
                *("propose-book", str(tmp_path), "--logic", "rebalance_to_target"),
                *("--rounding", rounding, "--out", str(out)),
            ]
        )
    assert done.value.code in (0, None)
    with out.open() as f:
        rows = {r["symbol"]: r for r in csv.DictReader(f)}
    assert rows["MSFT"]["action"] == "sell"
    assert float(rows["MSFT"]["quantity"]) == 10.5
    assert float(rows["MSFT"]["order_value"]) == 394.80
    for r in rows.values():  # every line's shares times price is its order value
        assert float(r["quantity"]) * float(r["price"]) == pytest.approx(
            float(r["order_value"]), abs=0.005
        )
