"""What stays the same through a backtest: the book laid out for the engine, its rules on
the first day, its accounts' households, registrations and trigger parameters, and the
price history and cash flows on its symbol and account codes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from trimtab.backtest.history import CashFlows, PriceHistory, read_flows, read_history
from trimtab.backtest.lotstore import LotStore
from trimtab.core.batch import AccountBatch
from trimtab.core.lots import METHOD_CODE, LotMethod
from trimtab.core.rules import SlotRules
from trimtab.core.triggers import TriggerParams
from trimtab.errors import BookError
from trimtab.io.arrow import as_numpy
from trimtab.io.batch import book_rules
from trimtab.io.book import LoadedBook, has_sleeve_tables, read_book
from trimtab.io.household_book import household_codes
from trimtab.io.tables import table_path

Codes = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def default_params(n: int) -> TriggerParams:
    """The service's default trigger parameters (the ``accounts`` table's defaults)."""
    return TriggerParams(
        sac_soft_pct=np.full(n, 5.0),
        sac_soft_days=np.full(n, 182, dtype=np.int64),
        sac_hard_pct=np.full(n, 10.0),
        cash_high_usd=np.full(n, 330.0),
        cash_low_pct=np.full(n, 0.3),
        sweep_pct=np.full(n, 0.7),
        sweep_min_usd=np.full(n, 80.0),
        no_trade_days=np.full(n, 550, dtype=np.int64),
    )


@dataclass(frozen=True, slots=True)
class Setup:
    """A book ready to replay.

    Attributes:
        loaded: the book as read (with slots for its rules' substitutes).
        base: every account as a batch at the book's prices: targets, bands, model lines.
        rules: the book's rules laid on its slots on the first day (locks, restrictions,
            lot methods); lots and wash-sale windows come from the replay instead.
        lots: the starting lots (the book's, plus one lot bought on the first day at its
            close for every holding without lots).
        household, qualified, managed: per account, (N,); managed: rebalancing on.
        classes: sub-asset-class code of each slot, -1 for none, (N, K); ``n_classes``.
        history, flows: on the book's symbol and account codes.
        params: the triggers' parameters per account.
    """

    loaded: LoadedBook
    base: AccountBatch
    rules: SlotRules
    lots: LotStore
    household: Codes
    qualified: Mask
    managed: Mask
    classes: npt.NDArray[np.int32]
    n_classes: int
    history: PriceHistory
    flows: CashFlows
    params: TriggerParams

    @property
    def size(self) -> int:
        return self.base.size

    @property
    def slot_symbol(self) -> npt.NDArray[np.int32]:
        return self.loaded.arrays.slot_symbol


def load_setup(book: Path, prices: Path, flows: Path | None = None) -> Setup:
    """Read a book folder, its price history and cash flows. Raises
    :class:`~trimtab.errors.InputError` naming the file, row and column at fault."""
    if has_sleeve_tables(book):
        raise BookError(str(book), "books with sleeves cannot be backtested yet")
    loaded = read_book(book)
    history = read_history(prices, loaded.symbols)
    start: date = history.days[0].astype(object)
    loaded, on = book_rules(book, loaded, start)
    rules = on.rules
    specific = rules.method == METHOD_CODE[LotMethod.SPECIFIC]
    # nobody names the lots bought in the replay: specific-lot accounts relieve first in
    rules = replace(rules, method=np.where(specific, 0, rules.method).astype(np.int8))
    n = loaded.arrays.size
    accounts = loaded.tables["accounts"]
    managed = np.ones(n, dtype=bool)
    if "rebalancing" in accounts.column_names:
        managed = as_numpy(accounts.column("rebalancing").fill_null(True)).astype(bool)
    base = loaded.arrays.batch(0, n)
    cash_flows = CashFlows.none()
    if flows is not None:
        cash_flows = read_flows(flows, loaded.account_ids.to_pylist(), history.days)
    classes, n_classes = _slot_classes(loaded)
    return Setup(
        loaded=loaded,
        base=base,
        rules=rules,
        lots=_starting_lots(loaded, rules, history, start, table_path(book, "lots")),
        household=household_codes(loaded).astype(np.int64),
        qualified=on.qualified,
        managed=managed,
        classes=classes,
        n_classes=n_classes,
        history=history,
        flows=cash_flows,
        params=default_params(n),
    )


def _starting_lots(
    loaded: LoadedBook, rules: SlotRules, history: PriceHistory, start: date, path: Path | None
) -> LotStore:
    """The book's lots, and a lot bought at the first close for each holding without any."""
    arrays = loaded.arrays
    lots = rules.lots
    late = lots.acquired > start.toordinal()
    if late.any():
        first = int(lots.source[np.flatnonzero(late)[0]]) + 1 if lots.source is not None else 0
        raise BookError(
            f"{path.name if path else 'lots'} row {first} column acquired",
            f"acquired after the first day of the price history ({start})",
        )
    n, k = arrays.quantity.shape
    covered = np.zeros(n * k, dtype=bool)
    covered[lots.row.astype(np.int64) * k + lots.slot] = True
    bare = np.flatnonzero((arrays.quantity.ravel() > 0) & ~covered)
    row, slot = np.divmod(bare, k)
    quantity = arrays.quantity.ravel()[bare]
    close = history.close[0][arrays.slot_symbol.ravel()[bare]]
    return LotStore(
        row=np.r_[lots.row, row],
        slot=np.r_[lots.slot, slot],
        quantity=np.r_[lots.quantity, quantity],
        basis=np.r_[lots.basis, np.round(quantity * close, 2)],
        acquired=np.r_[lots.acquired, np.full(bare.size, start.toordinal(), dtype=np.int32)],
        width=k,
    )


def _slot_classes(loaded: LoadedBook) -> tuple[npt.NDArray[np.int32], int]:
    """Sub-asset-class code of every slot (from ``prices.sub_asset_class``), and how many."""
    prices = loaded.tables["prices"]
    slots = loaded.arrays.slot_symbol
    if "sub_asset_class" not in prices.column_names:
        return np.full(slots.shape, -1, dtype=np.int32), 0
    by_symbol = dict(
        zip(
            prices.column("symbol").to_pylist(),
            prices.column("sub_asset_class").to_pylist(),
            strict=True,
        )
    )
    names = sorted({c for c in by_symbol.values() if c})
    code = {c: i for i, c in enumerate(names)}
    per_symbol = np.array(
        [code.get(by_symbol.get(s) or "", -1) for s in loaded.symbols] + [-1], dtype=np.int32
    )
    return per_symbol[slots], len(names)
