"""The service's own book tables (documented in ``docs/service.md``), read and validated.

``cash_activity``, ``transactions``, ``restrictions`` and ``locks`` are optional; like the
core tables they may be CSV or Parquet, and errors name ``table.ext row N column C``.
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
    "transactions": [
        Column("account_id", pa.string()),
        Column("trade_date", pa.date32()),
        Column("symbol", pa.string()),
        Column("side", pa.string()),
        Column("quantity", pa.float64()),
        Column("price", pa.float64()),
    ],
    "restrictions": [
        Column("account_id", pa.string()),
        Column("restriction_id", pa.string()),
        Column("kind", pa.string()),
        Column("symbol", pa.string()),
        Column("start_date", pa.date32()),
        Column("end_date", pa.date32(), required=False, nullable=True),
        Column("end_action", pa.string(), required=False),
        Column("behaviour", pa.string(), required=False),
        Column("replacement", pa.string(), required=False),
        Column("substitute", pa.string(), required=False),
    ],
    "locks": [
        Column("account_id", pa.string()),
        Column("symbol", pa.string()),
        Column("kind", pa.string()),
    ],
}

ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {
    ("cash_activity", "kind"): ("deposit", "withdrawal", "dividend"),
    ("transactions", "side"): ("buy", "sell"),
    ("restrictions", "kind"): ("exclusion", "substitution", "equivalents"),
    ("restrictions", "end_action"): ("rebalance_immediately", "wait_for_model_change"),
    ("restrictions", "behaviour"): ("hold", "liquidate_now", "liquidate_as_needed"),
    ("restrictions", "replacement"): ("hold_cash", "reallocate"),
    ("locks", "kind"): ("gain", "elective", "missing_cost_basis"),
}

OPTIONAL_TEXT = {"end_action", "behaviour", "replacement", "substitute"}
"""Text columns that may be left empty (their default applies)."""

POSITIVE = {("cash_activity", "amount"), ("transactions", "quantity"), ("transactions", "price")}


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
        if name == "restrictions":
            _dates_ordered(label, table)
            _substitutes(label, table)
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


def _dates_ordered(label: str, table: pa.Table) -> None:
    if "end_date" not in table.column_names:
        return
    before = pc.less(table.column("end_date"), table.column("start_date"))
    bad = pc.fill_null(before, False).to_numpy(zero_copy_only=False)
    if bad.any():
        raise BookError(
            f"{label} row {first_row(bad)} column end_date", "must not be before start_date"
        )


def _substitutes(label: str, table: pa.Table) -> None:
    """A substitution names its substitute; no other kind does."""
    n = len(table)
    kind = table.column("kind").to_pylist()
    sub = (
        table.column("substitute").to_pylist() if "substitute" in table.column_names else [None] * n
    )
    for i, (k, s) in enumerate(zip(kind, sub, strict=True)):
        if k == "substitution" and not s:
            raise BookError(f"{label} row {i + 1} column substitute", "a substitution needs one")
        if k != "substitution" and s:
            raise BookError(
                f"{label} row {i + 1} column substitute", f"only a substitution has one, not {k!r}"
            )
