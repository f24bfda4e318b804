"""Reading one book table (CSV or Parquet) with declared columns and types.

Errors name the file, the data row (1 = first row after the header) and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trimtab.errors import BookError
from trimtab.io.arrow import as_numpy
from trimtab.io.book_subset import active_subset, read_csv_rows, read_parquet_rows


@dataclass(frozen=True, slots=True)
class Column:
    """A declared column: name, arrow type, and whether the table must have it."""

    name: str
    type: pa.DataType
    required: bool = True
    nullable: bool = False
    key: bool = False
    """A text key (ids, symbols): read dictionary-encoded, so millions of rows repeat few values."""


def table_path(folder: Path, name: str) -> Path | None:
    """``name.parquet`` if present, else ``name.csv``, else ``None``."""
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            return p
    return None


def read_table(path: Path, columns: list[Column]) -> pa.Table:
    """The table at ``path`` with exactly the declared columns (optional ones may be absent)."""
    label = path.name
    declared = {c.name: c for c in columns}
    keys = [c.name for c in columns if c.key]
    if path.suffix == ".parquet":
        try:
            # Keys decode straight into dictionaries (no string column is built and re-hashed).
            parquet = pq.ParquetFile(path, read_dictionary=keys)
        except (pa.ArrowException, OSError) as err:
            raise BookError(label, f"cannot read Parquet: {err}") from None
        names = parquet.schema_arrow.names
    else:
        try:
            names = _csv_header(path)
        except (pa.ArrowException, OSError, UnicodeDecodeError) as err:
            raise BookError(label, f"cannot read CSV: {err}") from None
    for name in names:
        if name not in declared:
            allowed = ", ".join(declared)
            raise BookError(f"{label} column {name}", f"unknown column (allowed: {allowed})")
    for c in columns:
        if c.required and c.name not in names:
            raise BookError(label, f"missing required column {c.name}")
    present = [declared[n] for n in names]
    subset = active_subset() if "account_id" in names else None
    if path.suffix == ".parquet":
        try:
            table = parquet.read() if subset is None else read_parquet_rows(subset, path, keys)
        except (pa.ArrowException, OSError) as err:
            raise BookError(label, f"cannot read Parquet: {err}") from None
        return _cast_parquet(label, table, present)
    if subset is None:
        return _read_csv(path, present)
    types = {c.name: KEY_TYPE if c.key else c.type for c in present}
    found = read_csv_rows(subset, path, types)
    if found is not None:
        return found
    subset.rows.pop(label, None)  # the whole file, to name the value that does not convert
    return subset.keep_all(label, _read_csv(path, present))


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    if not header:
        raise BookError(path.name, "empty file: a header row is required")
    names = [h.strip() for h in header]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise BookError(f"{path.name} column {name}", "the header names this column twice")
    return names


def _csv_shape_error(path: Path) -> BookError:
    """The first row whose cells do not match the header, or the quote never closed.

    pyarrow says only "Expected 3 columns, got 2"; the standard library's reader finds the
    row (1 = first row after the header).
    """
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, strict=True)
        width = len(next(reader, []))
        row = 0
        try:
            for row, cells in enumerate(reader, start=1):
                if len(cells) != width and cells:
                    return BookError(
                        f"{path.name} row {row}",
                        f"has {len(cells)} cells, the header has {width}",
                    )
        except csv.Error as err:
            return BookError(
                f"{path.name} row {row + 1}", f"a quoted value is never closed ({err})"
            )
    return BookError(path.name, "cannot read CSV")


KEY_TYPE = pa.dictionary(pa.int32(), pa.string())


def _read_csv(path: Path, columns: list[Column]) -> pa.Table:
    types = {c.name: KEY_TYPE if c.key else c.type for c in columns}
    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as err:
        if "CSV parse error" in str(err):
            raise _csv_shape_error(path) from None
    # Find the first value that does not convert, to name its row and column.
    try:
        raw = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={c.name: pa.string() for c in columns}
            ),
        )
    except pa.ArrowInvalid:
        raise _csv_shape_error(path) from None
    for c in columns:
        col = raw.column(c.name)
        for i, value in enumerate(col.to_pylist()):
            try:
                pa.array([value], type=pa.string()).cast(c.type) if value not in (
                    None,
                    "",
                ) else None
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise BookError(
                    f"{path.name} row {i + 1} column {c.name}",
                    f"not a valid {_type_name(c.type)}: {value!r}",
                ) from None
    raise BookError(path.name, "cannot read CSV")  # pragma: no cover - a value always fails


def _cast_parquet(label: str, table: pa.Table, columns: list[Column]) -> pa.Table:
    arrays = []
    for c in columns:
        col = table.column(c.name)
        if c.key and col.type == KEY_TYPE:
            arrays.append(col)
            continue
        try:
            arrays.append(col.cast(KEY_TYPE if c.key else c.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise BookError(
                f"{label} column {c.name}", f"must be {_type_name(c.type)}, got {col.type}"
            ) from None
    return pa.table(arrays, names=[c.name for c in columns])


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "number"
    if pa.types.is_boolean(t):
        return "true/false value"
    if pa.types.is_date(t):
        return "date (YYYY-MM-DD)"
    return "text"


def first_row(mask: npt.NDArray[np.bool_]) -> int:
    """1-based row number of the first true entry."""
    return int(np.flatnonzero(mask)[0]) + 1


def require_values(label: str, table: pa.Table, names: list[str]) -> None:
    """Every listed column has a value in every row."""
    for name in names:
        if name not in table.column_names:
            continue
        col = table.column(name)
        if col.null_count:
            nulls = as_numpy(pc.is_null(col))
            raise BookError(f"{label} row {first_row(nulls)} column {name}", "value is missing")


def numbers(
    label: str, table: pa.Table, name: str, *, minimum: float | None = None
) -> npt.NDArray[np.float64]:
    """A float column as numpy, finite and (optionally) at least ``minimum``."""
    values: npt.NDArray[np.float64] = as_numpy(table.column(name))
    bad = ~np.isfinite(values)
    if bad.any():
        raise BookError(f"{label} row {first_row(bad)} column {name}", "must be a finite number")
    if minimum is not None:
        low = values < minimum
        if low.any():
            r = first_row(low)
            raise BookError(
                f"{label} row {r} column {name}",
                f"must be at least {minimum:g}, got {values[r - 1]:g}",
            )
    return values
