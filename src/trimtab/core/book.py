"""A whole book in compact arrays, cut into :class:`AccountBatch` chunks on demand.

Per account only the slot symbols and quantities are stored (N x K); prices, targets and
bands come from per-symbol and per-model tables when a chunk is cut, which keeps a million
accounts well inside memory. Chunks are evaluated on a thread pool: numpy releases the GIL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Fractions, Shares
from trimtab.core.drift import DriftResult, drift
from trimtab.core.engine import BatchProposal, Method, TradeOptions, propose

Codes = npt.NDArray[np.int32]
CHUNK = 4096
"""Accounts per chunk of proposals: small enough for the CPU caches, large enough to amortise
the logics' many numpy calls."""

RULES_CHUNK = 8192
"""Accounts per chunk of proposals under rules: applying them costs more per chunk (several
hundred numpy calls), so larger chunks win (measured, rebalance to target with the rules of
``bench/bench_rules.py``: 537k accounts/s against 487k with 4,096 on 2 cores; plain
proposals are faster with :data:`CHUNK`)."""

DRIFT_CHUNK = 2048
"""Accounts per chunk of drift: its few passes are bound by memory, so chunks that stay in a
core's cache win (measured: 3.6 M accounts/s against 3.0 M with 4,096 on 2 cores)."""

T = TypeVar("T")


class DuplicateHolding(ValueError):
    """Two positions of one account name the same symbol; ``index`` is the later one."""

    def __init__(self, index: int) -> None:
        self.index = index
        super().__init__(f"duplicate holding at position {index}")


@dataclass(frozen=True, slots=True)
class BookArrays:
    """Every account of a book. Symbols and models are referred to by code.

    Attributes:
        price: dollars per share by symbol code, (S + 1,); the extra last entry is 1.0 so
            that code -1 (padding) reads a harmless price.
        model_symbol: symbol code of each model line, -1 past the model's end, (M, L).
        model_target, model_lower, model_upper: fractions of account value, (M, L).
        model_cash: the model's cash target, fraction, (M,).
        account_model: model code per account, (N,).
        cash: dollars, (N,).
        slot_symbol: symbol code per slot, -1 for padding, (N, K); slots ``[0, L)`` are the
            account's model lines, ``[L, K)`` its non-model holdings in symbol-code order.
        quantity: shares held per slot, (N, K).
        slot_target, slot_lower, slot_upper: the model tables padded with zeros to the K
            slots, (M, K), so that cutting a chunk is one gather per table.
    """

    price: Dollars
    model_symbol: Codes
    model_target: Fractions
    model_lower: Fractions
    model_upper: Fractions
    model_cash: Fractions
    account_model: Codes
    cash: Dollars
    slot_symbol: Codes
    quantity: Shares
    slot_target: Fractions
    slot_lower: Fractions
    slot_upper: Fractions

    @property
    def size(self) -> int:
        """Number of accounts."""
        return int(self.cash.shape[0])

    @property
    def model_width(self) -> int:
        """Slots reserved for model lines (the longest model)."""
        return int(self.model_symbol.shape[1])

    def batch(self, start: int, stop: int) -> AccountBatch:
        """Accounts ``start:stop`` as a dense batch with no rules applied."""
        codes = self.account_model[start:stop]
        slot_symbol = self.slot_symbol[start:stop]
        valid = slot_symbol >= 0
        in_model = valid.copy()
        in_model[:, self.model_width :] = False
        quantity = self.quantity[start:stop]
        return AccountBatch(
            price=self.price[slot_symbol],
            quantity=quantity,
            target=self.slot_target[codes],
            lower=self.slot_lower[codes],
            upper=self.slot_upper[codes],
            in_model=in_model,
            valid=valid,
            cash=self.cash[start:stop],
            cash_target=self.model_cash[codes],
            sell_limit=quantity,
            buy_allowed=in_model,
        )

    def slots_of(self, account: Codes, symbol: Codes) -> Codes:
        """The slot of each ``(account code, symbol code)`` pair, -1 where the account has
        none (codes out of range included). Model lines are looked up in a table by model
        and symbol; only the other pairs are searched for among the non-model slots."""
        n_symbols = self.price.shape[0] - 1
        width = self.model_width
        line_of = model_lines(self.model_symbol, n_symbols)
        known = (account >= 0) & (account < self.size) & (symbol >= 0) & (symbol < n_symbols)
        if known.all():
            slot = line_of[self.account_model.take(account), symbol]
        else:
            slot = np.full(account.shape, -1, dtype=np.int32)
            slot[known] = line_of[self.account_model[account[known]], symbol[known]]
        rest = np.flatnonzero(known & (slot < 0))
        if rest.size and self.slot_symbol.shape[1] > width:
            found = find_slots(self.slot_symbol[:, width:], account[rest], symbol[rest])
            slot[rest] = np.where(found >= 0, found + width, -1)
        out: Codes = slot.astype(np.int32, copy=False)
        return out

    def chunks(self, size: int = CHUNK) -> Iterator[tuple[int, int]]:
        """``(start, stop)`` of consecutive chunks of at most ``size`` accounts."""
        for start in range(0, self.size, size):
            yield start, min(start + size, self.size)


def map_chunks(
    book: BookArrays,
    work: Callable[[int, int], T],
    *,
    workers: int = 2,
    size: int = CHUNK,
    spans: Sequence[tuple[int, int]] | None = None,
) -> Iterator[tuple[int, int, T]]:
    """``work(start, stop)`` over every chunk of ``book``, in order, on ``workers`` threads.

    ``spans`` replaces the chunks of ``size`` accounts (e.g. chunks that keep households
    whole). At most ``2 x workers`` chunks are in flight, so memory does not grow with the
    book when the caller consumes results more slowly than they are made.
    """
    spans = list(book.chunks(size)) if spans is None else list(spans)
    if workers <= 1 or len(spans) <= 2 * workers:  # a pool costs more than it saves here
        for start, stop in spans:
            yield start, stop, work(start, stop)
        return
    window = 2 * workers
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[int, int, Future[T]]] = deque()
        for start, stop in spans:
            pending.append((start, stop, pool.submit(work, start, stop)))
            if len(pending) >= window:
                s, e, future = pending.popleft()
                yield s, e, future.result()
        while pending:
            s, e, future = pending.popleft()
            yield s, e, future.result()


def drift_book(book: BookArrays, *, workers: int = 2) -> DriftResult:
    """Drift of every account of ``book``, (N,) arrays as in :func:`drift`."""
    n = book.size
    value = np.empty(n)
    max_drift = np.empty(n)
    out_of_band = np.empty(n, dtype=np.int32)
    for start, stop, result in map_chunks(
        book, lambda s, e: drift(book.batch(s, e)), workers=workers, size=DRIFT_CHUNK
    ):
        value[start:stop] = result.value
        max_drift[start:stop] = result.max_drift
        out_of_band[start:stop] = result.out_of_band
    return DriftResult(value=value, max_drift=max_drift, out_of_band=out_of_band)


def propose_book(
    book: BookArrays,
    method: Method,
    options: TradeOptions | None = None,
    *,
    workers: int = 2,
) -> Iterator[tuple[int, int, BatchProposal]]:
    """Proposals chunk by chunk: ``(start, stop, proposal of accounts start:stop)``."""
    opts = options or TradeOptions()
    return map_chunks(
        book,
        lambda s, e: propose(book.batch(s, e), method, opts, rows=slice(s, e)),
        workers=workers,
    )


def model_lines(model_symbol: Codes, n_symbols: int) -> Codes:
    """Line of each symbol code in each model, -1 where absent, (M, S + 1); the last column
    (code -1) is all -1."""
    line_of = np.full((model_symbol.shape[0], n_symbols + 1), -1, dtype=np.int32)
    rows, cols = np.nonzero(model_symbol >= 0)
    line_of[rows, model_symbol[rows, cols]] = cols
    return line_of


def find_slots(slot_symbol: Codes, account: Codes, symbol: Codes) -> Codes:
    """The slot of each ``(account row, symbol code)`` pair in ``slot_symbol`` (N, K), -1
    where the row has no slot of that symbol (or no such row). One sort of the slots, one
    binary search per run of equal pairs (a position's lots usually come together)."""
    rows, cols = np.nonzero(slot_symbol >= 0)
    if account.size == 0 or rows.size == 0:
        return np.full(account.shape, -1, dtype=np.int32)
    # Key width covers every symbol code, of the slots and of the pairs: keys never collide.
    width = int(max(slot_symbol.max(), symbol.max())) + 2
    keys = rows.astype(np.int64) * width + slot_symbol[rows, cols] + 1
    order = np.argsort(keys, kind="stable")
    keys, cols = keys[order], cols[order]
    wanted = account.astype(np.int64) * width + symbol + 1
    run = np.flatnonzero(np.diff(wanted, prepend=wanted[:1] - 1) != 0)  # first key starts one
    found_at = np.minimum(np.searchsorted(keys, wanted[run]), keys.size - 1)
    at = np.repeat(found_at, np.diff(run, append=wanted.size))
    out: Codes = np.where(keys[at] == wanted, cols[at], -1).astype(np.int32)
    return out


def assemble_book(
    *,
    price: Dollars,
    model_symbol: Codes,
    model_target: Fractions,
    model_lower: Fractions,
    model_upper: Fractions,
    model_cash: Fractions,
    account_model: Codes,
    cash: Dollars,
    position_account: Codes,
    position_symbol: Codes,
    position_quantity: Shares,
    slots: int = 0,
) -> BookArrays:
    """Lay positions (account code, symbol code, shares) out in slots, vectorised.

    ``price`` is by symbol code, (S,). ``slots`` is the least number of slots per account
    (K): a part of a book is laid out as wide as the whole, so that its arrays are the
    whole's rows. Raises :class:`DuplicateHolding` when an account holds a symbol twice.
    """
    n_symbols = price.shape[0]
    n_models, width = model_symbol.shape
    line_of = model_lines(model_symbol, n_symbols)
    slot = line_of[account_model[position_account], position_symbol]
    outside = slot < 0
    extra = 0
    if outside.any():
        idx = np.flatnonzero(outside)
        key = position_account[idx].astype(np.int64) * (n_symbols + 1) + position_symbol[idx]
        order = np.argsort(key, kind="stable")
        idx = idx[order]
        acc = position_account[idx]
        sym = position_symbol[idx]
        same = (acc[1:] == acc[:-1]) & (sym[1:] == sym[:-1])
        if same.any():
            raise DuplicateHolding(int(max(idx[1:][same][0], idx[:-1][same][0])))
        starts = np.flatnonzero(np.r_[True, acc[1:] != acc[:-1]])
        group_start = np.repeat(starts, np.diff(np.r_[starts, acc.size]))
        rank = np.arange(acc.size) - group_start
        slot[idx] = width + rank
        extra = int(rank.max()) + 1
    k = max(width + extra, slots)
    n = account_model.shape[0]
    wide = n * k >= 2**31  # int32 indices halve the memory of a large book's layout
    flat: npt.NDArray[np.int64] | Codes = (
        position_account.astype(np.int64) * k + slot
        if wide
        else position_account.astype(np.int32) * np.int32(k) + slot
    )
    occupied = np.zeros(n * k, dtype=bool)
    occupied[flat] = True
    if np.count_nonzero(occupied) != flat.size:  # two positions in one slot: find the later
        order = np.argsort(flat, kind="stable")
        ranked = flat[order]
        again = np.flatnonzero(ranked[1:] == ranked[:-1]) + 1
        raise DuplicateHolding(int(order[again].min()))
    del occupied
    slot_symbol = np.full((n, k), -1, dtype=np.int32)
    slot_symbol[:, :width] = model_symbol[account_model]
    slot_symbol.ravel()[flat[outside]] = position_symbol[outside]
    quantity = np.zeros((n, k))
    quantity.ravel()[flat] = position_quantity

    def padded(table: Fractions) -> Fractions:
        out = np.zeros((n_models, k))
        out[:, :width] = table
        return out

    return BookArrays(
        price=np.r_[price.astype(np.float64), 1.0],
        model_symbol=model_symbol.astype(np.int32),
        model_target=model_target,
        model_lower=model_lower,
        model_upper=model_upper,
        model_cash=model_cash,
        account_model=account_model.astype(np.int32),
        cash=cash.astype(np.float64),
        slot_symbol=slot_symbol,
        quantity=quantity,
        slot_target=padded(model_target),
        slot_lower=padded(model_lower),
        slot_upper=padded(model_upper),
    )


def with_extra_slots(
    arrays: BookArrays, extra: Sequence[tuple[int, int]], *, slots: int = 0
) -> BookArrays:
    """``arrays`` with zero-quantity holdings at ``(account code, symbol code)`` pairs that
    have no slot yet (``arrays`` itself when all have one), so that rules can buy into
    securities an account neither holds nor has in its model; at least ``slots`` wide
    (:func:`assemble_book`)."""
    held = (arrays.slot_symbol >= 0) & (arrays.quantity > 0)
    held[:, arrays.model_width :] |= arrays.slot_symbol[:, arrays.model_width :] >= 0
    rows, cols = np.nonzero(held)
    extra_arr = np.array(extra, dtype=np.int32).reshape(-1, 2)
    laid = (arrays.slot_symbol[extra_arr[:, 0]] == extra_arr[:, 1:2]).any(axis=1)
    extra_arr = np.unique(extra_arr[~laid], axis=0)
    if extra_arr.shape[0] == 0:
        return arrays
    return assemble_book(
        price=arrays.price[:-1],
        model_symbol=arrays.model_symbol,
        model_target=arrays.model_target,
        model_lower=arrays.model_lower,
        model_upper=arrays.model_upper,
        model_cash=arrays.model_cash,
        account_model=arrays.account_model,
        cash=arrays.cash,
        position_account=np.r_[rows.astype(np.int32), extra_arr[:, 0]],
        position_symbol=np.r_[arrays.slot_symbol[rows, cols], extra_arr[:, 1]],
        position_quantity=np.r_[arrays.quantity[rows, cols], np.zeros(len(extra_arr))],
        slots=slots,
    )
