"""``trimtab compare-book``: the hand-worked book's figures, agreement with ``propose-book``,
bad input, and the self-contained HTML report."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.whatif_book import AS_OF, hand_book
from trimtab.cli import main

LOGICS = "rebalance_to_target,rebalance_to_tolerance"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.fixture(name="compared")
def compared_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    book = hand_book(tmp_path / "book")
    out = tmp_path / "out"
    code, shown, _ = run(
        ["compare-book", str(book), "--logics", LOGICS, "--as-of", AS_OF, "--out", str(out)],
        capsys,
    )
    assert code == 0
    assert "rebalance_to_tolerance" in shown and "Where the logics disagree most" in shown
    return out


def test_hand_worked_totals_per_logic(compared: Path) -> None:
    rows = {r["logic"]: r for r in pq.read_table(compared / "summary.parquet").to_pylist()}
    before, target, tolerance = (
        rows["(before)"],
        rows["rebalance_to_target"],
        rows["rebalance_to_tolerance"],
    )
    assert before["mean_drift_pct"] == pytest.approx(18.6667, abs=1e-4)
    assert (before["worst_drift_pct"], before["worst_account"]) == (30.0, "A1")
    assert before["out_of_band_accounts"] == 3
    assert (target["accounts_traded"], target["trades"]) == (3, 6)
    assert (target["turnover"], target["turnover_pct"]) == (
        11200.0,
        pytest.approx(37.3333, abs=1e-4),
    )
    assert (target["short_term_gain"], target["long_term_gain"]) == (200.0, 2080.0)
    assert target["estimated_tax"] == 314.0
    assert (target["mean_drift_pct"], target["worst_drift_pct"]) == (0.0, 0.0)
    assert (target["out_of_band_accounts"], target["cash"]) == (0, 0.0)
    assert (target["needs_approval"], target["failed"]) == (1, 0)
    assert (tolerance["accounts_traded"], tolerance["trades"]) == (3, 5)
    assert tolerance["turnover"] == 8600.0
    assert tolerance["turnover_pct"] == pytest.approx(28.6667, abs=1e-4)
    assert (tolerance["short_term_gain"], tolerance["long_term_gain"]) == (200.0, 2080.0)
    assert tolerance["estimated_tax"] == 314.0
    assert tolerance["mean_drift_pct"] == pytest.approx(8.6667, abs=1e-4)
    assert (tolerance["worst_drift_pct"], tolerance["worst_account"]) == (10.0, "A1")
    assert (tolerance["out_of_band_accounts"], tolerance["cash"]) == (0, 2600.0)
    assert tolerance["needs_approval"] == 1


def test_hand_worked_accounts(compared: Path) -> None:
    table = pq.read_table(compared / "accounts.parquet")
    got = {
        (r["account_id"], r["logic"]): (
            r["trades"],
            r["turnover"],
            r["short_term_gain"],
            r["long_term_gain"],
            r["estimated_tax"],
            r["max_drift_after_pct"],
            r["cash_after"],
            r["needs_approval"],
        )
        for r in table.to_pylist()
    }
    assert got == {
        ("A1", "rebalance_to_target"): (2, 6000.0, 200.0, 1200.0, 314.0, 0.0, 0.0, True),
        ("A2", "rebalance_to_target"): (2, 4000.0, 0.0, 1000.0, 0.0, 0.0, 0.0, False),
        ("A3", "rebalance_to_target"): (2, 1200.0, 0.0, -120.0, 0.0, 0.0, 0.0, False),
        ("A1", "rebalance_to_tolerance"): (2, 5000.0, 200.0, 1200.0, 314.0, 10.0, 1000.0, True),
        ("A2", "rebalance_to_tolerance"): (2, 3000.0, 0.0, 1000.0, 0.0, 10.0, 1000.0, False),
        ("A3", "rebalance_to_tolerance"): (1, 600.0, 0.0, -120.0, 0.0, 6.0, 600.0, False),
    }
    before = {r["account_id"]: r["max_drift_before_pct"] for r in table.to_pylist()}
    assert before == {"A1": 30.0, "A2": 20.0, "A3": 6.0}
    spread = pq.read_table(compared / "disagreement.parquet").to_pylist()
    assert [(r["account_id"], r["turnover_spread_pct"]) for r in spread] == [
        ("A1", 10.0),
        ("A2", 10.0),
        ("A3", 6.0),
    ]
    assert {r["most_turnover"] for r in spread} == {"rebalance_to_target"}


def test_csv_holds_the_same_numbers(compared: Path) -> None:
    for name in ("summary", "accounts", "disagreement"):
        csv = pacsv.read_csv(compared / f"{name}.csv")
        parquet = pq.read_table(compared / f"{name}.parquet")
        assert csv.num_rows == parquet.num_rows
        for column in ("turnover", "estimated_tax", "turnover_spread_pct"):
            if column in parquet.column_names:
                assert csv.column(column).to_pylist() == parquet.column(column).to_pylist()


def test_report_is_self_contained_with_its_charts(compared: Path) -> None:
    html = (compared / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?:", html), "the report refers to the network"
    assert "<script" not in html and "<link" not in html
    assert html.count("<svg") == 3  # frontier, per-account scatter, drift distributions
    for title in ("Turnover against drift after, per logic", "Largest drift per account"):
        assert title in html
    assert "A1" in html and ">314<" in html  # the book's estimated tax, to the dollar


def _propose_book(
    book: Path, logic: str, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, object]]]:
    """propose-book's trades added up per account, and its statuses by account."""
    code, _, err = run(
        ["propose-book", str(book), "--logic", logic, "--out", str(out), *extra], capsys
    )
    assert code == 0, err
    trades = pq.read_table(out)
    sums: dict[str, dict[str, float]] = {}
    for r in trades.to_pylist():
        s = sums.setdefault(r["account_id"], {"trades": 0, "turnover": 0.0, "st": 0.0, "lt": 0.0})
        s["trades"] += 1
        s["turnover"] += r["order_value"]
        s["st"] += r["short_term_gain"]
        s["lt"] += r["long_term_gain"]
    statuses = pq.read_table(out.with_name(f"{out.stem}.status.parquet")).to_pylist()
    return sums, {r["account_id"]: r for r in statuses}


@pytest.mark.parametrize("lots", [False, True])
def test_every_logic_equals_propose_book(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lots: bool
) -> None:
    book = tmp_path / "book"
    demo = ["demo-book", str(book), "--accounts", "120", "--seed", "11"]
    assert run([*demo, "--lots"] if lots else demo, capsys)[0] == 0
    extra = ["--as-of", "2026-11-23"] if lots else []
    logics = [
        "rebalance_to_target",
        "rebalance_to_tolerance_oot_only",
        "best_fit",
        "minimum_transaction",
        "household_rebalance",
        "invest_cash_min_trades",
    ]
    out = tmp_path / "whatif"
    code, _, err = run(
        ["compare-book", str(book), "--logics", ",".join(logics), "--out", str(out), *extra],
        capsys,
    )
    assert code == 0, err
    accounts = pq.read_table(out / "accounts.parquet")
    summary = {r["logic"]: r for r in pq.read_table(out / "summary.parquet").to_pylist()}
    for logic in logics:
        sums, statuses = _propose_book(book, logic, tmp_path / f"{logic}.parquet", capsys, *extra)
        mine = accounts.filter(pc.equal(accounts.column("logic"), logic)).to_pylist()
        assert len(mine) == len(statuses) == 120
        for r in mine:
            s = sums.get(r["account_id"], {"trades": 0, "turnover": 0.0, "st": 0.0, "lt": 0.0})
            status = statuses[r["account_id"]]
            assert r["trades"] == s["trades"], (logic, r["account_id"])
            assert r["turnover"] == pytest.approx(s["turnover"], abs=1e-6)
            assert r["short_term_gain"] == pytest.approx(s["st"], abs=1e-6)
            assert r["long_term_gain"] == pytest.approx(s["lt"], abs=1e-6)
            assert r["cash_after"] == status["cash_after"]
            assert r["value"] == status["value"]
            assert r["needs_approval"] == status["needs_approval"]
            assert r["status"] == status["status"]
        total = summary[logic]
        assert total["trades"] == sum(s["trades"] for s in sums.values())
        assert total["turnover"] == pytest.approx(
            sum(s["turnover"] for s in sums.values()), abs=1e-4
        )
        gains = sum(s["st"] + s["lt"] for s in sums.values())
        assert total["short_term_gain"] + total["long_term_gain"] == pytest.approx(gains, abs=1e-4)
        assert total["needs_approval"] == sum(bool(s["needs_approval"]) for s in statuses.values())
    if lots:  # the lots are there to be sold: gains show
        assert any(r["long_term_gain"] or r["short_term_gain"] for r in summary.values())


def test_drift_after_is_trimtab_drift_of_the_book_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A1 under rebalance to tolerance: 50 AAA, 80 BBB, $1,000 cash -> AAA 50%, BBB 40%.
    book = hand_book(tmp_path / "book")
    (book / "lots.csv").unlink()
    (book / "accounts.csv").write_text("account_id,model_id,cash\nA1,M1,1000\n", encoding="utf-8")
    (book / "positions.csv").write_text(
        "account_id,symbol,quantity\nA1,AAA,50\nA1,BBB,80\n", encoding="utf-8"
    )
    code, drift_csv, _ = run(["drift", str(book)], capsys)
    assert code == 0
    assert drift_csv.splitlines()[1].split(",")[2] == "10"
    out = tmp_path / "whatif"
    assert (
        run(
            ["compare-book", str(book), "--logics", "rebalance_to_target", "--out", str(out)],
            capsys,
        )[0]
        == 0
    )
    row = pq.read_table(out / "accounts.parquet").to_pylist()[0]
    assert row["max_drift_before_pct"] == 10.0 and row["out_of_band_before"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--logics", "best_fit,nope"], "--logics: must be one of"),
        (["--logics", "best_fit,,rebalance_to_target"], "--logics: give logic names"),
        (["--methods", "best_fit,best_fit"], "--logics: 'best_fit' is given twice"),
        (["--logics", "generate_cash"], "--cash-to-generate: required by method 'generate_cash'"),
        (["--logics", "best_fit", "--cash-to-invest", "5"], "--cash-to-invest: not used by"),
        (["--rounding", "halves"], "--rounding: must be whole_shares or fractional"),
        (["--short-term-rate", "140"], "--short-term-rate"),
        ([], "--as-of: required: the book has rule tables or tax lots"),
        (["--as-of", "2026-13-01"], "--as-of: not a date"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    book = hand_book(tmp_path / "book")
    if "--as-of" not in args and args:
        args = [*args, "--as-of", AS_OF]
    out = tmp_path / "out"
    code, _, err = run(["compare-book", str(book), *args, "--out", str(out)], capsys)
    assert code == 2
    assert message in err
    assert not out.exists()


def test_a_bad_book_row_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = hand_book(tmp_path / "book")
    (book / "prices.csv").write_text("symbol,price\nAAA,100\nBBB,-5\n", encoding="utf-8")
    code, _, err = run(["compare-book", str(book), "--as-of", AS_OF], capsys)
    assert code == 2
    assert "prices.csv row 2 column price" in err


def test_a_sleeve_book_as_propose_book_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.e2e.test_book_sleeves_cli import BASE

    book = tmp_path / "book"
    book.mkdir()
    for name, text in BASE.items():
        (book / name).write_text(text)
    # sell 100 A, 200 B, buy 200 C, 100 D (APM) at $100; X-2: sell 300 A, buy 300 B
    # (test_book_sleeves_cli's hand-worked book): 6 trades, $120,000
    out = tmp_path / "out"
    argv = ["compare-book", str(book), "--as-of", "2026-11-20", "--out", str(out)]
    assert run([*argv, "--logics", "rebalance_to_target"], capsys)[0] == 0
    target = pq.read_table(out / "summary.parquet").to_pylist()[1]
    assert (target["trades"], target["turnover"]) == (6, 120000.0)
    code, _, err = run([*argv, "--logics", "rebalance_to_target,household_rebalance"], capsys)
    assert code == 2 and "household_rebalance takes no apm sleeves" in err
