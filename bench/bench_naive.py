"""Goal 5: a naive per-account Python loop against the vectorised core.

The loop is what one would write first: for each account, a dict of holdings, a list of model
lines, plain floats; drift, then rebalance-to-target with the rounding and no-overdraft rules
of ``docs`` written out literally (buys trimmed one share at a time). Its results are checked
against ``drift_book`` and ``propose_book`` on the same accounts (quantities, order values,
cash after, statuses, value, max drift and out-of-band counts).

Both sides start from data already in memory: the loop from Python dicts (built untimed from
the Parquet tables), the core from ``BookArrays``.

    .venv/bin/python bench/bench_naive.py [--accounts 10000] [--json]
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import _common as c

HALF_CENT = 0.005
SHARE_EPSILON = 1e-6
BAND_TOLERANCE = 1e-9
OVERDRAFT_TOLERANCE = 1e-6


@dataclass(slots=True)
class Line:
    symbol: str
    target: float
    lower: float
    upper: float


@dataclass(slots=True)
class Account:
    account_id: str
    cash: float
    holdings: dict[str, float]
    lines: list[Line]
    cash_target: float


@dataclass(slots=True)
class Trade:
    quantity: float
    order_value: float


def cents(x: float) -> float:
    """Dollars to the cent, half away from zero (as trimtab.core.money.cents)."""
    return math.trunc(x * 100.0 + math.copysign(0.5 + 1e-7, x)) / 100.0


def naive_drift(acct: Account, prices: dict[str, float]) -> tuple[float, float, int]:
    """Value (dollars), largest drift (fraction) and out-of-band count of one account."""
    market = {s: q * prices[s] for s, q in acct.holdings.items()}
    value = acct.cash + sum(market.values())
    scale = 1.0 / value if value > 0 else 0.0
    worst = 0.0
    outside = 0
    in_model = set()
    for line in acct.lines:
        in_model.add(line.symbol)
        w = market.get(line.symbol, 0.0) * scale
        worst = max(worst, abs(w - line.target))
        if w < line.lower - BAND_TOLERANCE or w > line.upper + BAND_TOLERANCE:
            outside += 1
    for symbol, mv in market.items():
        if symbol not in in_model:
            w = mv * scale
            worst = max(worst, w)
            if w > BAND_TOLERANCE:
                outside += 1
    return value, worst, outside


def naive_rebalance(acct: Account, prices: dict[str, float]) -> tuple[dict[str, Trade], float, int]:
    """Rebalance to target: trades by symbol, cash after (dollars), status (0 or 1)."""
    market = {s: q * prices[s] for s, q in acct.holdings.items()}
    value = acct.cash + sum(market.values())
    available = acct.cash - acct.cash_target * value
    model = {line.symbol: line for line in acct.lines}
    dollars: dict[str, float] = {}
    full_sell: set[str] = set()
    funds = available
    deficits: dict[str, float] = {}
    for symbol, mv in market.items():  # non-model holdings: sell everything
        if symbol not in model and acct.holdings[symbol] > 0:
            dollars[symbol] = -mv
            full_sell.add(symbol)
            funds += mv
    for line in acct.lines:
        mv = market.get(line.symbol, 0.0)
        excess = mv - line.target * value
        if excess > HALF_CENT:
            sell = min(excess, mv)
            dollars[line.symbol] = -sell
            funds += sell
        elif -excess > HALF_CENT:
            deficits[line.symbol] = -excess
    total = sum(deficits.values())
    scale = min(max(funds / total, 0.0), 1.0) if total > 0 else 0.0
    for symbol, need in deficits.items():
        dollars[symbol] = need * scale
    status = 1 if funds < total - HALF_CENT else 0

    trades: dict[str, Trade] = {}
    for symbol, d in dollars.items():
        price = prices[symbol]
        held = acct.holdings.get(symbol, 0.0)
        shares = math.floor(abs(d) / price + SHARE_EPSILON)
        if d > HALF_CENT:
            q = float(shares)
        elif d < -HALF_CENT:
            q = -(held if symbol in full_sell else min(shares, held))
        else:
            continue
        if q != 0:
            trades[symbol] = Trade(q, cents(q * price))
    cash_after = acct.cash - sum(t.order_value for t in trades.values())
    if cash_after < -OVERDRAFT_TOLERANCE:
        # Buys ranked by how far their weight after the trade stands above target (first
        # model line first on ties); each trimmed one share at a time until cash is >= 0.
        order = [line for line in acct.lines if trades.get(line.symbol, Trade(0, 0)).quantity > 0]

        def above(line: Line) -> float:
            after = (acct.holdings.get(line.symbol, 0.0) + trades[line.symbol].quantity) * prices[
                line.symbol
            ]
            return -round(after - line.target * value, 6)

        for line in sorted(order, key=above):
            trade = trades[line.symbol]
            price = prices[line.symbol]
            while cash_after < -OVERDRAFT_TOLERANCE and trade.quantity > 0:
                trade.quantity -= 1.0
                new_value = cents(trade.quantity * price)
                cash_after += trade.order_value - new_value
                trade.order_value = new_value
            if cash_after >= -OVERDRAFT_TOLERANCE:
                break
        trades = {s: t for s, t in trades.items() if t.quantity != 0}
    return trades, cents(cash_after), status


def build_accounts(loaded: Any) -> tuple[list[Account], dict[str, float]]:
    """Plain Python structures from the validated tables (positions only, no lots)."""
    t = loaded.tables
    prices = dict(
        zip(
            t["prices"].column("symbol").to_pylist(),
            t["prices"].column("price").to_pylist(),
            strict=True,
        )
    )
    models: dict[str, list[Line]] = {}
    m = t["models"]
    for mid, sym, tp, lo, hi in zip(
        *(
            m.column(k).to_pylist()
            for k in ("model_id", "symbol", "target_pct", "min_pct", "max_pct")
        ),
        strict=True,
    ):
        models.setdefault(mid, []).append(Line(sym, tp / 100.0, lo / 100.0, hi / 100.0))
    cash_target = {
        mid: min(max(100.0 - sum(line.target * 100.0 for line in lines), 0.0), 100.0) / 100.0
        for mid, lines in models.items()
    }
    holdings: dict[str, dict[str, float]] = {}
    p = t["positions"]
    for acc, sym, q in zip(
        p.column("account_id").to_pylist(),
        p.column("symbol").to_pylist(),
        p.column("quantity").to_pylist(),
        strict=True,
    ):
        holdings.setdefault(acc, {})[sym] = q
    a = t["accounts"]
    accounts = [
        Account(acc, cash, holdings.get(acc, {}), models[mid], cash_target[mid])
        for acc, mid, cash in zip(
            a.column("account_id").to_pylist(),
            a.column("model_id").to_pylist(),
            a.column("cash").to_pylist(),
            strict=True,
        )
    ]
    return accounts, prices


def check(loaded: Any, accounts: list[Account], prices: dict[str, float]) -> dict[str, int]:
    """Count the accounts where the loop and the core disagree."""
    from trimtab.core.book import drift_book, propose_book
    from trimtab.core.engine import Method

    arrays = loaded.arrays
    symbols = loaded.symbols
    d = drift_book(arrays, workers=2)
    bad = {"drift_value": 0, "max_drift": 0, "out_of_band": 0}
    bad |= {"trades": 0, "cash_after": 0, "status": 0}
    for i, acct in enumerate(accounts):
        value, worst, outside = naive_drift(acct, prices)
        bad["drift_value"] += not math.isclose(value, d.value[i], rel_tol=1e-12, abs_tol=1e-6)
        bad["max_drift"] += not math.isclose(worst, d.max_drift[i], rel_tol=1e-9, abs_tol=1e-12)
        bad["out_of_band"] += outside != int(d.out_of_band[i])
    for start, stop, p in propose_book(arrays, Method.REBALANCE_TO_TARGET, workers=2):
        for row in range(stop - start):
            i = start + row
            trades, cash_after, status = naive_rebalance(accounts[i], prices)
            cols = np.flatnonzero(p.quantity[row])
            core = {
                symbols[arrays.slot_symbol[i, k]]: (p.quantity[row, k], p.order_value[row, k])
                for k in cols
            }
            mine = {s: (t.quantity, t.order_value) for s, t in trades.items()}
            same = core.keys() == mine.keys() and all(
                core[s][0] == mine[s][0] and abs(core[s][1] - mine[s][1]) < 1e-6 for s in core
            )
            bad["trades"] += not same
            bad["cash_after"] += abs(cash_after - p.cash_after[row]) > 1e-6
            bad["status"] += status != int(p.status[row])
    return {k: int(v) for k, v in bad.items()}


def run(accounts_n: int, repeats: int) -> dict[str, Any]:
    from trimtab.core.book import drift_book, propose_book
    from trimtab.core.engine import Method
    from trimtab.io.book import read_book

    before = c.loadavg()
    loaded = read_book(c.ensure_book(accounts_n))
    t0 = time.perf_counter()
    accounts, prices = build_accounts(loaded)
    build_s = time.perf_counter() - t0
    arrays = loaded.arrays

    def loop_drift() -> None:
        for acct in accounts:
            naive_drift(acct, prices)

    def loop_rebalance() -> None:
        for acct in accounts:
            naive_rebalance(acct, prices)

    def core_rebalance(workers: int) -> None:
        for _ in propose_book(arrays, Method.REBALANCE_TO_TARGET, workers=workers):
            pass

    cases = [
        ("drift", "naive loop", loop_drift, max(1, repeats // 2)),
        ("drift", "core, 1 worker", lambda: drift_book(arrays, workers=1), repeats),
        ("drift", "core, 2 workers", lambda: drift_book(arrays, workers=2), repeats),
        ("rebalance to target", "naive loop", loop_rebalance, max(1, repeats // 2)),
        ("rebalance to target", "core, 1 worker", lambda: core_rebalance(1), repeats),
        ("rebalance to target", "core, 2 workers", lambda: core_rebalance(2), repeats),
    ]
    rows = []
    for job, impl, work, n_runs in cases:
        c.log(f"naive: {job}, {impl} x{n_runs + 1}")
        timing = c.repeat(work, n_runs)
        rows.append(
            {
                "job": job,
                "implementation": impl,
                "accounts": accounts_n,
                **timing.as_dict(),
                "accounts_per_s_best": accounts_n / timing.best,
                "load_1min": c.loadavg()[0],
            }
        )
    for row in rows:
        loop = next(
            r for r in rows if r["job"] == row["job"] and r["implementation"] == "naive loop"
        )
        row["speedup_over_loop_best"] = loop["best_s"] / row["best_s"]
        row["speedup_over_loop_median"] = loop["median_s"] / row["median_s"]
    c.log("naive: checking the loop against the core")
    mismatches = check(loaded, accounts, prices)
    return {
        "benchmark": "naive_loop",
        "goal": "ratio of a per-account Python loop to the vectorised core (no fixed target)",
        "accounts": accounts_n,
        "build_python_structures_s": build_s,
        "repeats": repeats,
        "load_before": before,
        "load_after": c.loadavg(),
        "machine": c.machine(),
        "results": rows,
        "mismatched_accounts": mismatches,
        "agree": not any(mismatches.values()),
    }


def render(r: dict[str, Any]) -> str:
    rows = [
        (
            x["job"],
            x["implementation"],
            x["best_s"] * 1000,
            x["median_s"] * 1000,
            x["accounts_per_s_best"],
            f"{x['speedup_over_loop_best']:.0f}x",
            x["load_1min"],
        )
        for x in r["results"]
    ]
    head = ("job", "implementation", "best ms", "median ms", "acc/s best", "vs loop", "load")
    agree = (
        "loop and core agree on every account (drift, trades, order values, cash, status)"
        if r["agree"]
        else f"LOOP AND CORE DISAGREE (accounts): {r['mismatched_accounts']}"
    )
    return "\n".join(
        [
            f"Naive per-account loop vs vectorised core — {r['accounts']:,} accounts",
            c.table(head, rows),
            agree,
            c.load_note(r["load_before"], r["load_after"]),
        ]
    )


def main() -> None:
    c.main_per_book(__doc__, 10_000, run, render)


if __name__ == "__main__":
    main()
