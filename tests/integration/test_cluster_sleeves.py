"""Books with sleeve tables on a LocalCluster of two worker processes: ``propose-book``,
``drift`` and ``compare-book`` give the one-process output: the same CSV text and report
files, the same Parquet tables.

The sleeve book has a plain account, a blend of two model sleeves, model and APM sleeves
(APM securities of their own), and protected shares, in three households; cut one or two
accounts (or households) per partition, most partitions cannot see the whole book's
layout from their own accounts: its model width (the longest blend), the APM securities
that get twin codes (and so the trades' ``sleeve`` column), and the protected shares that
make every account proposed under rules. The partitions laid out otherwise run again as
the book is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.factories import cluster_fixture
from tests.integration.test_book_sleeves_equals_propose import AS_OF, write_book
from trimtab.cli import main
from trimtab.cluster.run import cluster_propose
from trimtab.core.engine import Method
from trimtab.options import trade_options

CASES = [  # logic, flags, rule tables, protected shares, partition size
    ("rebalance_to_target", [], False, False, "1"),
    ("rebalance_to_target", [], True, True, "1"),
    ("rebalance_to_tolerance", [], False, True, "2"),
    ("generate_cash", ["--cash-to-generate", "15000"], True, False, "1"),
    ("invest_cash_proportional", [], False, False, "2"),
]


cluster = cluster_fixture()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def book_of(folder: Path, rules: bool, protected: bool) -> tuple[Path, list[str]]:
    book = folder / "book"
    write_book(book, rules=rules, protected=protected)
    return book, ["--as-of", AS_OF] if rules or protected else []


@pytest.mark.parametrize(
    ("logic", "flags", "rules", "protected", "size"),
    CASES,
    ids=[f"{c[0]}-{'rules' if c[2] else 'plain'}-{'protected' if c[3] else 'free'}" for c in CASES],
)
def test_propose_book(
    cluster: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    logic: str,
    flags: list[str],
    rules: bool,
    protected: bool,
    size: str,
) -> None:
    book, dated = book_of(tmp_path, rules, protected)
    base = ["propose-book", str(book), "--logic", logic, *flags, *dated]
    files = {}
    for name, extra in (
        ("single", []),
        ("spread", ["--cluster", cluster, "--partition-size", size]),
    ):
        for ext in ("csv", "parquet"):
            out = tmp_path / f"{name}.{ext}"
            code, _, err = run([*base, "--out", str(out), *extra], capsys)
            assert code == 0, err
            files[name, ext] = out
    single, spread = files["single", "csv"], files["spread", "csv"]
    for a, b in ((single, spread), (_status(single), _status(spread))):
        assert b.read_bytes() == a.read_bytes(), b.name  # the same text
    single, spread = files["single", "parquet"], files["spread", "parquet"]
    for a, b in ((single, spread), (_status(single), _status(spread))):
        assert pq.read_table(b).equals(pq.read_table(a)), b.name  # the same table
    trades = pq.read_table(files["spread", "parquet"])
    assert trades.num_rows > 0
    assert "sleeve" in trades.column_names  # the book's APM twins, in every part
    if logic == "rebalance_to_target":
        assert "apm" in trades.column("sleeve").to_pylist()


def test_the_partitions_laid_out_otherwise_run_again(cluster: str, tmp_path: Path) -> None:
    """One account per partition: the plain account's lays out no twins and a narrower
    model; the blend's no twins; the APM sleeves' other twins; all but the protected
    shares' propose without rules. Each runs again as the book is laid out."""
    book, _ = book_of(tmp_path, False, True)
    options = trade_options(Method.REBALANCE_TO_TARGET)
    times = cluster_propose(
        book,
        Method.REBALANCE_TO_TARGET,
        options,
        date.fromisoformat(AS_OF),
        out=tmp_path / "trades.parquet",
        status_out=None,
        address=cluster,
        partition_size=1,
    )
    assert times.partitions == 3  # protected shares: whole households
    assert times.again >= 2


def _status(out: Path) -> Path:
    return out.with_name(f"{out.stem}.status{out.suffix}")


def test_drift(cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book, _ = book_of(tmp_path, False, True)
    outs = []
    for name, extra in (
        ("single", []),
        ("spread", ["--cluster", cluster, "--partition-size", "1"]),
    ):
        out = tmp_path / f"{name}.csv"
        code, _, err = run(["drift", str(book), "--out", str(out), *extra], capsys)
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[1] == outs[0]
    assert outs[0].count(b"\n") == 6  # a header and the five accounts


def test_compare_book(cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book, dated = book_of(tmp_path, True, True)
    base = ["compare-book", str(book), "--logics", "rebalance_to_target,rebalance_to_tolerance"]
    shown = []
    for name, extra in (
        ("single", []),
        ("spread", ["--cluster", cluster, "--partition-size", "1"]),
    ):
        code, out, err = run([*base, *dated, "--out", str(tmp_path / name), *extra], capsys)
        assert code == 0, err
        shown.append(out)
    assert shown[1] == shown[0]
    assert "What-if: 5 accounts" in shown[0]
    names = sorted(p.name for p in (tmp_path / "single").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "spread").iterdir())
    for name in names:
        assert (tmp_path / "spread" / name).read_bytes() == (
            tmp_path / "single" / name
        ).read_bytes()


def test_a_refusal_is_the_one_process_refusal(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Household rebalance takes no APM sleeves, which one household's partition has and
    another's does not; protected shares need a date."""
    book, dated = book_of(tmp_path, False, True)
    cut = ["--cluster", cluster, "--partition-size", "1"]
    for args in (
        ["propose-book", str(book), "--logic", "household_rebalance", *dated],
        ["propose-book", str(book), "--logic", "rebalance_to_target"],
    ):
        out = ["--out", str(tmp_path / "trades.csv")]
        single = run([*args, *out], capsys)
        assert single[0] == 2 and single[2].startswith("trimtab: ")
        assert run([*args, *out, *cut], capsys) == single
