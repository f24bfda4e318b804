"""Rules cost end to end: ``trimtab propose-book`` on a book with and without rule tables.

The demo book (``_common.ensure_book``) is linked into ``bench/out/book-N-rules/`` with
seeded Parquet ``restrictions``, ``locks`` and ``lots`` tables, the rules of
``bench_rules.py``: 20% of accounts restricted (an exclusion or a substitution on one model
line, and a two-member equivalents group, one member ``buy_first``), gain locks on half of
them, some elective locks, and every holding split into up to 3 tax lots (whole shares; 1%
without a cost basis) acquired up to 3 years before the as-of date. Timed, for both books:

- the whole command as a subprocess, best and median of ``--repeats`` runs after a warm-up,
  the two books taken in turn, wall time and the child's CPU time (user + system)::

      trimtab propose-book BOOK --method rebalance_to_target --as-of 2026-11-23 \\
          --out OUT.parquet --workers 2

- in-process, once after a warm-up, the stages of the command: ``read_book``, ``book_rules``
  (its ``book_slot_rules`` also timed alone) and the proposal stream
  ``iter_proposal_tables`` (which prepares each chunk's rules, ``SlotRules.prepared_rows``:
  relief order and price-independent lot checks); the rest of the command's time is
  start-up and writing.

    .venv/bin/python bench/bench_rules_book.py [--accounts 100000] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import resource
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import _common as c

AS_OF = date(2026, 11, 23)
START = date(2026, 1, 2)
METHOD = "rebalance_to_target"
WORKERS = 2
SEED = 11
RESTRICTED = 0.20
BEHAVIOURS = ["hold", "liquidate_immediately", "liquidate_as_needed"]
MEMBERS = ["none", "buy_first", "do_not_sell", "do_not_buy", "do_not_trade"]


def _text(vocabulary: list[str], codes: Any, null: Any = None) -> pa.Array:
    """Strings ``vocabulary[codes]`` (null where ``null``) as a plain string column."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(vocabulary)).cast(pa.string())


def rule_tables(book: Path) -> dict[str, pa.Table]:
    """Seeded ``restrictions``, ``locks`` and ``lots`` for the book in ``book``, vectorised."""
    rng = np.random.default_rng(SEED)
    accounts, models, prices, positions = (
        pq.read_table(book / f"{name}.parquet", columns=cols)
        for name, cols in (
            ("accounts", ["account_id", "model_id"]),
            ("models", ["model_id", "symbol"]),
            ("prices", ["symbol", "price"]),
            ("positions", None),
        )
    )
    ids = accounts.column("account_id").combine_chunks()
    # Model lines in file order, grouped by model: line j of model m is row order[start[m] + j].
    model_ids = pc.unique(models.column("model_id"))
    line_model = pc.index_in(models.column("model_id"), value_set=model_ids).to_numpy()
    order = np.argsort(line_model, kind="stable")
    lines = np.bincount(line_model, minlength=len(model_ids))
    start = np.r_[0, np.cumsum(lines)[:-1]]
    model = pc.index_in(accounts.column("model_id"), value_set=model_ids).to_numpy()
    picked = np.flatnonzero(rng.random(len(ids)) < RESTRICTED)
    picked = picked[lines[model[picked]] >= 4]
    p = picked.size
    width = lines[model[picked]]
    first = rng.integers(0, width)
    # Lines a (restricted), b (substitute), g1 and g2 (equivalents): four distinct lines.
    a, b, g1, g2 = (order[start[model[picked]] + (first + j) % width] for j in range(4))
    sym = models.column("symbol").combine_chunks()
    substitution = rng.random(p) < 0.5
    none = np.zeros(p, dtype=bool)

    def three(*cols: Any) -> np.ndarray:  # one row per restriction row, 3 per account
        return np.stack(cols, axis=1).ravel()

    at = pa.array(three(a, g1, g2))
    substitute = pa.array(three(b, b, b), mask=three(~substitution, ~none, ~none))
    restrictions = pa.table(
        {
            "account_id": ids.take(pa.array(np.repeat(picked, 3))),
            "restriction_id": _text(["r1", "g1"], np.tile([0, 1, 1], p)),
            "type": _text(
                ["exclusion", "substitution", "equivalents"],
                three(substitution, none + 2, none + 2),
            ),
            "symbol": sym.take(at),
            "substitute": sym.take(substitute),
            "replacement": _text(
                ["hold_cash", "reallocate"],
                three(rng.integers(0, 2, p), none, none),
                three(substitution, ~none, ~none),
            ),
            "behaviour": _text(
                BEHAVIOURS + MEMBERS,
                three(rng.integers(0, 3, p), none + 4, 3 + rng.integers(0, 5, p)),
            ),
            "start_date": pa.array(np.full(3 * p, START), pa.date32()),
        }
    )
    gain = picked[rng.random(p) < 0.5]
    elective = rng.random(p) < 0.2
    locked = np.r_[gain, picked[elective]]
    is_gain = np.arange(locked.size) < gain.size  # a gain lock without symbol: whole account
    locks = pa.table(
        {
            "account_id": ids.take(pa.array(locked)),
            "type": _text(["gain", "elective"], ~is_gain),
            "symbol": sym.take(pa.array(np.r_[gain * 0, b[elective]], mask=is_gain)),
        }
    )
    # Lots: each holding's whole shares split at random in 3 (empty lots dropped): the lots
    # of a holding add up to its quantity, which they replace.
    pos_account = pc.index_in(positions.column("account_id"), value_set=ids).to_numpy()
    symbols = prices.column("symbol").combine_chunks()
    pos_symbol = pc.index_in(positions.column("symbol").cast(pa.string()), value_set=symbols)
    pos_symbol = pos_symbol.to_numpy()
    qty = positions.column("quantity").to_numpy()
    q = np.floor(rng.dirichlet(np.ones(3), qty.size) * qty[:, None])
    q[:, 0] += qty - q.sum(axis=1)
    price = prices.column("price").to_numpy()[pos_symbol]
    basis = np.round(q * price[:, None] * rng.uniform(0.6, 1.4, q.shape), 2).ravel()
    age = rng.integers(1, 1100, q.size)
    keep = q.ravel() > 0
    holding = np.repeat(np.arange(qty.size), 3)[keep]
    epoch_days = (AS_OF - date(1970, 1, 1)).days
    lots = pa.table(
        {
            "account_id": pa.DictionaryArray.from_arrays(pa.array(pos_account[holding]), ids),
            "symbol": pa.DictionaryArray.from_arrays(pa.array(pos_symbol[holding]), symbols),
            "quantity": q.ravel()[keep],
            "cost_basis": pa.array(basis[keep], mask=(rng.random(q.size) < 0.01)[keep]),
            "acquired": pa.array((epoch_days - age[keep]).astype(np.int32)).cast(pa.date32()),
        }
    )
    return {"restrictions": restrictions, "locks": locks, "lots": lots}


def ensure_rules_book(accounts: int) -> Path:
    """``bench/out/book-N-rules``: the demo book's tables (symlinks) and the rule tables,
    made again when the demo book or this generator's source changes."""
    plain = c.ensure_book(accounts)
    folder = c.OUT / f"book-{accounts}-rules"
    marker = folder / ".complete"
    source = inspect.getsource(rule_tables) + inspect.getsource(_text)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    version = f"book-{accounts} {c.demo_version()}, seed {SEED}, rules {digest}"
    if marker.exists() and version in marker.read_text():
        return folder
    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    for table in plain.glob("*.parquet"):
        (folder / table.name).symlink_to(Path("..") / plain.name / table.name)
    tables = rule_tables(plain)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    rows = ", ".join(f"{t.num_rows:,} {name}" for name, t in tables.items())
    c.log(f"generated {folder} ({rows}) in {time.perf_counter() - t0:.1f} s")
    marker.write_text(version + "\n")
    return folder


def run_command(folder: Path, out: Path) -> tuple[float, float]:
    """Wall and child CPU seconds (user + system) of one ``propose-book`` run."""
    cmd = [c.TRIMTAB, "propose-book", folder, "--method", METHOD, "--as-of", AS_OF.isoformat()]
    cmd += ["--out", out, "--workers", str(WORKERS)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([str(a) for a in cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        c.log(f"exit {proc.returncode}: {' '.join(map(str, cmd))}\n{proc.stderr}")
        raise SystemExit(1)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def time_commands(folders: dict[str, Path], repeats: int) -> dict[str, dict[str, Any]]:
    """Each book's command, the books taken in turn (a warm-up round, then ``repeats``
    rounds of one run each), so that neither book runs right after itself: a run leaves
    memory and caches to the next that a different book would not find."""
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        outs = {name: Path(tmp) / f"{name}.parquet" for name in folders}
        cpus: dict[str, list[float]] = {name: [] for name in folders}

        def work(name: str) -> Any:
            def run() -> None:
                cpus[name].append(run_command(folders[name], outs[name])[1])

            return run

        timings = c.repeat_together({name: work(name) for name in folders}, repeats)
        for name, timing in timings.items():
            cpu = tuple(cpus[name][-repeats:])  # the warm-up's run comes first
            trades = pq.ParquetFile(outs[name]).metadata.num_rows
            out[name] = {
                **c.Timing(timing.times, cpu).as_dict(),
                "cpu_runs_s": list(cpu),
                "trades": trades,
            }
    return out


def time_stages(folder: Path, ruled: bool) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds of the command's stages, in-process, as ``propose-book`` runs them; and the
    count of extra slots restrictions asked for and of accounts with restrictions."""
    from trimtab.io.batch import batch_options, book_rules, iter_proposal_tables, with_book_classes
    from trimtab.io.book import read_book
    from trimtab.io.book_rules import book_slot_rules

    out: dict[str, float] = {}
    info: dict[str, int] = {}

    def timed(name: str, work: Any) -> Any:
        t0 = time.perf_counter()
        result = work()
        out[name] = time.perf_counter() - t0
        return result

    method, options = batch_options(
        method=METHOD,
        rounding="whole_shares",
        share_decimals=3,
        cash_to_generate=None,
        mccar_pct=None,
        cash_to_invest=None,
        min_trade_value=0.0,
    )
    loaded = timed("read", lambda: read_book(folder, keep_positions=False))
    rules = None
    if ruled:
        _, extra = timed("book_slot_rules", lambda: book_slot_rules(folder, loaded, as_of=AS_OF))
        loaded, rules = timed("book_rules", lambda: book_rules(folder, loaded, AS_OF))
        restricted = (rules.rules.restrictions.behaviour > 0).any(axis=1)
        info = {"extra_slots": len(extra), "restricted_accounts": int(restricted.sum())}
    options = with_book_classes(loaded, method, options)
    stream = iter_proposal_tables(loaded, method, options, workers=WORKERS, rules=rules)
    timed("propose", lambda: sum(t.num_rows for t, _ in stream))
    return out, info


def run(accounts: int, repeats: int) -> dict[str, Any]:
    folders = {"plain": c.ensure_book(accounts), "rules": ensure_rules_book(accounts)}
    load_before = c.loadavg()
    results = time_commands(folders, repeats)
    for name, timing in results.items():
        c.log(f"{name}: best {timing['best_s']:.2f} s, cpu {timing['cpu_best_s']:.2f} s")
    for name, folder in folders.items():
        time_stages(folder, name == "rules")  # warm-up
        stages, info = time_stages(folder, name == "rules")
        results[name].update(info)
        staged = stages["read"] + stages.get("book_rules", 0.0) + stages["propose"]
        stages["rest"] = results[name]["best_s"] - staged  # start-up, imports, writing
        results[name]["stages_s"] = stages
        c.log(f"{name} stages: " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    plain = results["plain"]
    for timing in results.values():
        timing["accounts_per_s"] = accounts / timing["best_s"]
        timing["cpu_accounts_per_s"] = accounts / timing["cpu_best_s"]
        timing["share_of_plain"] = plain["best_s"] / timing["best_s"]
        timing["cpu_share_of_plain"] = plain["cpu_best_s"] / timing["cpu_best_s"]
    tables = {
        n: pq.ParquetFile(folders["rules"] / f"{n}.parquet").metadata.num_rows
        for n in ("restrictions", "locks", "lots")
    }
    return {
        "accounts": accounts,
        "command": f"trimtab propose-book BOOK --method {METHOD} --as-of {AS_OF} "
        f"--out OUT.parquet --workers {WORKERS}",
        "rule_rows": tables,
        "repeats": repeats,
        "workers": WORKERS,
        "machine": c.machine(),
        "load_before": load_before,
        "load_after": c.loadavg(),
        "results": results,
    }


def render(result: dict[str, Any]) -> str:
    res = result["results"]
    keys = ("best_s", "median_s", "cpu_best_s", "accounts_per_s", "cpu_accounts_per_s")
    shares = ("share_of_plain", "cpu_share_of_plain")
    rows = [[b, *(r[k] for k in keys), *(f"{r[k]:.0%}" for k in shares)] for b, r in res.items()]
    head = ["book", "best s", "median s", "cpu s", "accounts/s", "cpu acc/s", "share", "cpu share"]
    names = ["read", "book_rules", "book_slot_rules", "propose", "rest"]
    stages = [[n] + [res[b]["stages_s"].get(n, float("nan")) for b in res] for n in names]
    return "\n\n".join(
        [
            c.report(f"propose-book, {result['accounts']:,} accounts", head, rows, result),
            "stages (s; book_slot_rules is part of book_rules, timed alone)\n"
            + c.table(["stage", *res], stages),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.accounts, args.repeats)
    c.emit(result, render(result), args.json)


if __name__ == "__main__":
    main()
