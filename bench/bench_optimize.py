"""Best Fit and Minimum Transaction per account, and household rebalance per household.

Synthetic, seeded accounts of ``--securities`` model lines (default 30): prices $10-$500,
values $50,000-$2,000,000, holdings drifted ±40% around target, cash 0-5% of value,
a model cash target of ``--cash-target`` percent (default 1), bands at ±20% of each target;
one in four accounts also holds a security outside the model. Each account is solved on
its own (``best_fit`` / ``minimum_transaction``, the default per-account time limit) and
timed; the report gives median, p99 and max milliseconds per account (wall clock, and the
process's CPU time, which a busy shared machine moves much less), the share proven
optimal and how the others were settled (best solution at the limit, fallback, solver
error). ``--hard N`` adds N small accounts of the shapes the proofs find hard (2 to
``--hard-lines`` lines, default 8). Household rebalance plans
``--households`` households of 3 accounts in one call and rounds them; the report gives
the total and the time per household. Nothing here is part of the test run.

    .venv/bin/python bench/bench_optimize.py [--accounts 300] [--households 1000]
        [--cash-target 1] [--hard N] [--hard-lines 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np

from trimtab.core.batch import AccountBatch, make_batch
from trimtab.core.household import household_rebalance
from trimtab.core.rounding import round_plan
from trimtab.optimize import DEFAULT_TIME_LIMIT, SolveStatus, best_fit, minimum_transaction

GOAL_MEDIAN_MS = 5.0
GOAL_P99_MS = 50.0


def accounts(n: int, k: int, seed: int = 11, cash_target: float = 0.01) -> AccountBatch:
    """``n`` accounts of ``k`` model lines (plus one slot for a non-model holding), with a
    model cash target of ``cash_target`` (a fraction of value)."""
    rng = np.random.default_rng(seed)
    width = k + 1
    price = np.round(rng.uniform(10.0, 500.0, (n, width)), 2)
    target = np.zeros((n, width))
    target[:, :k] = rng.dirichlet(np.ones(k), n) * (1.0 - cash_target)
    value = rng.uniform(50_000.0, 2_000_000.0, n)
    cash_share = rng.uniform(0.0, 0.05, n)
    drifted = target * rng.uniform(0.6, 1.4, (n, width))
    drifted *= ((1.0 - cash_share) / drifted.sum(axis=1))[:, None]
    quantity = np.floor(drifted * value[:, None] / price)
    in_model = np.zeros((n, width), dtype=bool)
    in_model[:, :k] = True
    extra = rng.random(n) < 0.25
    quantity[:, k] = np.where(extra, np.floor(0.03 * value / price[:, k]), 0.0)
    valid = in_model | (quantity > 0)
    cash = np.round(value * cash_share, 2)
    return make_batch(
        price=price,
        quantity=quantity,
        target=target,
        lower=target * 0.8,
        upper=target * 1.2,
        in_model=in_model,
        valid=valid,
        cash=cash,
        cash_target=np.full(n, cash_target),
    )


def hard_accounts(n: int, seed: int = 16, most_lines: int = 8) -> list[AccountBatch]:
    """``n`` small accounts (2 to ``most_lines`` lines) of the shapes the proofs find hard,
    in turn: cheap shares with no cash target and little cash; narrow bands that dear
    shares cannot all reach; a mix with a cash target of 0 or 0.5%."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = int(rng.integers(2, most_lines + 1))
        shape = i % 3
        if shape == 0:
            price = np.round(rng.uniform(2.0, 15.0, k), 2)
            qty = rng.integers(0, 400, k).astype(np.float64)
            ct, cash = 0.0, float(np.round(rng.uniform(0.0, 30.0), 2))
            half_of = 0.1 * np.ones(k)
        elif shape == 1:
            price = np.round(rng.uniform(50.0, 400.0, k), 2)
            qty = rng.integers(0, 8, k).astype(np.float64)
            ct = float(rng.choice([0.0, 0.01, 0.02]))
            cash = float(np.round(rng.uniform(0.0, 200.0), 2))
            half_of = rng.uniform(0.0, 0.05, k)
        else:
            price = np.round(rng.uniform(1.0, 60.0, k), 2)
            qty = rng.integers(0, 60, k).astype(np.float64)
            ct = float(rng.choice([0.0, 0.005]))
            cash = float(np.round(rng.uniform(0.0, 50.0), 2))
            half_of = rng.uniform(0.01, 0.2, k)
        target = rng.dirichlet(np.ones(k)) * (1.0 - ct)
        half = target * half_of
        out.append(
            make_batch(
                price=price[None],
                quantity=qty[None],
                target=target[None],
                lower=np.maximum(target - half, 0.0)[None],
                upper=(target + half)[None],
                in_model=np.ones((1, k), dtype=bool),
                valid=np.ones((1, k), dtype=bool),
                cash=np.array([cash]),
                cash_target=np.array([ct]),
            )
        )
    return out


def time_hard(batches: list[AccountBatch], solve: Any, time_limit: float) -> dict[str, Any]:
    """:func:`time_solver` over one-account batches."""
    ms = np.empty((len(batches), 2))
    status = np.zeros(len(SolveStatus), dtype=int)
    solve(batches[0], 0, time_limit=time_limit)
    for i, one in enumerate(batches):
        ms[i], result = _timed(solve, one, 0, time_limit)
        status[result.status] += 1
    return _summary(ms, status)


def _timed(solve: Any, batch: AccountBatch, row: int, time_limit: float) -> tuple[Any, Any]:
    """Wall and CPU milliseconds of one solve (CPU time counts the solver's threads too, and
    is little moved by other processes on a shared machine), and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = solve(batch, row, time_limit=time_limit)
    spent = ((time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0)
    return spent, result


def _summary(both: np.ndarray, status: np.ndarray) -> dict[str, Any]:
    ms, cpu = both[:, 0], both[:, 1]
    return {
        "accounts": int(ms.size),
        "median_ms": round(float(np.median(ms)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "cpu_median_ms": round(float(np.median(cpu)), 2),
        "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 2),
        "cpu_max_ms": round(float(cpu.max()), 2),
        "optimal": int(status[SolveStatus.OPTIMAL]),
        "proven_pct": round(100.0 * float(status[SolveStatus.OPTIMAL]) / ms.size, 2),
        "incumbent_at_limit": int(status[SolveStatus.INCUMBENT]),
        "fallback": int(status[SolveStatus.FALLBACK]),
        "solver_error": int(status[SolveStatus.SOLVER_ERROR]),
    }


def time_solver(batch: AccountBatch, solve: Any, time_limit: float) -> dict[str, Any]:
    ms = np.empty((batch.size, 2))
    status = np.zeros(len(SolveStatus), dtype=int)
    solve(batch, 0, time_limit=time_limit)  # warm-up: loads HiGHS
    for row in range(batch.size):
        ms[row], result = _timed(solve, batch, row, time_limit)
        status[result.status] += 1
    return _summary(ms, status)


def time_households(households: int, k: int, repeats: int) -> dict[str, Any]:
    batch = accounts(households * 3, k, seed=23)
    symbol = np.where(batch.valid, np.arange(batch.width, dtype=np.int32)[None, :], -1)
    symbol = symbol.astype(np.int32)
    household = np.repeat(np.arange(households, dtype=np.int32), 3)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        plan = household_rebalance(batch, symbol, household).plan
        round_plan(batch, plan, unit=1.0, min_trade_value=0.0)
        runs.append(time.perf_counter() - t0)
    best = min(runs)
    return {
        "households": households,
        "accounts": households * 3,
        "best_s": round(best, 3),
        "median_s": round(float(np.median(runs)), 3),
        "ms_per_household": round(best * 1000.0 / households, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--securities", type=int, default=30)
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT)
    parser.add_argument(
        "--cash-target", type=float, default=1.0, help="Model cash target, percent of value."
    )
    parser.add_argument(
        "--hard", type=int, default=0, help="Also time this many small accounts of hard shapes."
    )
    parser.add_argument(
        "--hard-lines", type=int, default=8, help="Most model lines of a hard account."
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    batch = accounts(args.accounts, args.securities, cash_target=args.cash_target / 100.0)
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "securities": args.securities,
        "cash_target_pct": args.cash_target,
        "time_limit_s": args.time_limit,
        "best_fit": time_solver(batch, best_fit, args.time_limit),
        "minimum_transaction": time_solver(batch, minimum_transaction, args.time_limit),
        "household_rebalance": time_households(args.households, args.securities, args.repeats),
        "goal": {"median_ms": GOAL_MEDIAN_MS, "p99_ms": GOAL_P99_MS},
    }
    if args.hard:
        hard = hard_accounts(args.hard, most_lines=args.hard_lines)
        report["hard_lines"] = f"2-{args.hard_lines}"
        report["hard_best_fit"] = time_hard(hard, best_fit, args.time_limit)
        report["hard_minimum_transaction"] = time_hard(hard, minimum_transaction, args.time_limit)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    for name in ("best_fit", "minimum_transaction", "hard_best_fit", "hard_minimum_transaction"):
        if name not in report:
            continue
        r = report[name]
        shape = f"hard, {report['hard_lines']} lines" if name.startswith("hard") else "standard"
        print(
            f"{name:25s} {r['accounts']} accounts ({shape}): "
            f"median {r['median_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms "
            f"(CPU {r['cpu_median_ms']} / {r['cpu_p99_ms']} / {r['cpu_max_ms']} ms); "
            f"proven {r['proven_pct']}% (at limit {r['incumbent_at_limit']}, "
            f"fallback {r['fallback']}, solver error {r['solver_error']})"
        )
    h = report["household_rebalance"]
    print(
        f"household_rebalance  {h['households']} households of 3 accounts: best {h['best_s']} s, "
        f"median {h['median_s']} s, {h['ms_per_household']} ms per household"
    )
    print(f"load average {report['machine']['load_average']}")


if __name__ == "__main__":
    main()
