"""The service's own book tables (documented in ``docs/service.md``), read and validated.

``cash_activity`` is optional; like the core tables it may be CSV or Parquet, and errors
name ``table.ext row N column C``. The rule tables (``restrictions``, ``locks``,
``transactions``, ``short_term_windows``) are read as ``propose-book`` reads them
(:mod:`trimtab.io.book_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.errors import BookError
from trimtab.io.tables import Column, first_row, numbers, read_table, require_values, table_path

EXTRA_SCHEMAS: dict[str, list[Column]] = {
    "cash_activity": [
        Column("account_id", pa.string()),
        Column("kind", pa.string()),
        Column("amount", pa.float64()),
        Column("date", pa.date32(), required=False, nullable=True),
    ],
}

ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {
    ("cash_activity", "kind"): ("deposit", "withdrawal", "dividend"),
}

OPTIONAL_TEXT: set[str] = set()
"""Text columns that may be left empty (their default applies)."""

POSITIVE = {("cash_activity", "amount")}


@dataclass(frozen=True, slots=True)
class ExtraTable:
    """A validated service table and the file name its errors cite."""

    label: str
    table: pa.Table


def read_extras(folder: Path, account_ids: pa.Array) -> dict[str, ExtraTable]:
    """The service tables present in ``folder``, each checked row by row.

    ``account_ids`` are the accounts of the book: every row must name one of them.
    """
    out: dict[str, ExtraTable] = {}
    for name, columns in EXTRA_SCHEMAS.items():
        path = table_path(folder, name)
        if path is None:
            continue
        table = read_table(path, columns)
        label = path.name
        require_values(label, table, [c.name for c in columns if c.required and not c.nullable])
        _non_empty(label, table, [c.name for c in columns if pa.types.is_string(c.type)])
        known = pc.is_in(table.column("account_id"), value_set=account_ids)
        unknown = ~known.to_numpy(zero_copy_only=False)
        if unknown.any():
            r = first_row(unknown)
            raise BookError(
                f"{label} row {r} column account_id",
                f"unknown account {table.column('account_id')[r - 1].as_py()!r}",
            )
        for (tname, column), allowed in ALLOWED.items():
            if tname == name and column in table.column_names:
                _allowed(label, table, column, allowed)
        for tname, column in POSITIVE:
            if tname == name:
                values = numbers(label, table, column)
                bad = ~(values > 0)
                if bad.any():
                    r = first_row(bad)
                    raise BookError(
                        f"{label} row {r} column {column}",
                        f"must be greater than 0, got {values[r - 1]:g}",
                    )
        out[name] = ExtraTable(label=label, table=table)
    return out


def _non_empty(label: str, table: pa.Table, names: list[str]) -> None:
    for name in names:
        if name not in table.column_names or name in OPTIONAL_TEXT:
            continue
        col = table.column(name)
        empty = pc.equal(pc.utf8_trim_whitespace(col), "").to_numpy(zero_copy_only=False)
        empty = np.asarray(empty, dtype=bool) & ~pc.is_null(col).to_numpy(zero_copy_only=False)
        if empty.any():
            raise BookError(f"{label} row {first_row(empty)} column {name}", "value is missing")


def _allowed(label: str, table: pa.Table, column: str, values: tuple[str, ...]) -> None:
    col = table.column(column)
    ok = pc.is_in(col, value_set=pa.array(values)).to_numpy(zero_copy_only=False)
    ok = np.asarray(ok, dtype=bool)
    ok |= pc.is_null(col).to_numpy(zero_copy_only=False)
    if column in OPTIONAL_TEXT:
        ok |= np.asarray(pc.fill_null(pc.equal(col, ""), False).to_numpy(zero_copy_only=False))
    if not ok.all():
        r = first_row(~ok)
        raise BookError(
            f"{label} row {r} column {column}",
            f"must be one of {', '.join(values)}, got {col[r - 1].as_py()!r}",
        )
