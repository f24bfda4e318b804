"""What a worker does with a partition: read its accounts from the book files, propose (or
measure drift) exactly as the single-process run does, and write its part file.

Two passes. :func:`partition_slots` lays the partition out and returns its slots per
account; the client takes the largest, the whole book's, and :func:`run_partition` lays the
partition out that wide, so its arrays are the single-process run's rows to the bit.

A part is written under a temporary name and renamed into place: a partition run twice (its
worker died after writing) keeps the first part, and a part is there whole or not at all.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trimtab.cluster.plan import PartitionSpec
from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import BookError
from trimtab.io.batch import (
    BookRulesOn,
    drift_table,
    iter_proposal_tables,
    write_table_pairs,
)
from trimtab.io.book import SCHEMAS, LoadedBook
from trimtab.io.book_run import drift_book_of, proposal_run
from trimtab.io.book_subset import AccountSubset, only_accounts
from trimtab.io.tables import table_path

TRADES = "trades.parquet"
STATUSES = "status.parquet"
DRIFT = "drift.parquet"


@dataclass(frozen=True, slots=True)
class Job:
    """The command every partition runs: ``method`` ``None`` is ``drift``."""

    folder: str
    parts: str
    """The folder of this run's part files (shared by the client and every worker)."""
    method: Method | None = None
    options: TradeOptions | None = None
    as_of: date | None = None


def _load(job: Job, spec: PartitionSpec, slots: int) -> tuple[LoadedBook, AccountSubset]:
    folder = Path(job.folder)
    with only_accounts(spec.account_ids) as subset:
        if job.method is None:
            return drift_book_of(folder, slots=slots), subset
        assert job.options is not None
        run = proposal_run(folder, job.method, job.options, job.as_of, slots=slots)
    return run.loaded, subset


def partition_slots(spec: PartitionSpec, job: Job) -> int:
    """Slots per account the partition needs (the first pass)."""
    loaded, _ = _load(job, spec, 0)
    return int(loaded.arrays.slot_symbol.shape[1])


def part_path(job: Job, number: int) -> Path:
    """The folder of partition ``number``'s part files."""
    return Path(job.parts) / f"{number:06d}"


def run_partition(spec: PartitionSpec, job: Job, slots: int) -> int:
    """Propose for (or measure) the partition ``slots`` wide and write its part; returns its
    number of accounts. A part already written is kept as it is."""
    final = part_path(job, spec.number)
    if final.is_dir():
        return len(spec.account_ids)
    temporary = Path(job.parts) / f".{final.name}.{uuid.uuid4().hex}"
    temporary.mkdir()
    try:
        _write_part(job, spec, slots, temporary)
        _publish(temporary, final)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return len(spec.account_ids)


def _write_part(job: Job, spec: PartitionSpec, slots: int, into: Path) -> None:
    folder = Path(job.folder)
    with only_accounts(spec.account_ids) as subset:
        if job.method is None:
            loaded = drift_book_of(folder, slots=slots)
            pq.write_table(drift_table(loaded, workers=1), into / DRIFT)
            return
        assert job.options is not None
        run = proposal_run(folder, job.method, job.options, job.as_of, slots=slots)
    rules = _lot_names_of_file(run.rules, subset, folder)
    parts = iter_proposal_tables(run.loaded, run.method, run.options, workers=1, rules=rules)
    write_table_pairs(parts, out=into / TRADES, status_out=into / STATUSES)


def _publish(temporary: Path, final: Path) -> None:
    """Rename the finished part into place, atomically; keep a part already there."""
    for f in temporary.iterdir():
        with f.open("rb") as handle:
            os.fsync(handle.fileno())
    try:
        temporary.rename(final)
    except OSError:
        if not final.is_dir():
            raise


def _lot_names_of_file(
    rules: BookRulesOn | None, subset: AccountSubset, folder: Path
) -> BookRulesOn | None:
    """The rules with each lot named as the single-process run names it: its ``lot_id``,
    else ``#N`` with N its row in the whole lots file (not in the partition)."""
    path = table_path(folder, "lots")
    rows = subset.rows_of(path.name) if path is not None else None
    if rules is None or rows is None:
        return rules
    number = pc.binary_join_element_wise("#", pc.cast(pa.array(rows + 1), pa.string()), "")
    names: pa.Array | pa.ChunkedArray = number
    if rules.lot_ids is not None:
        given = rules.lot_ids
        if pa.types.is_dictionary(given.type):
            given = given.cast(pa.string())
        given = pc.if_else(pc.equal(given, ""), pa.scalar(None, pa.string()), given)
        names = pc.coalesce(given, number)
    return replace(rules, lot_ids=pa.chunked_array([names]))


def check_accounts(folder: str) -> None:
    """Every row of a table keyed by account names an account of the book: partitions read
    only their own accounts' rows, so a row of an unknown account is found here."""
    from trimtab.io.book_rules import RULE_SCHEMAS

    path = Path(folder)
    known = _column(path, "accounts")
    if known is None:
        return
    schemas = {**SCHEMAS, **RULE_SCHEMAS}
    for name, columns in schemas.items():
        if name == "accounts" or "account_id" not in {c.name for c in columns}:
            continue
        ids = _column(path, name)
        if ids is None:
            continue
        found = np.asarray(pc.fill_null(pc.is_in(ids, value_set=known), False))
        if not found.all():
            row = int(np.flatnonzero(~found)[0])
            label = table_path(path, name)
            assert label is not None
            raise BookError(
                f"{label.name} row {row + 1} column account_id",
                f"unknown account {ids[row].as_py()!r}",
            )


def _column(folder: Path, name: str) -> pa.Array | None:
    """The ``account_id`` column of table ``name`` (``None`` without the table)."""
    path = table_path(folder, name)
    if path is None:
        return None
    try:
        if path.suffix == ".parquet":
            column = pq.read_table(path, columns=["account_id"]).column("account_id")
        else:
            options = pacsv.ConvertOptions(
                include_columns=["account_id"],
                column_types={"account_id": pa.string()},
                strings_can_be_null=False,
            )
            column = pacsv.read_csv(path, convert_options=options).column("account_id")
    except (pa.ArrowException, OSError, KeyError):
        return None  # the partitions' reader names what is wrong with the file
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    return column.combine_chunks()
