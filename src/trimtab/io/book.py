"""The book folder (``book-format.md``): read, validate, and lay out as :class:`BookArrays`.

Everything is vectorised with pyarrow and numpy: a 200k-account book of six million positions
reads in well under a second. Errors name ``table.ext row N column C`` (row 1 is the first row
after the header) and nothing is written when a book is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.core.book import (
    BookArrays,
    DuplicateHolding,
    assemble_book,
    model_lines,
    with_extra_slots,
)
from trimtab.errors import BookError
from trimtab.io.arrow import as_numpy, from_numpy, strings
from trimtab.io.tables import Column, first_row, numbers, read_table, require_values, table_path

WEIGHT_SUM_TOLERANCE = 1e-6
"""Percent points by which a model's targets may exceed 100."""

SCHEMAS: dict[str, list[Column]] = {
    "prices": [
        Column("symbol", pa.string()),
        Column("price", pa.float64()),
        Column("sub_asset_class", pa.string(), required=False),
        Column("asset_class", pa.string(), required=False),
    ],
    "models": [
        Column("model_id", pa.string()),
        Column("symbol", pa.string()),
        Column("target_pct", pa.float64()),
        Column("min_pct", pa.float64()),
        Column("max_pct", pa.float64()),
    ],
    "accounts": [
        Column("account_id", pa.string()),
        Column("model_id", pa.string()),
        Column("cash", pa.float64()),
        Column("household_id", pa.string(), required=False),
        Column("registration", pa.string(), required=False),
        Column("rebalancing", pa.bool_(), required=False),
        Column("lot_method", pa.string(), required=False, nullable=True),
    ],
    "positions": [
        Column("account_id", pa.string(), key=True),
        Column("symbol", pa.string(), key=True),
        Column("quantity", pa.float64()),
    ],
    "lots": [
        Column("account_id", pa.string(), key=True),
        Column("symbol", pa.string(), key=True),
        Column("quantity", pa.float64()),
        Column("cost_basis", pa.float64(), nullable=True),
        Column("acquired", pa.date32()),
        Column("lot_id", pa.string(), required=False, nullable=True),
    ],
}
REQUIRED_TABLES = ("prices", "models", "accounts", "positions")
LOT_METHODS = ("fifo", "lifo", "hifo", "minimum_tax", "specific_lots")
"""Values of ``accounts.lot_method`` (empty: fifo), as a scenario's ``account.lot_method``."""

Codes = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class LoadedBook:
    """A validated book: the engine's arrays plus the names behind the codes.

    Attributes:
        arrays: every account laid out for the engine.
        account_ids: account id per account code, in the accounts table's order.
        symbols: symbol per symbol code, sorted.
        model_ids: model id per model code, sorted.
        tables: the validated tables as read (``prices``, ``models``, ``accounts``,
            ``positions`` and ``lots`` when present).
        lot_codes: account and symbol code of each row of ``lots``, or ``None``.
    """

    arrays: BookArrays
    account_ids: pa.Array
    symbols: tuple[str, ...]
    model_ids: tuple[str, ...]
    tables: dict[str, pa.Table]
    lot_codes: tuple[Codes, Codes] | None = None


Prepare = Callable[[dict[str, pa.Table], dict[str, str]], None]
"""Called on the tables as read (by name, with their file names) before they are checked."""


def read_book(
    folder: Path | str,
    *,
    keep_positions: bool = True,
    prepare: Prepare | None = None,
    slots: int = 0,
) -> LoadedBook:
    """Read and validate the book in ``folder``. Raises :class:`BookError`.

    ``keep_positions=False`` drops the raw positions table once it is laid out (its rows are
    all in ``arrays``): what the batch commands do to keep a large book's memory low.
    ``prepare`` may rewrite the tables first (``trimtab.io.book_sleeves`` gives accounts
    whose target is in its sleeve tables a model to be laid out with). ``slots``: the least
    number of slots per account (:func:`~trimtab.core.book.assemble_book`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BookError(str(folder), "not a book folder")
    tables: dict[str, pa.Table] = {}
    labels: dict[str, str] = {}
    for name, columns in SCHEMAS.items():
        path = table_path(folder, name)
        if path is None:
            if name in REQUIRED_TABLES:
                raise BookError(str(folder), f"missing table {name}.csv or {name}.parquet")
            continue
        tables[name] = read_table(path, columns)
        labels[name] = path.name
    if prepare is not None:
        prepare(tables, labels)
    return _validate(tables, labels, keep_positions=keep_positions, slots=slots)


def _codes(
    label: str, column: str, values: pa.ChunkedArray, vocabulary: pa.Array, what: str
) -> Codes:
    """Code of each value in ``vocabulary``; a value not in it is an error naming the row.

    Dictionary-encoded columns are mapped through their dictionaries in one lookup (index_in
    builds its hash set of the vocabulary on each call): the shared dictionary when every
    chunk repeats it, else all the chunks' dictionaries together. The chunks' indices then
    gather from that lookup with numpy, straight into the result.
    """
    if pa.types.is_dictionary(values.type) and values.null_count == 0:
        dictionaries = [chunk.dictionary for chunk in values.chunks]
        shared = all(d.equals(dictionaries[0]) for d in dictionaries[1:])
        lookup = dictionaries[:1] if shared else dictionaries
        mapped: Codes = np.zeros(0, dtype=np.int32)
        if lookup:
            mapped = _found(pc.index_in(pa.concat_arrays(lookup), value_set=vocabulary))
        codes: Codes = np.empty(len(values), dtype=np.int32)
        at = row = 0
        for chunk, dictionary in zip(values.chunks, dictionaries, strict=True):
            part = mapped[at : at + len(dictionary)]
            # The indices are valid: "clip" only spares the buffered bounds check of "raise".
            np.take(part, as_numpy(chunk.indices), out=codes[row : row + len(chunk)], mode="clip")
            row += len(chunk)
            at += 0 if shared else len(dictionary)
        unknown = bool((mapped < 0).any())  # a value of a dictionary, maybe of no row
    else:
        idx = pc.index_in(values, value_set=vocabulary)
        unknown = idx.null_count > 0
        codes = _found(idx)
    missing = codes < 0 if unknown else None
    if missing is not None and missing.any():
        row = first_row(missing)
        value = values[row - 1].as_py()
        raise BookError(f"{label} row {row} column {column}", f"{what} {value!r}")
    return codes


def holding_codes(
    label: str, table: pa.Table, account_ids: pa.Array, symbols: pa.Array
) -> tuple[Codes, Codes]:
    """Account and symbol code of each row of a positions-like table (``account_id``,
    ``symbol``), against the book's accounts and sorted symbols; an unknown one is an error
    naming its row."""
    acc = _codes(label, "account_id", table.column("account_id"), account_ids, "unknown account")
    sym = _codes(label, "symbol", table.column("symbol"), symbols, "no price for symbol")
    return acc, sym


def _found(idx: pa.Array | pa.ChunkedArray) -> Codes:
    """``index_in``'s result as codes, -1 where a value is not in the vocabulary (null).
    Without a scalar -1, nor numpy's view of an array with nulls: both import pandas (see
    ``trimtab.io.arrow``)."""
    if idx.null_count:
        idx = pc.coalesce(idx, from_numpy(np.full(len(idx), -1, dtype=np.int32)))
    codes: Codes = as_numpy(idx).astype(np.int32, copy=False)
    return codes


def _unique(label: str, table: pa.Table, keys: list[str]) -> None:
    """No two rows share the key columns."""
    codes = [as_numpy(pc.dictionary_encode(table.column(k)).combine_chunks().indices) for k in keys]
    combined = codes[0].astype(np.int64)
    for more in codes[1:]:
        combined = combined * (int(more.max(initial=0)) + 1) + more
    _, first = np.unique(combined, return_index=True)
    if first.size == combined.size:
        return
    seen = np.zeros(combined.size, dtype=bool)
    seen[first] = True
    row = first_row(~seen)
    shown = ", ".join(f"{k}={table.column(k)[row - 1].as_py()}" for k in keys)
    raise BookError(f"{label} row {row} column {keys[-1]}", f"duplicate key ({shown})")


def _validate(
    tables: dict[str, pa.Table],
    labels: dict[str, str],
    *,
    keep_positions: bool = True,
    slots: int = 0,
) -> LoadedBook:
    for name, table in tables.items():
        if name in REQUIRED_TABLES[:3] and len(table) == 0:
            raise BookError(labels[name], "no rows: the table has a header only")
        required = [c.name for c in SCHEMAS[name] if c.required and not c.nullable]
        require_values(labels[name], table, required)
        if name in ("prices", "models", "accounts"):
            _no_blank_ids(
                labels[name],
                table,
                [n for n in ("symbol", "model_id", "account_id") if n in required],
            )
    prices, models, accounts = (tables[n] for n in REQUIRED_TABLES[:3])
    lp, lm, la = (labels[n] for n in REQUIRED_TABLES[:3])

    _unique(lp, prices, ["symbol"])
    price_values = numbers(lp, prices, "price")
    bad = ~(price_values > 0)
    if bad.any():
        r = first_row(bad)
        raise BookError(
            f"{lp} row {r} column price", f"must be greater than 0, got {price_values[r - 1]:g}"
        )
    order = as_numpy(pc.sort_indices(prices.column("symbol")))
    symbols_arr = pc.take(prices.column("symbol"), from_numpy(order)).combine_chunks()
    price_sorted = price_values[order]

    model_symbol, model_target, model_lower, model_upper, model_cash, model_ids = _models(
        lm, models, symbols_arr
    )

    _unique(la, accounts, ["account_id"])
    account_model = _codes(la, "model_id", accounts.column("model_id"), model_ids, "unknown model")
    cash = numbers(la, accounts, "cash")
    if "registration" in accounts.column_names:
        _allowed(la, accounts, "registration", ("qualified", "non_qualified"))
    if "lot_method" in accounts.column_names:
        _allowed(la, accounts, "lot_method", LOT_METHODS, empty=True)
    account_ids = accounts.column("account_id").combine_chunks()

    holdings = _holdings(tables, labels, account_ids, symbols_arr, model_symbol, account_model)
    pos_account, pos_symbol, pos_qty, origin, lot_codes = holdings
    if not keep_positions:
        del tables["positions"]
    try:
        arrays = assemble_book(
            price=price_sorted,
            model_symbol=model_symbol,
            model_target=model_target,
            model_lower=model_lower,
            model_upper=model_upper,
            model_cash=model_cash,
            account_model=account_model,
            cash=cash,
            position_account=pos_account,
            position_symbol=pos_symbol,
            position_quantity=pos_qty,
            slots=slots,
        )
    except DuplicateHolding as dup:
        table, row = origin(dup.index)
        raise BookError(
            f"{labels[table]} row {row} column symbol",
            f"duplicate key (account_id={account_ids[int(pos_account[dup.index])].as_py()}, "
            f"symbol={symbols_arr[int(pos_symbol[dup.index])].as_py()})",
        ) from None
    return LoadedBook(
        arrays=arrays,
        account_ids=account_ids,
        symbols=tuple(symbols_arr.to_pylist()),
        model_ids=tuple(model_ids.to_pylist()),
        tables=tables,
        lot_codes=lot_codes,
    )


def _no_blank_ids(label: str, table: pa.Table, names: list[str]) -> None:
    """Ids and symbols are not empty text (an empty CSV field would otherwise be an id).
    The columns hold no nulls (checked before); no Python scalar is built (see io.arrow)."""
    for name in dict.fromkeys(names):
        if name not in table.column_names:
            continue
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            blank = np.zeros(len(col), dtype=bool)
            at = 0
            for chunk in col.chunks:
                empty = as_numpy(pc.utf8_length(pc.utf8_trim_whitespace(chunk.dictionary))) == 0
                if empty.any():
                    idx = as_numpy(chunk.indices)
                    blank[at : at + len(chunk)] = empty[idx]
                at += len(chunk)
        else:
            blank = as_numpy(pc.utf8_length(pc.utf8_trim_whitespace(col))) == 0
        if blank.any():
            raise BookError(f"{label} row {first_row(blank)} column {name}", "value is missing")


def _allowed(
    label: str, table: pa.Table, column: str, values: tuple[str, ...], *, empty: bool = False
) -> None:
    """Every value of ``column`` is one of ``values`` or missing (or empty, with ``empty``)."""
    col = table.column(column)
    ok = as_numpy(pc.is_in(col, value_set=strings((*values, "") if empty else values)))
    ok |= as_numpy(pc.is_null(col))
    if not ok.all():
        r = first_row(~ok)
        raise BookError(
            f"{label} row {r} column {column}",
            f"must be one of {', '.join(values)}, got {col[r - 1].as_py()!r}",
        )


def _models(
    label: str, models: pa.Table, symbols: pa.Array
) -> tuple[Codes, Any, Any, Any, Any, pa.Array]:
    """Model lines as (M, L) arrays of symbol codes and fractions, lines in file order."""
    _unique(label, models, ["model_id", "symbol"])
    sym = _codes(label, "symbol", models.column("symbol"), symbols, "no price for symbol")
    target = numbers(label, models, "target_pct")
    lower = numbers(label, models, "min_pct")
    upper = numbers(label, models, "max_pct")
    for name, values in (("target_pct", target), ("min_pct", lower), ("max_pct", upper)):
        bad = (values < 0) | (values > 100)
        if bad.any():
            r = first_row(bad)
            raise BookError(
                f"{label} row {r} column {name}",
                f"must be between 0 and 100, got {values[r - 1]:g}",
            )
    for name, values, bad, bound in (
        ("min_pct", lower, lower > target, "at most target_pct"),
        ("max_pct", upper, upper < target, "at least target_pct"),
    ):
        if bad.any():
            r = first_row(bad)
            raise BookError(
                f"{label} row {r} column {name}",
                f"must be {bound} {target[r - 1]:g}, got {values[r - 1]:g}",
            )
    ids = models.column("model_id")
    model_ids = pc.unique(ids).sort()
    code = _codes(label, "model_id", ids, model_ids, "unknown model")
    n_models = len(model_ids)
    totals = np.bincount(code, weights=target, minlength=n_models)
    over = totals > 100 + WEIGHT_SUM_TOLERANCE
    if over.any():
        m = int(np.flatnonzero(over)[0])
        r = first_row(code == m)
        raise BookError(
            f"{label} row {r} column target_pct",
            f"targets of model {model_ids[m].as_py()!r} sum to {totals[m]:.6g}, more than 100",
        )
    order = np.argsort(code, kind="stable")
    counts = np.bincount(code, minlength=n_models)
    width = max(int(counts.max()) if counts.size else 0, 1)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    line = np.arange(order.size) - np.repeat(starts, counts)
    rows = code[order]

    def grid(values: Any, fill: float) -> Any:
        out = np.full((n_models, width), fill)
        out[rows, line] = values[order]
        return out

    model_symbol = np.full((n_models, width), -1, dtype=np.int32)
    model_symbol[rows, line] = sym[order]
    cash = np.clip(100.0 - totals, 0.0, 100.0) / 100.0
    return (
        model_symbol,
        grid(target / 100.0, 0.0),
        grid(lower / 100.0, 0.0),
        grid(upper / 100.0, 0.0),
        cash,
        model_ids,
    )


def _holdings(
    tables: dict[str, pa.Table],
    labels: dict[str, str],
    account_ids: pa.Array,
    symbols: pa.Array,
    model_symbol: Codes,
    account_model: Codes,
) -> tuple[Codes, Codes, Any, Any, tuple[Codes, Codes] | None]:
    """Positions as (account code, symbol code, shares); ``lots`` replace the keys they cover.

    Also returns ``origin(i) -> (table, row)`` naming where holding ``i`` came from, and the
    account and symbol codes of the lots (``None`` without a ``lots`` table). The positions
    kept come first, in file order, then one holding per ``(account, symbol)`` of the lots:
    its lots' quantities summed in file order, as ``np.add.reduceat`` over its rows.
    """
    positions = tables["positions"]
    lpos = labels["positions"]
    acc = _codes(lpos, "account_id", positions.column("account_id"), account_ids, "unknown account")
    sym = _codes(lpos, "symbol", positions.column("symbol"), symbols, "no price for symbol")
    qty = numbers(lpos, positions, "quantity", minimum=0.0)
    if "lots" not in tables:
        return acc, sym, qty, lambda i: ("positions", i + 1), None
    lots = tables["lots"]
    ll = labels["lots"]
    lacc = _codes(ll, "account_id", lots.column("account_id"), account_ids, "unknown account")
    lsym = _codes(ll, "symbol", lots.column("symbol"), symbols, "no price for symbol")
    lqty = numbers(ll, lots, "quantity", minimum=0.0)
    _finite_or_missing(ll, lots, "cost_basis")
    if "lot_id" in lots.column_names:
        _unique_lot_ids(ll, lots, lacc, lsym)
    # A pair's lots usually come together: then its run of rows is its group and nothing is
    # sorted. Sums stay np.add.reduceat's (the first lot plus the pairwise sum of the rest):
    # a running sum such as np.bincount's can differ from it in the last bit.
    keys = _PairKeys(model_symbol, account_model, len(symbols))
    starts = _runs(lacc, lsym)
    run_key = keys.learn(lacc[starts], lsym[starts])
    present = np.zeros(keys.size + 1, dtype=bool)  # the last entry, for key -1, stays False
    present[run_key] = True
    if np.count_nonzero(present) == starts.size:  # each key in one run: the runs are the groups
        first_lot = starts
        summed = np.add.reduceat(lqty, starts) if starts.size else np.zeros(0)
    else:  # some key in several runs: group the rows by key, in file order within a key
        lot_key = np.repeat(run_key, np.diff(starts, append=lacc.size))
        order = np.argsort(lot_key, kind="stable")
        first = np.flatnonzero(np.diff(lot_key[order], prepend=-1) != 0)
        first_lot = order[first]  # stable: the holding's first row in the table
        summed = np.add.reduceat(lqty[order], first)
        del lot_key, order
    keep = ~present[keys.of(acc, sym)]
    kept = np.flatnonzero(keep)

    def origin(i: int) -> tuple[str, int]:
        if i < kept.size:
            return "positions", int(kept[i]) + 1
        return "lots", int(first_lot[i - kept.size]) + 1

    return (
        np.r_[acc[keep], lacc[first_lot]],
        np.r_[sym[keep], lsym[first_lot]],
        np.r_[qty[keep], summed],
        origin,
        (lacc, lsym),
    )


def _runs(account: Codes, symbol: Codes) -> npt.NDArray[np.intp]:
    """First row of each run of consecutive rows with the same ``(account, symbol)``."""
    new = np.ones(account.size, dtype=bool)
    np.not_equal(account[1:], account[:-1], out=new[1:])
    new[1:] |= symbol[1:] != symbol[:-1]
    return np.flatnonzero(new)


class _PairKeys:
    """Dense keys of ``(account code, symbol code)`` pairs, so that a boolean table marks the
    pairs present without a sort: ``account * L + line`` for a line of the account's model,
    then ``N * L + i`` for the i-th pair outside the model among those :meth:`learn` saw."""

    def __init__(self, model_symbol: Codes, account_model: Codes, n_symbols: int) -> None:
        self.line_of = model_lines(model_symbol, n_symbols)
        self.account_model = account_model
        self.n_symbols = n_symbols
        self.width = int(model_symbol.shape[1])
        self.base = int(account_model.size) * self.width
        self.outside = np.zeros(0, dtype=np.int64)  # account * n_symbols + symbol, sorted

    @property
    def size(self) -> int:
        """Number of keys: every model line of every account, then the outside pairs."""
        return self.base + int(self.outside.size)

    def _model_keys(
        self, account: Codes, symbol: Codes
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """Keys of the pairs on model lines; the others' rows and outside codes."""
        at = self.account_model.take(account).astype(np.int64)
        at *= self.line_of.shape[1]
        at += symbol
        line = self.line_of.ravel().take(at)  # twice as fast as indexing line_of[rows, cols]
        del at
        key = account.astype(np.int64)
        key *= self.width
        key += line
        off = np.flatnonzero(line < 0)
        return key, off, account[off].astype(np.int64) * self.n_symbols + symbol[off]

    def learn(self, account: Codes, symbol: Codes) -> npt.NDArray[np.int64]:
        """Keys of these pairs, adding their pairs outside the model to the known ones."""
        key, off, outside = self._model_keys(account, symbol)
        self.outside, at = np.unique(outside, return_inverse=True)
        key[off] = self.base + at
        return key

    def of(self, account: Codes, symbol: Codes) -> npt.NDArray[np.int64]:
        """Keys of these pairs; -1 for a pair outside the model that :meth:`learn` never saw."""
        key, off, outside = self._model_keys(account, symbol)
        at = np.searchsorted(self.outside, outside)
        found = at < self.outside.size
        found[found] = self.outside[at[found]] == outside[found]
        key[off] = np.where(found, self.base + at, -1)
        return key


def _finite_or_missing(label: str, table: pa.Table, name: str) -> None:
    """Every value of a nullable float column is finite or missing. The values under the
    missing ones are checked too, first: when all are finite there is nothing to find."""
    col = table.column(name)
    raw = [
        np.frombuffer(buf, dtype=np.float64, count=len(c) + c.offset)[c.offset :]
        for c in col.chunks
        if (buf := c.buffers()[1]) is not None
    ]
    if all(np.isfinite(r).all() for r in raw):
        return
    bad = ~np.isfinite(as_numpy(col)) & ~as_numpy(pc.is_null(col))
    if bad.any():
        raise BookError(f"{label} row {first_row(bad)} column {name}", "must be a finite number")


def _unique_lot_ids(label: str, lots: pa.Table, account: Codes, symbol: Codes) -> None:
    """Lot ids, where given (not empty), are unique within an account's position."""
    ids = lots.column("lot_id")
    given = np.flatnonzero(as_numpy(pc.fill_null(pc.not_equal(ids, ""), False)))
    if given.size < 2:
        return
    codes = as_numpy(
        pc.dictionary_encode(pc.take(ids, from_numpy(given))).combine_chunks().indices
    ).astype(np.int64)
    width = int(symbol.max(initial=0)) + 1
    place = (account[given].astype(np.int64) * width + symbol[given]) * (
        int(codes.max()) + 1
    ) + codes
    _, first = np.unique(place, return_index=True)
    if first.size == place.size:
        return
    seen = np.zeros(place.size, dtype=bool)
    seen[first] = True
    row = int(given[np.flatnonzero(~seen)[0]])
    shown = ", ".join(f"{k}={lots.column(k)[row].as_py()}" for k in ("account_id", "symbol"))
    raise BookError(
        f"{label} row {row + 1} column lot_id",
        f"duplicate key ({shown}, lot_id={ids[row].as_py()}): lot ids are unique per account "
        "and symbol",
    )


def with_extra_holdings(loaded: LoadedBook, extra: list[tuple[int, int]]) -> LoadedBook:
    """The book with zero-quantity holdings at ``(account code, symbol code)`` pairs, so that
    rules can buy into securities an account neither holds nor has in its model. The book
    stays at least as wide as it was (a partition laid out as wide as its whole book)."""
    arrays = with_extra_slots(loaded.arrays, extra, slots=loaded.arrays.slot_symbol.shape[1])
    return loaded if arrays is loaded.arrays else replace(loaded, arrays=arrays)


def twin_start(symbols: Sequence[str]) -> int | None:
    """The first APM twin code of a book's ``symbols`` (sorted, then the twins), or ``None``
    when it has none: the first symbol that does not sort after the one before."""
    for i in range(1, len(symbols)):
        if symbols[i] <= symbols[i - 1]:
            return i
    return None


SLEEVE_TABLES = ("sleeves", "apm_targets", "sleeve_positions")
"""A book's optional sleeve tables (:mod:`trimtab.io.book_sleeves` reads them)."""


def has_sleeve_tables(folder: Path | str) -> bool:
    """Whether the book folder gives accounts sleeves (a cheap look: no table is read)."""
    return Path(folder).is_dir() and any(
        table_path(Path(folder), name) is not None for name in SLEEVE_TABLES
    )
