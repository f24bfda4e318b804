"""What the store demands of a book beyond the book format, checked once at the boundary.

:func:`check_book` runs on every table of a book folder before anything is written, the
same on SQLite and PostgreSQL:

- every text column fits its store column (``String(n)``: at most ``n`` characters);
- every number fits its exact store column (``NUMERIC(p, s)``: fewer than ``10**(p - s)``)
  and, read from CSV, is exactly the number written (a value of more than 15 significant
  digits that a float would round is refused, never rounded);
- cash and cost basis are not negative;
- positions have one row per account and symbol, there is at least one, and when the book
  has lots, every lot has its position and the lots of a position add up to its quantity.

:func:`check_dates` refuses lots acquired and trades done after the book's date.
Errors name ``table.ext row N column C`` (row 1 is the first row after the header).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Column, MetaData, String, Table

from trimtab.errors import BookError
from trimtab.io.arrow import as_numpy, strings
from trimtab.io.book import LoadedBook, holding_codes
from trimtab.io.tables import first_row
from trimtab.store import tables as t
from trimtab.store.types import Exact

_HOLDINGS = MetaData()
"""The limits of the holdings' columns (:mod:`trimtab.store.holdings`), checked as a table's."""
_POSITIONS = Table(
    "positions",
    _HOLDINGS,
    Column("account_id", String(64)),
    Column("symbol", String(32)),
    Column("quantity", t.quantity()),
)
_LOTS = Table(
    "lots",
    _HOLDINGS,
    Column("account_id", String(64)),
    Column("symbol", String(32)),
    Column("quantity", t.quantity()),
    Column("cost_basis", t.money()),
    Column("lot_id", String(64)),
)

STORE: dict[str, tuple[Table, ...]] = {
    "prices": (t.prices, t.securities),
    "models": (t.model_lines, t.models),
    "accounts": (t.account_days, t.accounts),
    "positions": (_POSITIONS,),
    "lots": (_LOTS,),
    "cash_activity": (t.cash_activity,),
    "transactions": (t.transactions,),
    "restrictions": (t.account_restrictions,),
    "locks": (t.account_locks,),
    "sleeves": (t.account_sleeves,),
    "apm_targets": (t.account_apm_targets,),
    "sleeve_positions": (t.account_sleeve_positions,),
}
"""The store tables each book table's columns land in (a column is found by its name)."""

FLOAT_DIGITS = 15
"""Significant digits every decimal keeps through a float (IEEE double)."""

NOT_NEGATIVE = {("accounts", "cash"), ("lots", "cost_basis")}


def check_book(
    folder: Path,
    book: LoadedBook,
    extras: dict[str, pa.Table],
    labels: dict[str, str],
) -> None:
    """Refuse a book the store cannot hold as written (see the module). Raises BookError.

    ``book`` is the validated book, ``extras`` the service tables, ``labels`` the file name
    of every table.
    """
    for name, table in {**book.tables, **extras}.items():
        label = labels[name]
        exact: list[tuple[str, Exact]] = []
        for column in table.column_names:
            kind = _store_type(name, column)
            if isinstance(kind, String) and kind.length is not None:
                _fits_length(label, table.column(column), column, kind.length)
            elif isinstance(kind, Exact):
                _fits_size(label, table.column(column), column, kind)
                exact.append((column, kind))
        if exact and label.endswith(".csv"):
            _as_written(folder / label, table, exact)
        for tname, column in NOT_NEGATIVE:
            if tname == name and column in table.column_names:
                values = as_numpy(pc.fill_null(table.column(column), 0.0))
                low = values < 0
                if low.any():
                    r = first_row(low)
                    raise BookError(
                        f"{label} row {r} column {column}",
                        f"must be at least 0, got {values[r - 1]:g}",
                    )
    _positions_and_lots(book, labels)


def check_dates(tables: dict[str, pa.Table], labels: dict[str, str], as_of: date) -> None:
    """Lots acquired and custodian trades done after ``as_of`` are refused."""
    for name, column in (("lots", "acquired"), ("transactions", "date")):
        if name not in tables:
            continue
        col = tables[name].column(column)
        later = as_numpy(pc.fill_null(pc.greater(col, pa.scalar(as_of, pa.date32())), False))
        if later.any():
            r = first_row(later)
            raise BookError(
                f"{labels[name]} row {r} column {column}",
                f"{col[r - 1].as_py()} is after the book's date {as_of}",
            )


def _store_type(table: str, column: str) -> object:
    for store in STORE.get(table, ()):
        if column in store.c:
            return store.c[column].type
    return None


def _fits_length(label: str, col: pa.ChunkedArray, column: str, limit: int) -> None:
    """No text longer than ``limit`` characters (a dictionary column: its values first)."""
    if pa.types.is_dictionary(col.type):
        if all(int(pc.max(pc.utf8_length(c.dictionary)).as_py() or 0) <= limit for c in col.chunks):
            return
        col = col.cast(pa.string())
    if not pa.types.is_string(col.type):
        return
    length = as_numpy(pc.fill_null(pc.utf8_length(col), 0))
    long = length > limit
    if long.any():
        r = first_row(long)
        raise BookError(
            f"{label} row {r} column {column}",
            f"longer than the {limit} characters kept ({int(length[r - 1])})",
        )


def _fits_size(label: str, col: pa.ChunkedArray, column: str, kind: Exact) -> None:
    """Below ``10**(precision - scale)`` in size."""
    values = as_numpy(pc.fill_null(col.cast(pa.float64()), 0.0))
    digits = kind.precision - kind.scale
    large = np.abs(values) >= 10.0**digits
    if large.any():
        r = first_row(large)
        raise BookError(
            f"{label} row {r} column {column}",
            f"too large: at most {digits} digits before the decimal point, got {values[r - 1]!r}",
        )


def _as_written(path: Path, table: pa.Table, columns: list[tuple[str, Exact]]) -> None:
    """Every number of ``columns`` is exactly the number the CSV file writes.

    The float the reader holds is the written number whenever the text has at most 15
    significant digits, which a text of at most 15 characters always has; only longer
    texts are compared, one by one, as decimals.
    """
    names = [c for c, _ in columns]
    texts = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=names, column_types=dict.fromkeys(names, pa.string())
        ),
    )
    for column in names:
        text = texts.column(column)
        long = as_numpy(pc.fill_null(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)) > 15
        for i in np.flatnonzero(long):
            written = str(text[int(i)].as_py()).strip()
            try:
                exact = Decimal(written)
            except InvalidOperation:
                continue  # not a number: the reader refused it already
            if Decimal(repr(float(written))) != exact:
                raise BookError(
                    f"{path.name} row {int(i) + 1} column {column}",
                    f"{written} has more than {FLOAT_DIGITS} significant digits: refused "
                    "rather than rounded",
                )


def _positions_and_lots(book: LoadedBook, labels: dict[str, str]) -> None:
    """One position per account and symbol; each lot has its position; lots sum to it.

    Works on (account, symbol) codes as int64 keys: sorts, no text joins.
    """
    tables = book.tables
    positions, lp = tables["positions"], labels["positions"]
    if len(positions) == 0:
        raise BookError(
            lp, "no rows: the table has a header only (the date would hold no positions)"
        )
    if "lots" not in tables or book.lot_codes is None:
        # every position was laid out by read_book, which refuses an account holding a
        # symbol twice (with lots, the positions they replace were not laid out)
        return
    symbols = strings(book.symbols)
    acc, sym = holding_codes(lp, positions, book.account_ids, symbols)
    width = np.int64(len(book.symbols))
    pkey = acc.astype(np.int64) * width + sym
    order = np.argsort(pkey, kind="stable")
    sorted_keys = pkey[order]
    again = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1]) + 1
    if again.size:
        r = int(order[again].min()) + 1
        key = _key(book, int(acc[r - 1]), int(sym[r - 1]))
        raise BookError(f"{lp} row {r} column symbol", f"duplicate key ({key})")
    ll = labels["lots"]
    lacc, lsym = book.lot_codes
    lkey = lacc.astype(np.int64) * width + lsym
    lorder = np.argsort(lkey, kind="stable")
    lsorted = lkey[lorder]
    starts = np.flatnonzero(np.r_[True, lsorted[1:] != lsorted[:-1]])
    group_key = lsorted[starts]
    first_lot = lorder[starts]  # stable sort: each group's first row in the file
    lqty = as_numpy(tables["lots"].column("quantity"))
    total = np.round(np.add.reduceat(lqty[lorder], starts), 8) if starts.size else lqty[:0]
    at = np.searchsorted(sorted_keys, group_key)
    at = np.minimum(at, sorted_keys.size - 1)
    orphan = sorted_keys[at] != group_key
    if orphan.any():
        r = int(first_lot[orphan].min()) + 1
        key = _key(book, int(lacc[r - 1]), int(lsym[r - 1]))
        raise BookError(f"{ll} row {r} column symbol", f"no position for this lot ({key})")
    prow = order[at]
    held = as_numpy(positions.column("quantity"))[prow]
    differ = np.abs(held - total) > 5e-9  # lots have at most 8 decimals
    if differ.any():
        k = int(np.argmin(np.where(differ, prow, np.iinfo(np.int64).max)))
        raise BookError(
            f"{lp} row {int(prow[k]) + 1} column quantity",
            f"{held[k]:g} shares but its lots in {ll} sum to {total[k]:g}",
        )


def _key(book: LoadedBook, account: int, symbol: int) -> str:
    return f"account_id={book.account_ids[account].as_py()}, symbol={book.symbols[symbol]}"
