"""The yardstick of goal 3: book drift as a competent analyst would write it in pandas.

Reads the Parquet (or CSV) tables of a book folder, values every account, joins each account's
model lines with its positions (an outer join: unheld model lines count with weight 0, held
non-model securities with target and band 0), and writes one row per account with the columns
of ``trimtab drift``: ``account_id, value, max_drift_pct, out_of_band, flagged``.

No validation and no tax lots: this is the job done plainly, for timing and for checking
trimtab's numbers with independent code.

    .venv/bin/python bench/pandas_drift.py BOOK --out drift.parquet
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

BAND_TOLERANCE = 1e-9
"""Weights within this fraction of a band edge count as inside, as in trimtab."""


def read(folder: Path, name: str, columns: list[str]) -> pd.DataFrame:
    parquet = folder / f"{name}.parquet"
    if parquet.exists():
        return pd.read_parquet(parquet, columns=columns)
    return pd.read_csv(folder / f"{name}.csv", usecols=columns)


def book_drift(folder: Path) -> pd.DataFrame:
    prices = read(folder, "prices", ["symbol", "price"])
    models = read(folder, "models", ["model_id", "symbol", "target_pct", "min_pct", "max_pct"])
    accounts = read(folder, "accounts", ["account_id", "model_id", "cash"])
    positions = read(folder, "positions", ["account_id", "symbol", "quantity"])
    # One categorical type per key, shared by every table, so that joins and lookups work on
    # integer codes instead of strings (Parquet dictionary columns arrive as categoricals).
    account_type = pd.CategoricalDtype(accounts["account_id"])
    symbol_type = pd.CategoricalDtype(prices["symbol"])
    model_type = pd.CategoricalDtype(models["model_id"].unique())
    for frame in (prices, models, accounts, positions):
        for col, dtype in (
            ("account_id", account_type),
            ("symbol", symbol_type),
            ("model_id", model_type),
        ):
            if col in frame:
                frame[col] = frame[col].astype(dtype)

    held = positions.merge(prices, on="symbol", how="left")
    held["market"] = held["quantity"] * held["price"]
    market = held.groupby("account_id", observed=False)["market"].sum()
    accounts = accounts.set_index("account_id")
    value = accounts["cash"] + market.reindex(accounts.index, fill_value=0.0)

    lines = accounts[["model_id"]].reset_index().merge(models, on="model_id")
    both = lines.merge(
        held[["account_id", "symbol", "market"]], on=["account_id", "symbol"], how="outer"
    )
    both = both.fillna({"target_pct": 0.0, "min_pct": 0.0, "max_pct": 0.0, "market": 0.0})
    account_value = value.reindex(both["account_id"]).to_numpy()
    both["weight"] = (both["market"] / account_value).where(account_value > 0, 0.0)
    both["drift"] = (both["weight"] - both["target_pct"] / 100.0).abs()
    both["outside"] = (both["weight"] < both["min_pct"] / 100.0 - BAND_TOLERANCE) | (
        both["weight"] > both["max_pct"] / 100.0 + BAND_TOLERANCE
    )
    per_account = both.groupby("account_id", observed=False).agg(
        max_drift=("drift", "max"), out_of_band=("outside", "sum")
    )
    per_account = per_account.reindex(accounts.index, fill_value=0)

    out = pd.DataFrame(
        {
            "account_id": accounts.index.astype(str),
            "value": value.round(2).to_numpy(),
            "max_drift_pct": (per_account["max_drift"] * 100.0).round(4).to_numpy(),
            "out_of_band": per_account["out_of_band"].astype("int32").to_numpy(),
        }
    )
    out["flagged"] = out["out_of_band"] > 0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", type=Path, help="book folder")
    parser.add_argument("--out", type=Path, required=True, help="output .parquet or .csv")
    args = parser.parse_args()
    result = book_drift(args.book)
    if args.out.suffix == ".parquet":
        result.to_parquet(args.out, index=False)
    else:
        result.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
