"""A realistic synthetic book, seeded: the demo of ``make run``, the tests and the benchmarks.

A universe of securities across sub-asset classes, models of about 30 lines with cash targets
and tolerance bands, and accounts that hold their model with market drift, a few non-model
holdings, some missing lines, cash, households and registrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

SUB_ASSET_CLASSES = (
    ("Large Growth", "Equity"),
    ("Large Value", "Equity"),
    ("Mid Cap", "Equity"),
    ("Small Cap", "Equity"),
    ("International Developed", "Equity"),
    ("Emerging Markets", "Equity"),
    ("Core Bond", "Fixed Income"),
    ("High Yield", "Fixed Income"),
    ("TIPS", "Fixed Income"),
    ("Municipal", "Fixed Income"),
    ("Real Estate", "Alternative"),
    ("Commodities", "Alternative"),
)


@dataclass(frozen=True, slots=True)
class DemoSpec:
    """What to generate. Money in dollars."""

    accounts: int = 1000
    securities: int = 500
    models: int = 200
    lines: int = 30
    seed: int = 7
    lots: bool = False
    as_of: date = date(2026, 11, 20)


def _tickers(n: int, rng: np.random.Generator) -> list[str]:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        size = int(rng.integers(2, 5))
        t = "".join(rng.choice(letters, size))
        if t not in seen:
            seen.add(t)
            out.append(t)
    return sorted(out)


def demo_tables(spec: DemoSpec) -> dict[str, pa.Table]:
    """The book's tables, generated with numpy (a million accounts in seconds)."""
    rng = np.random.default_rng(spec.seed)
    s = spec.securities
    symbols = _tickers(s, rng)
    klass = rng.integers(0, len(SUB_ASSET_CLASSES), s)
    price = np.round(np.exp(rng.normal(np.log(60.0), 0.8, s)), 2).clip(1.0, None)
    prices = pa.table(
        {
            "symbol": symbols,
            "price": price,
            "sub_asset_class": [SUB_ASSET_CLASSES[k][0] for k in klass],
            "asset_class": [SUB_ASSET_CLASSES[k][1] for k in klass],
        }
    )

    m = min(spec.models, max(1, s // 2))
    width = min(spec.lines, s)
    model_sym = np.empty((m, width), dtype=np.int64)
    lines = rng.integers(max(2, width - 6), width + 1, m)
    model_sym[:] = -1
    model_rows: dict[str, list[object]] = {
        k: [] for k in ("model_id", "symbol", "target_pct", "min_pct", "max_pct")
    }
    targets = np.zeros((m, width))
    for i in range(m):
        n_lines = int(lines[i])
        pick = rng.choice(s, n_lines, replace=False)
        cash_pct = float(rng.choice([0.0, 1.0, 2.0]))
        w = rng.dirichlet(np.full(n_lines, 3.0)) * (100.0 - cash_pct)
        w = np.round(w, 2)
        w[0] = round(100.0 - cash_pct - float(w[1:].sum()), 2)
        band = np.maximum(np.round(w * 0.2, 2), 0.25)
        model_sym[i, :n_lines] = pick
        targets[i, :n_lines] = w
        for j in range(n_lines):
            model_rows["model_id"].append(f"M{i + 1:03d}")
            model_rows["symbol"].append(symbols[pick[j]])
            model_rows["target_pct"].append(float(w[j]))
            model_rows["min_pct"].append(max(0.0, round(float(w[j] - band[j]), 2)))
            model_rows["max_pct"].append(min(100.0, round(float(w[j] + band[j]), 2)))
    models = pa.table(model_rows)

    n = spec.accounts
    account_model = rng.integers(0, m, n)
    value = np.exp(rng.normal(np.log(250_000.0), 1.0, n)).clip(5_000.0, 20_000_000.0)
    cash_frac = rng.uniform(0.0, 0.05, n)
    # Most accounts drift a little, some a lot (a market move, a missed rebalance).
    spread = np.where(rng.random(n) < 0.3, 0.18, 0.05)
    drift = rng.normal(1.0, 1.0, (n, width)).clip(-2.5, 2.5) * spread[:, None] + 1.0
    held = rng.random((n, width)) > 0.02
    sym = model_sym[account_model]
    tw = targets[account_model] / 100.0 * drift * held * (sym >= 0)
    extra = np.where(rng.random(n) < 0.12, rng.integers(1, 3, n), 0)
    extra_sym = rng.integers(0, s, (n, 2))
    extra_on = np.arange(2)[None, :] < extra[:, None]
    extra_w = rng.uniform(0.005, 0.03, (n, 2)) * extra_on
    total = tw.sum(axis=1) + extra_w.sum(axis=1)
    scale = (1.0 - cash_frac) / total
    all_sym = np.concatenate([sym, extra_sym], axis=1)
    all_w = np.concatenate([tw, extra_w], axis=1) * scale[:, None]
    qty = np.floor(all_w * value[:, None] / price[np.maximum(all_sym, 0)])
    in_model = np.zeros((n, s + 1), dtype=bool)
    rows = np.repeat(np.arange(n), width)
    in_model[rows, sym.ravel()] = sym.ravel() >= 0
    in_model[:, s] = False
    dup = np.zeros_like(extra_on)
    dup[:, 0] = in_model[np.arange(n), extra_sym[:, 0]]
    dup[:, 1] = in_model[np.arange(n), extra_sym[:, 1]] | (extra_sym[:, 1] == extra_sym[:, 0])
    keep = np.concatenate([held & (sym >= 0), extra_on & ~dup], axis=1) & (qty > 0)
    acc_idx, col = np.nonzero(keep)
    pos_sym = all_sym[acc_idx, col]
    pos_qty = qty[acc_idx, col]
    invested = np.bincount(acc_idx, weights=pos_qty * price[pos_sym], minlength=n)
    cash = np.round(value - invested, 2).clip(0.0, None)

    account_ids = np.array([f"ACC{i + 1:07d}" for i in range(n)], dtype=object)
    household = np.cumsum(rng.random(n) < 0.55)
    accounts = pa.table(
        {
            "account_id": account_ids,
            "model_id": pa.array([f"M{k + 1:03d}" for k in range(m)]).take(pa.array(account_model)),
            "cash": cash,
            "household_id": np.array([f"H{h:07d}" for h in household], dtype=object),
            "registration": np.where(rng.random(n) < 0.4, "qualified", "non_qualified").astype(
                object
            ),
            "rebalancing": rng.random(n) < 0.95,
        }
    )
    sym_arr = pa.array(symbols)
    acc_dict = pa.array(account_ids)
    # Account ids as plain text, as custodian files hold them: a Parquet dictionary of a
    # million ids overflows its page and would be rebuilt on every read.
    positions = pa.table(
        {
            "account_id": acc_dict.take(pa.array(acc_idx.astype(np.int32))),
            "symbol": pa.DictionaryArray.from_arrays(pa.array(pos_sym.astype(np.int32)), sym_arr),
            "quantity": pos_qty,
        }
    )
    tables = {"prices": prices, "models": models, "accounts": accounts, "positions": positions}
    if spec.lots:
        tables["lots"] = _lots(rng, acc_idx, pos_sym, pos_qty, price, acc_dict, sym_arr, spec)
    return tables


def _lots(
    rng: np.random.Generator,
    acc_idx: np.ndarray,
    pos_sym: np.ndarray,
    pos_qty: np.ndarray,
    price: np.ndarray,
    acc_dict: pa.Array,
    sym_arr: pa.Array,
    spec: DemoSpec,
) -> pa.Table:
    """Three lots per holding: shares split at random, cost near today's price, ages to 5 years."""
    split = rng.dirichlet(np.ones(3), pos_qty.size)
    q = np.floor(split * pos_qty[:, None])
    q[:, 0] += pos_qty - q.sum(axis=1)
    per_share = price[pos_sym][:, None] * rng.uniform(0.6, 1.4, q.shape)
    basis = np.round(q * per_share, 2)
    basis_null = rng.random(q.shape) < 0.01
    age = rng.integers(1, 5 * 365, q.shape)
    acquired = np.array([spec.as_of - timedelta(days=int(d)) for d in range(5 * 365 + 1)])
    keep = q.ravel() > 0
    idx = np.repeat(np.arange(pos_qty.size), 3)[keep]
    return pa.table(
        {
            "account_id": acc_dict.take(pa.array(acc_idx[idx].astype(np.int32))),
            "symbol": pa.DictionaryArray.from_arrays(
                pa.array(pos_sym[idx].astype(np.int32)), sym_arr
            ),
            "quantity": q.ravel()[keep],
            "cost_basis": pa.array(basis.ravel()[keep], mask=basis_null.ravel()[keep]),
            "acquired": pa.array(acquired[age.ravel()[keep]], type=pa.date32()),
        }
    )


def write_book(folder: Path, tables: dict[str, pa.Table], fmt: str = "csv") -> None:
    """Write ``tables`` into ``folder`` as CSV or Parquet files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if fmt == "parquet":
            pq.write_table(table, folder / f"{name}.parquet")
        else:
            plain = pa.table(
                [
                    c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
                    for c in table.columns
                ],
                names=table.column_names,
            )
            pacsv.write_csv(plain, folder / f"{name}.csv")
