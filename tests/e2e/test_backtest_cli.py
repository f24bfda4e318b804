"""``trimtab demo-prices`` and ``trimtab backtest`` from the command line."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.unit.test_backtest_hand import hand_book
from trimtab.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


@pytest.fixture
def demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path]:
    book, prices, flows = tmp_path / "book", tmp_path / "prices.parquet", tmp_path / "flows.csv"
    code, _, _ = run(
        [
            "demo-book",
            str(book),
            "--accounts",
            "12",
            "--securities",
            "40",
            "--models",
            "4",
            "--lots",
        ],
        capsys,
    )
    assert code == 0
    code, _, err = run(
        [
            "demo-prices",
            str(book),
            "--years",
            "0.3",
            "--seed",
            "2",
            "--out",
            str(prices),
            "--flows-out",
            str(flows),
        ],
        capsys,
    )
    assert code == 0, err
    return book, prices, flows


def test_backtest_writes_table_files_and_report(
    demo: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book, prices, flows = demo
    summary, daily, report = tmp_path / "s.csv", tmp_path / "d.parquet", tmp_path / "r.html"
    code, out, err = run(
        [
            "backtest",
            str(book),
            "--prices",
            str(prices),
            "--flows",
            str(flows),
            "--policies",
            "calendar:monthly,bands,hold",
            "--logics",
            "rebalance_to_target,best_fit",
            "--out",
            str(summary),
            "--daily-out",
            str(daily),
            "--report",
            str(report),
        ],
        capsys,
    )
    assert code == 0, err
    assert "calendar:monthly" in out and "best_fit" in out
    table = pacsv.read_csv(summary)
    assert table.num_rows == 5  # two policies x two logics, and hold
    assert table.column("policy").to_pylist()[-1] == "hold"
    days = pq.read_table(daily)
    assert days.num_rows == 5 * len(set(pq.read_table(prices).column("date").to_pylist()))
    html = report.read_text(encoding="utf-8")
    assert html.count("<svg") == 4 and "<script" not in html and "http" not in html.split("<svg")[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policies", "weekly"], "--policies: unknown policy 'weekly'"),
        (["--policies", "calendar:daily"], "--policies: 'calendar:daily'"),
        (["--logics", "nope"], "--logics: must be one of"),
        (["--logics", "generate_cash"], "--logics: generate_cash needs an amount"),
        (["--out", "x.txt"], "--out: must end in .csv or .parquet"),
        (["--report", "x.pdf"], "--report: must end in .html"),
    ],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    book, prices = hand_book(tmp_path)
    code, _, err = run(["backtest", str(book), "--prices", str(prices), *args], capsys)
    assert code == 2
    assert message in err


def test_bad_files_exit_2_naming_file_row_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book, prices = hand_book(tmp_path)
    lines = prices.read_text().splitlines()
    lines[5] = lines[5].replace(",10.0,", ",ten,")
    prices.write_text("\n".join(lines) + "\n")
    code, _, err = run(["backtest", str(book), "--prices", str(prices)], capsys)
    assert code == 2
    assert "prices.csv row 5 column close" in err
    book, prices = hand_book(tmp_path / "again")
    flows = tmp_path / "flows.csv"
    flows.write_text("date,account_id,amount\n2026-12-24,X1,100\n2026-12-28,X1,1e400x\n")
    code, _, err = run(
        ["backtest", str(book), "--prices", str(prices), "--flows", str(flows)], capsys
    )
    assert code == 2
    assert "flows.csv row 2 column amount" in err
    code, _, err = run(["backtest", str(book), "--prices", str(tmp_path / "none.csv")], capsys)
    assert code == 2 and "none.csv: no such file" in err


def test_lots_after_the_first_day_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book, prices = hand_book(tmp_path)
    lots = book / "lots.csv"
    lots.write_text(lots.read_text().replace("2026-06-01", "2027-01-05"))
    code, _, err = run(["backtest", str(book), "--prices", str(prices)], capsys)
    assert code == 2
    assert "lots.csv row 1 column acquired" in err


def test_demo_prices_past_the_calendar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book, _ = hand_book(tmp_path)
    code, _, err = run(
        [
            "demo-prices",
            str(book),
            "--start",
            "2035-01-02",
            "--years",
            "10",
            "--out",
            str(tmp_path / "p.csv"),
        ],
        capsys,
    )
    assert code == 2 and err.startswith("trimtab: --start:")
