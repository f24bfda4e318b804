"""Cutting a book into partitions: the client reads only the accounts' ids and households."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trimtab.errors import BookError
from trimtab.io.household_book import account_households, household_order, whole_spans
from trimtab.io.tables import _csv_header, table_path

PARTITION_ACCOUNTS = 20_000
"""Accounts per partition by default (a household larger than this is a partition alone)."""


@dataclass(frozen=True, slots=True)
class PartitionSpec:
    """What a worker is sent: the partition's number (its place in the output) and its
    accounts' ids, in the order the single-process run proposes them."""

    number: int
    account_ids: pa.Array


def account_keys(folder: Path) -> pa.Table:
    """``account_id`` and, when present, ``household_id`` of the book's accounts, read as
    the book reader reads them (a CSV's empty text is text, not missing)."""
    path = table_path(folder, "accounts") if folder.is_dir() else None
    if path is None:
        raise BookError(str(folder), "not a book folder with accounts.csv or accounts.parquet")
    wanted = ["account_id", "household_id"]
    try:
        if path.suffix == ".parquet":
            names = pq.ParquetFile(path).schema_arrow.names
            table = pq.read_table(path, columns=[n for n in wanted if n in names])
        else:
            names = _csv_header(path)
            present = [n for n in wanted if n in names]
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    include_columns=present,
                    column_types={n: pa.string() for n in present},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
    except (pa.ArrowException, OSError) as err:
        raise BookError(path.name, f"cannot read: {err}") from None
    if "account_id" not in table.column_names:
        raise BookError(path.name, "missing required column account_id")
    return table


def plan_partitions(folder: Path, *, grouped: bool, size: int) -> list[PartitionSpec]:
    """Partitions of at most ``size`` accounts, in the single-process run's account order.

    ``grouped`` (household rebalance, rules): households together, in the order of their
    first account, never split (an account without a household is one of its own); else
    book order, cut every ``size`` accounts.
    """
    keys = account_keys(folder)
    n = keys.num_rows
    if grouped:
        codes = account_households(keys, 0, n)
        order = household_order(codes)
        codes = codes[order]
    else:
        order = np.arange(n)
        codes = order.astype(np.int32)
    ids = keys.column("account_id").combine_chunks()
    return [  # each its own ids (a slice would be pickled with the whole column's buffers)
        PartitionSpec(number, ids.take(pa.array(order[start:stop])))
        for number, (start, stop) in enumerate(whole_spans(codes, size))
    ]
