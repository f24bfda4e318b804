"""What a worker does with a partition: read its accounts from the book files, measure drift,
propose or compare the logics exactly as the single-process run does, and write its part
file.

Each account has K slots (model lines, then other holdings), K the largest of the book. A
partition laid out alone may be narrower, and sums over a row of different widths may differ
in the last bit, so a partition's arrays must be the whole book's rows, K wide. The first
pass lays each partition out as it needs, proposes and returns its layout
(:class:`~trimtab.io.book_run.Layout`); the whole book's is the widest of them. The
partitions laid out otherwise (few: K is usually the longest model's lines plus a few
holdings, reached in every partition) run again with the book's; only the parts laid out as
the book make the output. With sleeve tables the layout also has the model width (the
longest blend of sleeves), the APM securities that get twin codes, and whether protected
shares make the book rule-aware: a partition cannot see these from its own accounts.

A part is written under a temporary name and renamed into place: a partition run twice (its
worker died after writing) keeps the first part, and a part is there whole or not at all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
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
from trimtab.io.book import LoadedBook
from trimtab.io.book_run import (
    Layout,
    drift_book_of,
    has_protected,
    layout_of,
    load_for_proposing,
    proposal_run,
)
from trimtab.io.book_subset import AccountSubset, member_of, only_accounts
from trimtab.io.tables import table_path
from trimtab.runtime import keep_freed_memory
from trimtab.whatif.book import compare_book
from trimtab.whatif.compare import Run, comparison_table
from trimtab.whatif.figures import TaxRates

TRADES = "trades.arrow"
STATUSES = "status.arrow"
DRIFT = "drift.arrow"
COMPARISON = "comparison.arrow"
"""Part files: Arrow IPC, cheap to write and to read back (the client encodes the output)."""


@dataclass(frozen=True, slots=True)
class Drift:
    """``trimtab drift``: each account's drift."""


@dataclass(frozen=True, slots=True)
class Propose:
    """``trimtab propose-book``: trades and statuses of ``method``."""

    method: Method
    options: TradeOptions
    as_of: date | None


@dataclass(frozen=True, slots=True)
class Compare:
    """``trimtab compare-book``: every run's figures per account
    (:func:`~trimtab.whatif.compare.comparison_table`)."""

    runs: tuple[Run, ...]
    as_of: date | None
    rates: TaxRates


Work = Drift | Propose | Compare


@dataclass(frozen=True, slots=True)
class Job:
    """The command every partition runs on the book at ``folder``."""

    folder: str
    parts: str
    """The folder of this run's part files (shared by the client and every worker)."""
    work: Work


def part_path(job: Job, number: int, layout: Layout) -> Path:
    """The folder of partition ``number``'s part files laid out as ``layout``."""
    apm = hashlib.sha256("\n".join(layout.apm).encode()).hexdigest()[:8]
    key = f"{layout.slots}.{layout.width}.{apm}.{int(layout.protected)}"
    return Path(job.parts) / f"{number:06d}.{key}"


@dataclass(frozen=True, slots=True)
class PartDone:
    """A partition run: how it was laid out, its accounts, and the rows it read of each
    file (:meth:`~trimtab.io.book_subset.AccountSubset.counts`)."""

    layout: Layout
    accounts: int
    rows: dict[str, tuple[int, int]]


Write = Callable[[Path], None]
"""Writes a partition's part files into the folder given."""


def run_partition(spec: PartitionSpec, job: Job, layout: Layout | None = None) -> PartDone:
    """Run ``job`` on the partition laid out at least as ``layout`` and write its part. A
    part already written (by an earlier attempt whose worker died before it reported) is
    kept as it is."""
    keep_freed_memory()  # as the command line does at start: speed only
    folder = Path(job.folder)
    at = layout or Layout()
    with only_accounts(spec.account_ids) as subset:
        loaded, write = _read(job.work, folder, subset, at)
        # protected shares make proposals rule-aware; drift does not care
        proposes = not isinstance(job.work, Drift)
        protected = proposes and (at.protected or has_protected(folder))
    done = PartDone(layout_of(loaded, protected), len(spec.account_ids), subset.counts())
    final = part_path(job, spec.number, done.layout)
    if final.is_dir():
        return done
    temporary = Path(job.parts) / f".{final.name}.{uuid.uuid4().hex}"
    temporary.mkdir()
    try:
        write(temporary)
        _publish(temporary, final)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return done


def _read(
    work: Work, folder: Path, subset: AccountSubset, layout: Layout
) -> tuple[LoadedBook, Write]:
    """The partition read and laid out for ``work`` at least as ``layout`` (inside
    :func:`~trimtab.io.book_subset.only_accounts`), and what computes and writes its part:
    the same functions as the single-process command, over the partition's accounts."""
    if isinstance(work, Drift):
        book = drift_book_of(folder, layout=layout)
        return book, lambda into: write_part(drift_table(book, workers=1), into / DRIFT)
    if isinstance(work, Propose):
        run = proposal_run(folder, work.method, work.options, work.as_of, layout=layout)

        def propose(into: Path) -> None:
            rules = _lot_names_of_file(run.rules, subset, folder)
            parts = iter_proposal_tables(
                run.loaded, run.method, run.options, workers=1, rules=rules
            )
            write_table_pairs(parts, out=into / TRADES, status_out=into / STATUSES)

        return run.loaded, propose
    methods = [r.method for r in work.runs]
    loaded, rules = load_for_proposing(folder, methods, work.as_of, layout=layout)

    def compare(into: Path) -> None:
        c = compare_book(loaded, work.runs, rules=rules, rates=work.rates, workers=1)
        write_part(comparison_table(c), into / COMPARISON)

    return loaded, compare


def write_part(table: pa.Table, path: Path) -> None:
    """``table`` as a part file."""
    with pa.ipc.new_file(str(path), table.schema) as writer:
        writer.write_table(table)


def read_part(path: Path) -> pa.Table:
    """A part file, as written."""
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


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


def unknown_account(folder: str, files: list[str]) -> BookError:
    """The first row of ``files`` (book tables keyed by account) whose account is not in the
    accounts table: the partitions, which read only their own accounts' rows, found fewer
    rows than these files have."""
    path = Path(folder)
    accounts = _column(path, "accounts")
    assert accounts is not None  # the client planned the partitions from it
    known = pa.concat_arrays([c.dictionary for c in accounts.chunks]).unique()
    for name in files:
        ids = _column(path, Path(name).stem)
        found = member_of(ids, known) if ids is not None else np.ones(0, dtype=bool)
        if not found.all():
            row = int(np.flatnonzero(~found)[0])
            assert ids is not None
            return BookError(
                f"{name} row {row + 1} column account_id",
                f"unknown account {ids[row].as_py()!r}",
            )
    return BookError(", ".join(files), "rows of accounts the accounts table does not have")


def _column(folder: Path, name: str) -> pa.ChunkedArray | None:
    """The ``account_id`` column of table ``name``, dictionary-encoded (``None`` without the
    table, or when the partitions' reader is to say what is wrong with it)."""
    path = table_path(folder, name)
    if path is None:
        return None
    try:
        if path.suffix == ".parquet":
            file = pq.ParquetFile(path, read_dictionary=["account_id"])
            return file.read(columns=["account_id"]).column("account_id")
        options = pacsv.ConvertOptions(
            include_columns=["account_id"],
            column_types={"account_id": pa.dictionary(pa.int32(), pa.string())},
            strings_can_be_null=False,
        )
        return pacsv.read_csv(path, convert_options=options).column("account_id")
    except (pa.ArrowException, OSError, KeyError):
        return None  # read by the partitions: they name what is wrong
