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
from sqlalchemy import String, Table

from trimtab.errors import BookError
from trimtab.io.arrow import as_numpy
from trimtab.io.tables import first_row
from trimtab.store import tables as t
from trimtab.store.types import Exact

STORE: dict[str, tuple[Table, ...]] = {
    "prices": (t.prices, t.securities),
    "models": (t.model_lines, t.models),
    "accounts": (t.account_days, t.accounts),
    "positions": (t.positions,),
    "lots": (t.lots,),
    "cash_activity": (t.cash_activity,),
    "transactions": (t.transactions,),
    "restrictions": (t.restrictions,),
    "locks": (t.locks,),
}
"""The store tables each book table's columns land in (a column is found by its name)."""

FLOAT_DIGITS = 15
"""Significant digits every decimal keeps through a float (IEEE double)."""

NOT_NEGATIVE = {("accounts", "cash"), ("lots", "cost_basis")}


def check_book(folder: Path, tables: dict[str, pa.Table], labels: dict[str, str]) -> None:
    """Refuse a book the store cannot hold as written (see the module). Raises BookError."""
    for name, table in tables.items():
        label = labels[name]
        for column in table.column_names:
            kind = _store_type(name, column)
            if isinstance(kind, String) and kind.length is not None:
                _fits_length(label, table.column(column), column, kind.length)
            elif isinstance(kind, Exact):
                _fits_number(folder / label, table.column(column), column, kind)
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
    _positions_and_lots(tables, labels)


def check_dates(tables: dict[str, pa.Table], labels: dict[str, str], as_of: date) -> None:
    """Lots acquired and custodian trades done after ``as_of`` are refused."""
    for name, column in (("lots", "acquired"), ("transactions", "trade_date")):
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
    if pa.types.is_dictionary(col.type):
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


def _fits_number(path: Path, col: pa.ChunkedArray, column: str, kind: Exact) -> None:
    """Below ``10**(precision - scale)`` in size and, from CSV, exactly the number written."""
    label = path.name
    values = as_numpy(pc.fill_null(col.cast(pa.float64()), 0.0))
    digits = kind.precision - kind.scale
    large = np.abs(values) >= 10.0**digits
    if large.any():
        r = first_row(large)
        raise BookError(
            f"{label} row {r} column {column}",
            f"too large: at most {digits} digits before the decimal point, got {values[r - 1]!r}",
        )
    if path.suffix != ".csv":
        return  # Parquet holds the float itself: what is read is what is stored
    text = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=[column], column_types={column: pa.string()}
        ),
    ).column(column)
    # digits that may be significant: all but the sign and the leading and trailing zeros
    # (an overcount, such as 0.00123's, only sends the value to the exact test below)
    bare = pc.replace_substring_regex(pc.utf8_trim_whitespace(text), r"^[-+]?0*", "")
    stripped = pc.utf8_rtrim(bare, "0")
    count = as_numpy(
        pc.fill_null(pc.utf8_length(pc.replace_substring_regex(stripped, r"[^0-9]", "")), 0)
    )
    odd = as_numpy(pc.fill_null(pc.match_substring_regex(text, "[eE]"), False))
    for i in np.flatnonzero((count > FLOAT_DIGITS) | odd):
        written = str(text[int(i)].as_py()).strip()
        try:
            exact = Decimal(written)
        except InvalidOperation:
            continue
        if Decimal(repr(float(written))) != exact:
            raise BookError(
                f"{label} row {int(i) + 1} column {column}",
                f"{written} has more than {FLOAT_DIGITS} significant digits: refused rather "
                "than rounded",
            )


def _positions_and_lots(tables: dict[str, pa.Table], labels: dict[str, str]) -> None:
    """One position per account and symbol; each lot has its position; lots sum to it."""
    positions, lp = tables["positions"], labels["positions"]
    if len(positions) == 0:
        raise BookError(
            lp, "no rows: the table has a header only (the date would hold no positions)"
        )
    keys = ["account_id", "symbol"]
    pos = pa.table(
        {
            "account_id": positions.column("account_id").cast(pa.string()),
            "symbol": positions.column("symbol").cast(pa.string()),
            "quantity": positions.column("quantity"),
            "prow": pa.array(np.arange(1, len(positions) + 1)),
        }
    )
    counted = pos.group_by(keys).aggregate([("prow", "count"), ("prow", "max")])
    twice = as_numpy(counted.column("prow_count")) > 1
    if twice.any():
        rows = as_numpy(counted.column("prow_max"))[twice]
        r = int(rows.min())
        key = ", ".join(f"{k}={pos.column(k)[r - 1].as_py()}" for k in keys)
        raise BookError(f"{lp} row {r} column symbol", f"duplicate key ({key})")
    if "lots" not in tables:
        return
    lots, ll = tables["lots"], labels["lots"]
    lot = pa.table(
        {
            "account_id": lots.column("account_id").cast(pa.string()),
            "symbol": lots.column("symbol").cast(pa.string()),
            "lots": lots.column("quantity"),
            "lrow": pa.array(np.arange(1, len(lots) + 1)),
        }
    )
    summed = lot.group_by(keys).aggregate([("lots", "sum"), ("lrow", "min")])
    joined = summed.join(pos, keys=keys, join_type="left outer")
    orphan = as_numpy(pc.is_null(joined.column("prow")))
    if orphan.any():
        r = int(as_numpy(joined.column("lrow_min"))[orphan].min())
        key = ", ".join(f"{k}={lot.column(k)[r - 1].as_py()}" for k in keys)
        raise BookError(f"{ll} row {r} column symbol", f"no position for this lot ({key})")
    held = as_numpy(joined.column("quantity"))
    total = np.round(as_numpy(joined.column("lots_sum")), 8)  # lots have <= 8 decimals
    differ = np.abs(held - total) > 5e-9
    if differ.any():
        prow = as_numpy(joined.column("prow"))
        k = int(np.argmin(np.where(differ, prow, np.iinfo(np.int64).max)))
        r = int(prow[k])
        raise BookError(
            f"{lp} row {r} column quantity",
            f"{held[k]:g} shares but its lots in {ll} sum to {total[k]:g}",
        )
