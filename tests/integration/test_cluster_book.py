"""``drift``, ``propose-book`` and ``compare-book`` on a Dask cluster (``--cluster``) write what
the single-process run writes, row for row: every logic, with rules, tax lots and households,
from CSV and from Parquet books, and when a worker dies in the middle of the run.

One LocalCluster of two worker processes on loopback serves the whole module."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from distributed import Client, WorkerPlugin

from tests.integration.test_book_rules_equals_propose import AS_OF, write_book
from trimtab.cli import main
from trimtab.cluster.run import local_cluster
from trimtab.io.batch import RULE_TABLES, has_rules

COPIES = 8
"""The six-account rules book, eight times over (48 accounts, 40 households)."""

LOGICS: list[tuple[str, list[str]]] = [
    ("rebalance_to_target", []),
    ("rebalance_to_tolerance", []),
    ("rebalance_to_tolerance_oot_only", []),
    ("invest_cash_proportional", []),
    ("invest_cash_min_trades", []),
    ("generate_cash", ["--cash-to-generate", "15000"]),
    ("best_fit", []),
    ("minimum_transaction", []),
    ("household_rebalance", []),
    ("deposit", []),
    ("withdrawal", ["--cash-to-generate", "5000"]),
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A scheduler address; its two worker processes and its ports are gone after the
    module."""
    listening = _listening()
    with local_cluster(2) as local:
        with Client(local) as client:
            client.wait_for_workers(2)
        yield local.scheduler_address
        with Client(local) as client:
            pids = list(client.run(os.getpid).values())
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(psutil.pid_exists(p) for p in pids)
    assert _listening() <= listening


def _listening() -> set[tuple[Any, ...]]:
    """The TCP addresses this process listens on."""
    connections = psutil.Process().net_connections("tcp")
    return {tuple(c.laddr) for c in connections if c.status == psutil.CONN_LISTEN}


def replicated_book(folder: Path, fmt: str) -> Path:
    """The rules book of ``test_book_rules_equals_propose`` ``COPIES`` times over: accounts
    and households renamed per copy, lots without ids numbered by their row in the whole
    file. Parquet files are written in row groups of 16 rows, so partitions skip some."""
    base = folder / f"base-{fmt}"
    write_book(base)
    book = folder / f"book-{fmt}"
    book.mkdir()
    for path in sorted(base.iterdir()):
        table = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(strings_can_be_null=False)
        )
        if "account_id" in table.column_names:
            copies = []
            for n in range(COPIES):
                copy = table
                for column in ("account_id", "household_id"):
                    if column in copy.column_names:
                        renamed = pa.array(f"{v}-{n}" for v in copy.column(column).to_pylist())
                        copy = copy.set_column(copy.column_names.index(column), column, renamed)
                copies.append(copy)
            table = pa.concat_tables(copies)
        if fmt == "parquet":
            pq.write_table(table, book / f"{path.stem}.parquet", row_group_size=16)
        else:
            pacsv.write_csv(table, book / path.name)
    return book


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cluster-books")
    return {fmt: replicated_book(folder, fmt) for fmt in ("csv", "parquet")}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    return int(done.value.code or 0), capsys.readouterr().err


def copied(book: Path, folder: Path) -> Path:
    """A copy of ``book`` to spoil."""
    shutil.copytree(book, folder)
    return folder


def status_of(out: Path) -> Path:
    return out.with_name(f"{out.stem}.status{out.suffix}")


def assert_same_tables(single: Path, spread: Path) -> None:
    for a, b in ((single, spread), (status_of(single), status_of(spread))):
        expected, got = pq.read_table(a), pq.read_table(b)
        assert got.num_rows == expected.num_rows
        assert got.equals(expected), a.name


@pytest.mark.parametrize(("logic", "flags"), LOGICS, ids=[name for name, _ in LOGICS])
def test_every_logic_on_the_cluster_equals_one_process(
    cluster: str,
    books: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    logic: str,
    flags: list[str],
) -> None:
    book = books["parquet"]
    base = ["propose-book", str(book), "--logic", logic, "--as-of", AS_OF, *flags]
    single, spread = tmp_path / "single.parquet", tmp_path / "spread.parquet"
    code, err = run([*base, "--out", str(single)], capsys)
    assert code == 0, err
    cut = ["--cluster", cluster, "--partition-size", "5"]
    code, err = run([*base, "--out", str(spread), *cut], capsys)
    assert code == 0, err
    assert pq.read_table(status_of(single)).num_rows == 6 * COPIES
    assert_same_tables(single, spread)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [single.name, spread.name, status_of(single).name, status_of(spread).name]
    )  # no part file is left behind


def test_lots_without_ids_are_named_by_their_row_in_the_whole_file(
    cluster: str, books: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A-5's FB lot without an id is row 10 of the rules book's lots.csv (15 lots): each
    copy names it by its own row of the whole file (10, 25, 40, ...), as one process does,
    not by its row among the partition's lots."""
    out = tmp_path / "trades.csv"
    args = ["propose-book", str(books["csv"]), "--logic", "rebalance_to_target"]
    cut = ["--cluster", cluster, "--partition-size", "4"]
    code, err = run([*args, "--as-of", AS_OF, "--out", str(out), *cut], capsys)
    assert code == 0, err
    table = pacsv.read_csv(out).to_pylist()
    named = {r["account_id"]: r["lots"] for r in table if r["symbol"] == "FB"}
    for n in range(COPIES):
        assert named[f"A-5-{n}"] == f"M3:400;M1:600;#{10 + 15 * n}:111"


def test_csv_output_is_the_same_text(
    cluster: str, books: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["propose-book", str(books["csv"]), "--logic", "household_rebalance", "--as-of", AS_OF]
    single, spread = tmp_path / "single.csv", tmp_path / "spread.csv"
    assert run([*args, "--out", str(single)], capsys)[0] == 0
    code, err = run(
        [*args, "--out", str(spread), "--cluster", cluster, "--partition-size", "3"], capsys
    )
    assert code == 0, err
    assert spread.read_bytes() == single.read_bytes()
    assert status_of(spread).read_bytes() == status_of(single).read_bytes()


def test_drift_on_the_cluster_equals_one_process(
    cluster: str, books: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt, book in books.items():
        single, spread = tmp_path / f"{fmt}.parquet", tmp_path / f"{fmt}-spread.parquet"
        assert run(["drift", str(book), "--out", str(single)], capsys)[0] == 0
        code, err = run(
            [
                "drift",
                str(book),
                "--out",
                str(spread),
                "--cluster",
                cluster,
                "--partition-size",
                "7",
            ],
            capsys,
        )
        assert code == 0, err
        assert pq.read_table(spread).equals(pq.read_table(single)), fmt


def killer(marker: Path, partition: int) -> WorkerPlugin:
    """A plugin that ends its worker's process (no clean-up: as if it crashed) when
    partition ``partition`` starts on it, the first time only (``marker``)."""

    class Crash(WorkerPlugin):
        name = "trimtab-test-crash"

        def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
            if finish != "executing" or not str(key).startswith("trimtab-partition-"):
                return
            if str(key).endswith(f"-{partition}") and not marker.exists():
                marker.write_text("crashed")
                os._exit(1)

    return Crash()


def test_a_worker_that_dies_has_its_partitions_run_again(
    cluster: str, books: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = books["parquet"]
    base = ["propose-book", str(book), "--logic", "rebalance_to_target", "--as-of", AS_OF]
    single, spread = tmp_path / "single.parquet", tmp_path / "spread.parquet"
    assert run([*base, "--out", str(single)], capsys)[0] == 0
    marker = tmp_path / "crashed"
    with Client(cluster) as client:
        before = set(client.run(os.getpid).values())
        client.register_plugin(killer(marker, 3))
        try:
            cut = ["--cluster", cluster, "--partition-size", "5"]
            code, err = run([*base, "--out", str(spread), *cut], capsys)
        finally:
            client.unregister_worker_plugin("trimtab-test-crash")
        client.wait_for_workers(2, timeout=30)
        after = set(client.run(os.getpid).values())
    assert code == 0, err
    assert marker.read_text() == "crashed"
    assert len(before - after) == 1  # one worker process died (its nanny started another)
    assert_same_tables(single, spread)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("-5", "must be at least 0, got -5"), ("lots", "not a valid number: 'lots'")],
)
def test_a_bad_row_is_named_by_its_row_in_the_file(
    cluster: str,
    books: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    value: str,
    problem: str,
) -> None:
    """A late row of positions.csv (in the last partition) named by its row in the file, as
    one process names it: a value out of range (checked in the partition) and one that does
    not convert (the partition's streamed read gives up; the whole file is read to name it)."""
    book = copied(books["csv"], tmp_path / "bad")
    lines = (book / "positions.csv").read_text().splitlines()
    row = len(lines) - 2
    account, symbol, _ = lines[row].split(",")
    lines[row] = f"{account},{symbol},{value}"
    (book / "positions.csv").write_text("\n".join(lines) + "\n")
    args = ["propose-book", str(book), "--logic", "rebalance_to_target", "--as-of", AS_OF]
    out = tmp_path / "t.csv"
    cut = ["--cluster", cluster, "--partition-size", "5"]
    code, err = run([*args, "--out", str(out), *cut], capsys)
    assert (code, err) == (2, f"trimtab: positions.csv row {row} column quantity: {problem}\n")
    assert run([*args, "--out", str(out)], capsys) == (code, err)  # as one process says it
    assert not out.exists()


@pytest.mark.parametrize(
    ("table", "row", "command"),
    [
        ("locks.csv", '"Z-9","gain","FB"', ["propose-book", "--as-of", AS_OF]),
        ("positions.csv", '"Z-9","FB",10', ["drift"]),
    ],
)
def test_a_row_of_an_unknown_account_is_refused(
    cluster: str,
    books: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table: str,
    row: str,
    command: list[str],
) -> None:
    """A row no partition reads (its account is in no partition) is found and named."""
    book = copied(books["csv"], tmp_path / "bad")
    with (book / table).open("a") as f:
        f.write(row + "\n")
    rows = len((book / table).read_text().splitlines()) - 1
    args = [command[0], str(book), *command[1:]]
    if command[0] == "propose-book":
        args += ["--logic", "rebalance_to_target"]
    code, err = run([*args, "--cluster", cluster, "--partition-size", "7"], capsys)
    assert code == 2
    assert err == f"trimtab: {table} row {rows} column account_id: unknown account 'Z-9'\n"
    assert run(args, capsys) == (code, err)  # as the single-process run says it


def test_cluster_flag_errors(
    books: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["drift", str(books["csv"]), "--cluster", "local:none"], capsys)
    assert (code, err) == (
        2,
        "trimtab: --cluster: local:N takes a number of workers, got 'local:none'\n",
    )


def test_partitions_narrower_than_the_book_run_again_as_wide(
    cluster: str, books: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One household per partition: those whose accounts hold nothing outside the model are
    laid out narrower than the book (A-3 holds AMD, A-2 may buy AAPL) and run again."""
    from datetime import date

    from trimtab.cluster import cluster_propose
    from trimtab.io.batch import batch_options

    book = books["parquet"]
    single = tmp_path / "single.parquet"
    args = ["propose-book", str(book), "--logic", "rebalance_to_target", "--as-of", AS_OF]
    assert run([*args, "--out", str(single)], capsys)[0] == 0
    method, options = batch_options(
        method="rebalance_to_target",
        rounding="whole_shares",
        share_decimals=3,
        cash_to_generate=None,
        mccar_pct=None,
        cash_to_invest=None,
        min_trade_value=0.0,
    )
    spread = tmp_path / "spread.parquet"
    times = cluster_propose(
        book,
        method,
        options,
        date.fromisoformat(AS_OF),
        out=spread,
        status_out=status_of(spread),
        address=cluster,
        partition_size=1,
    )
    assert times.partitions == 5 * COPIES  # six accounts in five households per copy
    assert 0 < times.again < times.partitions
    assert_same_tables(single, spread)


COMPARED = [
    "--logics",
    "rebalance_to_target,rebalance_to_tolerance,household_rebalance,best_fit,generate_cash,"
    "withdrawal",
    "--cash-to-generate",
    "15000",
]
"""Six logics, household rebalance among them, for ``compare-book``."""
BOOK_ORDER = "rebalance_to_target,best_fit,invest_cash_proportional,deposit"
"""Logics that plan account by account: a book without rules is cut in book order."""


def without_rules(book: Path, folder: Path) -> Path:
    """A copy of ``book`` without its rule tables and lots: planned in book order."""
    copy = copied(book, folder)
    for name in RULE_TABLES:
        for path in copy.glob(f"{name}.*"):
            path.unlink()
    assert not has_rules(copy)
    return copy


def assert_same_reports(single: Path, spread: Path) -> None:
    """The same files, byte for byte, and the same tables."""
    names = sorted(p.name for p in single.iterdir())
    assert names == sorted(p.name for p in spread.iterdir())
    assert "report.html" in names and "accounts.parquet" in names
    for name in names:
        assert (spread / name).read_bytes() == (single / name).read_bytes(), name
        if name.endswith(".parquet"):
            assert pq.read_table(spread / name).equals(pq.read_table(single / name)), name


@pytest.mark.parametrize(
    ("fmt", "ruled", "size", "logics"),
    [
        ("parquet", True, "5", COMPARED),
        ("csv", True, "3", COMPARED),
        ("parquet", False, "7", COMPARED),
        ("csv", False, "4", ["--logics", BOOK_ORDER]),
    ],
    ids=["parquet-rules", "csv-rules", "parquet-no-rules", "csv-book-order"],
)
def test_compare_book_on_the_cluster_equals_one_process(
    cluster: str,
    books: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    ruled: bool,
    size: str,
    logics: list[str],
) -> None:
    """Households, lots and every rule, or none (without household rebalance: partitions
    in book order), several logics: the same terminal table and the same files, the parts
    removed."""
    book = books[fmt] if ruled else without_rules(books[fmt], tmp_path / "book")
    base = ["compare-book", str(book), *logics]
    if ruled:
        base += ["--as-of", AS_OF]
    with pytest.raises(SystemExit) as done:
        main([*base, "--out", str(tmp_path / "single")])
    assert done.value.code in (0, None)
    single = capsys.readouterr().out
    assert f"What-if: 48 accounts, {len(logics[1].split(','))} logics" in single
    with pytest.raises(SystemExit) as done:
        main(
            [
                *base,
                "--out",
                str(tmp_path / "spread"),
                "--cluster",
                cluster,
                "--partition-size",
                size,
            ]
        )
    assert done.value.code in (0, None)
    assert capsys.readouterr().out == single
    assert_same_reports(tmp_path / "single", tmp_path / "spread")
    expected = {"single", "spread"} | ({"book"} if not ruled else set())
    assert {p.name for p in tmp_path.iterdir()} == expected  # no part is left behind


def test_compare_book_reads_the_cluster_from_the_environment(
    cluster: str,
    books: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``TRIMTAB_DASK_SCHEDULER`` for a book folder; the parts go beside ``--out``; a
    partition narrower than the book is run again as wide (one household each)."""
    from datetime import date

    from trimtab.cluster import cluster_compare
    from trimtab.whatif.book import book_runs
    from trimtab.whatif.compare import chosen_logics, comparison_table
    from trimtab.whatif.figures import TaxRates

    book = books["parquet"]
    args = ["compare-book", str(book), *COMPARED, "--as-of", AS_OF]
    assert run([*args, "--out", str(tmp_path / "single")], capsys)[0] == 0
    monkeypatch.setenv("TRIMTAB_DASK_SCHEDULER", cluster)
    assert run([*args, "--out", str(tmp_path / "spread")], capsys)[0] == 0
    assert_same_reports(tmp_path / "single", tmp_path / "spread")

    amounts: dict[str, float | None] = {"cash_to_generate": 15000.0}
    logics = chosen_logics(COMPARED[1], amounts)
    runs = book_runs(logics, rounding="whole_shares", share_decimals=3, amounts=amounts)
    when = date.fromisoformat(AS_OF)
    got, times = cluster_compare(
        book, runs, when, TaxRates(), out=None, address=cluster, partition_size=1
    )
    assert times.partitions == 5 * COPIES
    assert 0 < times.again < times.partitions
    wide, _ = cluster_compare(book, runs, when, TaxRates(), out=None, address=cluster)
    assert wide.size == 6 * COPIES
    assert comparison_table(got).equals(comparison_table(wide))


def test_compare_book_when_a_worker_dies(
    cluster: str, books: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = books["parquet"]
    base = ["compare-book", str(book), *COMPARED, "--as-of", AS_OF]
    assert run([*base, "--out", str(tmp_path / "single")], capsys)[0] == 0
    marker = tmp_path / "crashed"
    with Client(cluster) as client:
        before = set(client.run(os.getpid).values())
        client.register_plugin(killer(marker, 3))
        try:
            cut = ["--cluster", cluster, "--partition-size", "5"]
            code, err = run([*base, "--out", str(tmp_path / "spread"), *cut], capsys)
        finally:
            client.unregister_worker_plugin("trimtab-test-crash")
        client.wait_for_workers(2, timeout=30)
        after = set(client.run(os.getpid).values())
    assert code == 0, err
    assert marker.read_text() == "crashed"
    assert len(before - after) == 1
    assert_same_reports(tmp_path / "single", tmp_path / "spread")


@pytest.mark.parametrize(
    ("spoil", "flags", "message"),
    [
        ("lots", [], "lots.csv row {row} column quantity: not a valid number: 'lots'"),
        ("-5", [], "positions.csv row {row} column quantity: must be at least 0, got -5"),
        (None, ["--as-of", None], "--as-of: required: the book has rule tables or tax lots"),
    ],
    ids=["lot-does-not-convert", "position-out-of-range", "no-as-of"],
)
def test_compare_book_bad_input_on_the_cluster(
    cluster: str,
    books: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil: str | None,
    flags: list[str | None],
    message: str,
) -> None:
    """Exit status 2 naming the file's row and column, as one process names it; no report."""
    book = copied(books["csv"], tmp_path / "bad")
    row = 0
    if spoil is not None:
        table = "lots.csv" if spoil == "lots" else "positions.csv"
        lines = (book / table).read_text().splitlines()
        row = len(lines) - 2
        header = [name.strip('"') for name in lines[0].split(",")]
        cells = lines[row].split(",")
        cells[header.index("quantity")] = spoil
        lines[row] = ",".join(cells)
        (book / table).write_text("\n".join(lines) + "\n")
    args = ["compare-book", str(book), *COMPARED]
    if flags != ["--as-of", None]:
        args += ["--as-of", AS_OF]
    out = tmp_path / "report"
    cut = ["--cluster", cluster, "--partition-size", "5"]
    code, err = run([*args, "--out", str(out), *cut], capsys)
    assert (code, err) == (2, f"trimtab: {message.format(row=row)}\n")
    assert run([*args, "--out", str(out)], capsys) == (code, err)  # as one process says it
    assert not out.exists()
