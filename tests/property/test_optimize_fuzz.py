"""Best Fit and Minimum Transaction against exhaustive search on many random small accounts,
hard shapes included: every answer must be proven optimal, and be the optimum.

Each account is one of six shapes, in turn by seed: the three hard shapes of
``test_optimize_hard_shapes`` (cheap shares with no cash target and little cash; narrow
bands that dear shares cannot all reach; a mix), a random account with a security outside
the model (``test_optimize``), the same with rules (a sell limit, a line that may not be
bought), and a line below its band whose buy must be paid for by extra sells of the others
with no cash. The expected optimum comes from enumerating every whole-share trade.

The test run checks :data:`ACCOUNTS` accounts; ``TRIMTAB_FUZZ_ACCOUNTS`` asks for more.
Run as a script it prints the counts (``docs/benchmarks-optimize.md``)::

    .venv/bin/python -m tests.property.test_optimize_fuzz 12000 [first seed]
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import Any

import numpy as np
import pytest

from tests.unit.test_optimize import (
    _account,
    _grid,
    _lexicographic_best,
    _score_one,
    _scores,
    _short_of_cash,
)
from tests.unit.test_optimize_hard_shapes import hard_account
from trimtab.core.batch import AccountBatch
from trimtab.optimize import SolveStatus, best_fit, minimum_transaction, shortcut
from trimtab.optimize.leave_band import leave_bands

ACCOUNTS = int(os.environ.get("TRIMTAB_FUZZ_ACCOUNTS", "240"))
TOL = 0.01 + 1e-6
"""Dollars: optimal to the cent (the solver's documented gap; the proofs are exact)."""
MAX_GRID = 400_000
"""Trades enumerated at most per account; a larger account is skipped and counted."""
SHAPES = 6


def fuzz_account(seed: int) -> AccountBatch:
    """The account of ``seed`` (shape ``seed % 6``, module docstring)."""
    shape = seed % SHAPES
    if shape < 3:
        return hard_account(3 * (seed // SHAPES) + shape + 1_000_000)
    rng = np.random.default_rng(7_000_000 + seed)
    if shape == 5:
        return _short_of_cash(rng, exact=bool(rng.integers(0, 2)))
    batch = _account(rng, int(rng.integers(2, 4)), non_model=bool(rng.integers(0, 2)))
    if shape == 3:
        return batch
    sell_limit = batch.sell_limit.copy()
    line = int(rng.integers(0, batch.width))
    sell_limit[0, line] = np.floor(sell_limit[0, line] * rng.uniform(0.0, 1.0))
    allowed = batch.buy_allowed.copy()
    allowed[0, int(rng.integers(0, batch.width))] = False
    return batch.with_rules(sell_limit=sell_limit, buy_allowed=allowed)


def _floor(batch: AccountBatch) -> float:
    """Cash Minimum Transaction must keep: min(cash, cash target), not below 0, with the
    proceeds of non-model holdings sold in full counted as cash."""
    price = batch.price[0]
    model = batch.in_model[0] & batch.valid[0]
    cash = float(batch.cash[0]) + float((batch.sell_limit[0] * price)[~model].sum())
    value = float(batch.cash[0] + batch.quantity[0] @ price)
    return max(0.0, min(cash, float(batch.cash_target[0]) * value))


def check(seed: int, *, again: bool = False) -> dict[str, str] | None:
    """``{logic: outcome}`` for the account of ``seed`` (``"ok"``, ``"not proven"`` or what
    differs from the exhaustive optimum), or ``None`` when it has too many trades to
    enumerate. With ``again`` each logic solves twice and must give the same trades."""
    batch = fuzz_account(seed)
    trades, _ = _grid(batch)
    if trades.shape[0] > MAX_GRID:
        return None
    s = _scores(batch, trades)
    floor = _floor(batch)
    cases = (
        ("best_fit", best_fit, "deviation", 0.0),
        ("minimum_transaction", minimum_transaction, "violation", floor),
    )
    out = {}
    for name, solve, first, keep in cases:
        best_first, least_turnover = _lexicographic_best(
            s[first], s["turnover"], s["cash_after"] >= keep - 1e-9
        )
        result = solve(batch, 0)
        got = _score_one(batch, result.quantity)
        q = result.quantity
        if again and not np.array_equal(q, solve(batch, 0).quantity):
            out[name] = "not deterministic"
        elif result.status is not SolveStatus.OPTIMAL:
            out[name] = f"not proven ({result.status.name})"
        elif got["cash_after"] < keep - 1e-6:
            out[name] = "cash below its floor"
        elif np.any(-q > batch.sell_limit[0] + 1e-9) or np.any(q[~batch.buy_allowed[0]] > 0):
            out[name] = "rule broken"
        elif abs(got[first] - best_first) > TOL:
            out[name] = f"{first} {got[first]:.4f}, optimum {best_first:.4f}"
        elif got["turnover"] > least_turnover + TOL:
            out[name] = f"turnover {got['turnover']:.2f}, least {least_turnover:.2f}"
        else:
            out[name] = "ok"
    return out


@pytest.mark.parametrize("chunk", range(8))
def test_fuzz_every_answer_proven_and_optimal(chunk: int) -> None:
    bad = {}
    checked = 0
    for seed in range(chunk, ACCOUNTS, 8):
        outcome = check(seed, again=seed % 5 == 0)
        if outcome is None:
            continue
        checked += 1
        bad.update({(seed, k): v for k, v in outcome.items() if v != "ok"})
    assert checked >= ACCOUNTS // 8 * 0.9
    assert bad == {}


def main(accounts: int, first: int = 0) -> None:
    """Check ``accounts`` seeds from ``first``; print the outcomes per logic and shape, and
    how many Minimum Transaction answers :func:`~trimtab.optimize.leave_band.leave_bands`
    proved."""
    settled = Counter[str]()

    def counted(*args: Any) -> Any:
        found = leave_bands(*args)
        settled["proved" if found is not None else "gave up"] += 1
        return found

    shortcut.leave_bands = counted
    counts: Counter[tuple[str, int, str]] = Counter()
    skipped = 0
    examples: dict[tuple[str, str], int] = {}
    for seed in range(first, first + accounts):
        outcome = check(seed, again=seed % 10 == 0)
        if outcome is None:
            skipped += 1
            continue
        for name, verdict in outcome.items():
            kind = verdict if verdict in ("ok", "not deterministic") else verdict.split(" ")[0]
            counts[(name, seed % SHAPES, kind)] += 1
            if verdict != "ok":
                examples.setdefault((name, verdict), seed)
    for name in ("best_fit", "minimum_transaction"):
        total = sum(v for (n, _, _), v in counts.items() if n == name)
        ok = sum(v for (n, _, k), v in counts.items() if n == name and k == "ok")
        print(f"{name}: {total} accounts, {ok} proven and optimal, {total - ok} not")
        for shape in range(SHAPES):
            row = {k: v for (n, sh, k), v in counts.items() if n == name and sh == shape}
            print(f"  shape {shape}: {row}")
    print(f"skipped (more than {MAX_GRID:,} trades to enumerate): {skipped}")
    print(f"leave_bands: {dict(settled)}")
    for (name, verdict), seed in sorted(examples.items()):
        print(f"  e.g. seed {seed} {name}: {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
