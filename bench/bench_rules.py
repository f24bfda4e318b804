"""Rules cost: rebalance to target on a book with and without restrictions, locks and lots.

The demo book (``_common.ensure_book``) gets seeded synthetic rules laid on its slots:
20% of accounts carry restrictions (an exclusion or a substitution, and an equivalents pair),
some gain and elective locks, and every holding is split into 3 tax lots (1% of them
without a cost basis). Timed, best and median of ``--repeats`` runs after a warm-up, the
variants taken in turn (each round runs every variant once), with ``workers=2`` threads.
Each path runs in the chunks ``propose-book`` gives it: ``CHUNK`` (4,096 accounts) without
rules, ``RULES_CHUNK`` (8,192) with them; ``--rules-chunk`` changes the latter.

- ``plain``: ``propose`` per chunk, no rules (the baseline);
- ``rules``: per chunk ``apply_slot_rules`` + ``propose`` with equivalents groups + ``settle``
  (the price-independent part of lot eligibility is cached once per book, ``prepared()``,
  untimed and reported apart);
- ``rules + lots``: as ``rules``, plus relieving the lots of every sale (gains per lot);
- ``rules + lots, prepared per chunk``: the same with each chunk's rules prepared in the
  chunk (``SlotRules.prepared_rows``: relief order and the price-independent lot checks),
  as ``propose-book`` does;
- ``prepared``: ``propose`` with groups + ``settle`` on batches whose rules were applied
  beforehand (``apply_slot_rules`` once per chunk, untimed: the rule arrays of a day serve
  every logic run on it).

    .venv/bin/python bench/bench_rules.py [--accounts 100000] [--repeats 3] [--workers 2]
        [--rules-chunk 8192] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np

import _common as c

AS_OF = date(2026, 11, 23)
RESTRICTED = 0.20
LOTS_PER_HOLDING = 3


def synthetic_rules(arrays: Any, seed: int = 11, lots_per_holding: int = LOTS_PER_HOLDING) -> Any:
    """Seeded rules for every account of ``arrays`` (a ``BookArrays``), laid on its slots."""
    from trimtab.core.lots import LotArrays
    from trimtab.core.restrictions import MemberBehaviour
    from trimtab.core.rules import SlotRules

    rng = np.random.default_rng(seed)
    n, k = arrays.slot_symbol.shape
    rules = SlotRules.none(n, k)
    res = rules.restrictions
    width = arrays.model_width
    picked = np.flatnonzero(rng.random(n) < RESTRICTED)
    lines = (arrays.slot_symbol[:, :width] >= 0).sum(axis=1)
    picked = picked[lines[picked] >= 4]
    a, b, g1, g2 = (rng.integers(0, lines[picked]) for _ in range(4))
    b = (a + 1) % lines[picked]
    g1 = (a + 2) % lines[picked]
    g2 = (a + 3) % lines[picked]
    res.behaviour[picked, a] = rng.integers(1, 4, picked.size)
    res.replacement[picked, a] = rng.integers(1, 3, picked.size)
    sub = rng.random(picked.size) < 0.5
    res.substitute[picked[sub], a[sub]] = b[sub]
    res.lead[picked, g1] = np.minimum(g1, g2)
    res.lead[picked, g2] = np.minimum(g1, g2)
    res.member[picked, g1] = MemberBehaviour.BUY_FIRST
    res.member[picked, g2] = rng.integers(0, 5, picked.size)
    res.several[picked, g1] = True
    res.several[picked, g2] = True
    gain = rules.gain_lock.copy()
    gain[picked[rng.random(picked.size) < 0.5]] = True
    elective = rules.elective.copy()
    elective[picked, b] = rng.random(picked.size) < 0.2
    ruled = rules.ruled.copy()
    ruled[:] = True
    rows, cols = np.nonzero(arrays.quantity > 0)
    qty = arrays.quantity[rows, cols]
    price = arrays.price[arrays.slot_symbol[rows, cols]]
    per = lots_per_holding
    m = rows.size * per
    lot_row = np.repeat(rows, per).astype(np.int32)
    lot_slot = np.repeat(cols, per).astype(np.int32)
    lot_q = np.repeat(qty / max(per, 1), per)
    basis = lot_q * np.repeat(price, per) * rng.uniform(0.6, 1.4, m)
    basis[rng.random(m) < 0.01] = np.nan
    acquired = AS_OF.toordinal() - rng.integers(1, 1100, m)
    lots = LotArrays(
        row=lot_row,
        slot=lot_slot,
        quantity=lot_q,
        basis=basis,
        acquired=acquired.astype(np.int32),
        rank=np.full(m, np.inf),
    )
    return replace(rules, gain_lock=gain, elective=elective, ruled=ruled, lots=lots)


def run(
    accounts: int, repeats: int, workers: int, lots_per_holding: int, rules_chunk: int
) -> dict[str, Any]:
    from trimtab.core.book import CHUNK, map_chunks
    from trimtab.core.engine import Method, propose
    from trimtab.core.rules import apply_slot_rules, relieved, settle
    from trimtab.io.book import read_book

    folder = c.ensure_book(accounts)
    arrays = read_book(folder).arrays
    t0 = time.perf_counter()
    unprepared = synthetic_rules(arrays, lots_per_holding=lots_per_holding)
    c.log(f"rules: {unprepared.lots.size:,} lots laid out in {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    rules = unprepared.prepared()
    cache_s = time.perf_counter() - t0
    c.log(f"rules: price-independent lot eligibility cached in {cache_s:.2f} s")
    method = Method.REBALANCE_TO_TARGET

    def plain(s: int, e: int) -> int:
        return int(propose(arrays.batch(s, e), method, rows=slice(s, e)).status.shape[0])

    def ruled(s: int, e: int, lots: bool = False, per_chunk: bool = False) -> int:
        chunk = unprepared.prepared_rows(s, e) if per_chunk else rules.rows(s, e)
        r = apply_slot_rules(arrays.batch(s, e), chunk, overwrite=True)
        p = propose(r.batch, method, rows=slice(s, e), groups=r.groups)
        p, _ = settle(p, r)
        if lots:
            relieved(p, r, AS_OF)
        return int(p.status.shape[0])

    def over(work: Any, size: int) -> Any:
        return lambda: sum(x for _, _, x in map_chunks(arrays, work, workers=workers, size=size))

    prepared = {
        s: apply_slot_rules(arrays.batch(s, e), rules.rows(s, e))
        for s, e in arrays.chunks(rules_chunk)
    }

    def on_prepared(s: int, e: int) -> int:
        r = prepared[s]
        p = propose(r.batch, method, rows=slice(s, e), groups=r.groups)
        p, _ = settle(p, r)
        return int(p.status.shape[0])

    variants = {
        "plain": over(plain, CHUNK),
        "rules": over(ruled, rules_chunk),
        "rules + lots": over(lambda s, e: ruled(s, e, lots=True), rules_chunk),
        "rules + lots, prepared per chunk": over(
            lambda s, e: ruled(s, e, lots=True, per_chunk=True), rules_chunk
        ),
        "prepared": over(on_prepared, rules_chunk),
    }
    rows = []
    for name, timing in c.repeat_together(variants, repeats).items():
        rows.append({"variant": name, "accounts_per_s": accounts / timing.best, **timing.as_dict()})
        c.log(f"{name}: best {timing.best:.3f} s = {accounts / timing.best:,.0f} accounts/s")
    base = rows[0]["accounts_per_s"]
    for row in rows:
        row["share_of_plain"] = row["accounts_per_s"] / base
    return {
        "accounts": accounts,
        "lots": rules.lots.size,
        "lot_cache_s": cache_s,
        "cpu_s_per_variant": {r["variant"]: r["cpu_best_s"] for r in rows},
        "restricted_accounts": int((rules.restrictions.behaviour > 0).any(axis=1).sum()),
        "workers": workers,
        "chunks": {"plain": CHUNK, "rules": rules_chunk},
        "machine": c.machine(),
        "load_before": c.loadavg(),
        "results": rows,
    }


def main() -> None:
    from trimtab.core.book import RULES_CHUNK

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lots-per-holding", type=int, default=LOTS_PER_HOLDING)
    parser.add_argument("--rules-chunk", type=int, default=RULES_CHUNK)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = run(args.accounts, args.repeats, args.workers, args.lots_per_holding, args.rules_chunk)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for row in out["results"]:
        print(
            f"{row['variant']:>14}: {row['accounts_per_s']:>12,.0f} accounts/s "
            f"(best {row['best_s']:.3f} s, median {row['median_s']:.3f} s, "
            f"{row['share_of_plain']:.0%} of plain)"
        )


if __name__ == "__main__":
    main()
