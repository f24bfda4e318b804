"""Reading only some accounts of a book: what a partition of a cluster run reads.

Inside ``with only_accounts(ids):`` every book table that has an ``account_id`` column is
read as the rows of those accounts alone (:func:`trimtab.io.tables.read_table` asks
:func:`active_subset`); the other tables (prices, models, short-term windows) are read whole.
A Parquet file's row groups whose ``account_id`` statistics lie outside the accounts are
skipped unread (a file sorted by account reads little more than its own rows); a CSV file is
streamed. Nothing else changes: the partition is read, checked and laid out by the same code
as a whole book.

The rows read keep their place in the file: an error names the file's row, not the
partition's (the ``BookError`` leaving the block is renumbered), and a lot without an id is
named ``#N`` by its row in the whole file (:meth:`AccountSubset.rows_of`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trimtab.errors import BookError
from trimtab.io.arrow import as_numpy

Rows = npt.NDArray[np.int64]


@dataclass(slots=True)
class AccountSubset:
    """The accounts to read, and the file rows each table's rows came from."""

    ids: pa.Array
    rows: dict[str, Rows] = field(default_factory=dict)
    """File name -> 0-based row in the file of each row read."""
    sizes: dict[str, int] = field(default_factory=dict)
    """File name -> rows in the whole file."""

    def rows_of(self, label: str) -> Rows | None:
        """The file rows of the rows read from ``label`` (a file name), if it was filtered."""
        return self.rows.get(label)

    def keep(self, table: pa.Table, offset: int, rows: list[Rows]) -> pa.Table:
        """Rows of ``table`` (``offset`` rows into its file) that belong to the accounts;
        their file rows are appended to ``rows``."""
        found = np.flatnonzero(member_of(table.column("account_id"), self.ids))
        rows.append(found.astype(np.int64) + offset)
        return table.take(pa.array(found))

    def keep_all(self, label: str, table: pa.Table) -> pa.Table:
        """Rows of a whole file's ``table`` that belong to the accounts."""
        rows: list[Rows] = []
        kept = self.keep(table, 0, rows)
        self.record(label, rows, len(table))
        return kept

    def record(self, label: str, rows: list[Rows], size: int) -> None:
        """The rows read from file ``label`` of ``size`` rows."""
        self.rows[label] = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self.sizes[label] = size

    def counts(self) -> dict[str, tuple[int, int]]:
        """Rows read and rows in the whole file, by file name: the partitions of a book
        together read every row of a file whose every row names an account of the book."""
        return {label: (rows.size, self.sizes[label]) for label, rows in self.rows.items()}

    def renumbered(self, err: BookError) -> BookError:
        """``err`` naming the row of the file instead of the row of the partition."""
        match = _WHERE.match(err.where)
        rows = self.rows.get(match.group(1)) if match else None
        if match is None or rows is None or not 0 < int(match.group(2)) <= rows.size:
            return err
        row = int(rows[int(match.group(2)) - 1]) + 1
        return BookError(f"{match.group(1)} row {row}{match.group(3)}", err.problem)


def member_of(column: pa.ChunkedArray, values: pa.Array) -> npt.NDArray[np.bool_]:
    """Whether each entry of ``column`` is one of ``values`` (a missing one is not). A
    dictionary-encoded chunk looks up its dictionary only, then gathers by its indices."""
    out: list[npt.NDArray[np.bool_]] = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            hit = as_numpy(pc.fill_null(pc.is_in(chunk.dictionary, value_set=values), False))
            indices = as_numpy(pc.fill_null(chunk.indices, 0))
            found = np.r_[hit, False][indices] if hit.size else np.zeros(len(chunk), bool)
            if chunk.null_count:
                found &= as_numpy(pc.is_valid(chunk))
            out.append(found)
        else:
            out.append(as_numpy(pc.fill_null(pc.is_in(chunk, value_set=values), False)))
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


_WHERE = re.compile(r"^(\S+) row (\d+)(.*)$")
_ACTIVE: ContextVar[AccountSubset | None] = ContextVar("trimtab_book_subset", default=None)


def active_subset() -> AccountSubset | None:
    """The accounts being read, inside :func:`only_accounts`; ``None`` elsewhere."""
    return _ACTIVE.get()


@contextmanager
def only_accounts(ids: pa.Array | Sequence[str]) -> Iterator[AccountSubset]:
    """Read only the rows of accounts ``ids`` from the book tables read in this block."""
    subset = AccountSubset(ids if isinstance(ids, pa.Array) else pa.array(list(ids), pa.string()))
    token = _ACTIVE.set(subset)
    try:
        yield subset
    except BookError as err:
        raise subset.renumbered(err) from None
    finally:
        _ACTIVE.reset(token)


def read_parquet_rows(subset: AccountSubset, path: Path, keys: list[str]) -> pa.Table:
    """The rows of ``subset``'s accounts in a Parquet file, row group by row group."""
    f = pq.ParquetFile(path, read_dictionary=keys)
    column = f.schema_arrow.get_field_index("account_id")
    ids = subset.ids
    low, high = (pc.min_max(ids)[k].as_py() for k in ("min", "max"))
    parts: list[pa.Table] = []
    rows: list[Rows] = []
    offset = 0
    for g in range(f.metadata.num_row_groups):
        size = f.metadata.row_group(g).num_rows
        stats = f.metadata.row_group(g).column(column).statistics
        outside = (
            stats is not None
            and stats.has_min_max
            and low is not None
            and (str(stats.max) < low or str(stats.min) > high)
        )
        if not outside:
            parts.append(subset.keep(f.read_row_group(g), offset, rows))
        offset += size
    subset.record(path.name, rows, offset)
    if not parts:
        return f.schema_arrow.empty_table()
    return pa.concat_tables(parts)


def read_csv_rows(
    subset: AccountSubset, path: Path, types: dict[str, pa.DataType]
) -> pa.Table | None:
    """The rows of ``subset``'s accounts in a CSV file, streamed; ``None`` when a value does
    not convert (read the whole file then, to name it)."""
    plain = {n: pa.string() if pa.types.is_dictionary(t) else t for n, t in types.items()}
    options = pacsv.ConvertOptions(
        column_types=plain, strings_can_be_null=False, quoted_strings_can_be_null=False
    )
    parts: list[pa.Table] = []
    rows: list[Rows] = []
    offset = 0
    try:
        with pacsv.open_csv(path, convert_options=options) as reader:
            schema = reader.schema
            for batch in reader:
                parts.append(subset.keep(pa.Table.from_batches([batch]), offset, rows))
                offset += batch.num_rows
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    subset.record(path.name, rows, offset)
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    keys = [n for n, t in types.items() if pa.types.is_dictionary(t)]
    return pa.table(
        [
            table.column(n).dictionary_encode() if n in keys else table.column(n)
            for n in table.column_names
        ],
        names=table.column_names,
    )
