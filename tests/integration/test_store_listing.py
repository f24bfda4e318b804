"""The read services of trimtab.service.listing on SQLite and PostgreSQL: contents, order,
every page walked, tokens refused, roles checked, and nothing of another firm.

The book (prices A $50, B $40; M1 is A 60% [55, 65], B 40% [35, 45]; M2 is A 20% [15, 25],
B 80% [75, 85] on the first day and A 25% [20, 30], B 75% [70, 80] from the second):

======  =====  =========  ====  =====  ====  ================  ====================
account model  household  cash  A      B     value (dollars)   largest drift (pts)
======  =====  =========  ====  =====  ====  ================  ====================
ACC01   M1     H1            0  12     10    1000              0: balanced; cash low day 2
ACC02   M1     H1            0   0     25    1000              60 (B 100% for 40%)
ACC03   M1     H1, qual.     0  20     0     1000              40; switch off on day 2
ACC04   M2     H2            0  20      0    1000              80 day 1, 75 day 2
ACC05   M2     H2          800   4     20    1800              B 44.44%: 35.555556, 30.555556
ACC06   M2     H2, qual.   800   4     20    1800              as ACC05
ACC07   M1     H3            0   0     50    2000              60
ACC08   M1     H3, off       0   0     50    2000              switch off: not evaluated
ACC09   M1     -             0  24 / 0 0 / 30  1200            40 day 1, 60 day 2
ACC10   M2     -             0   0     25    1000              20 day 1, 25 day 2
ACC11   M1     -             0   0     25    1000              60
======  =====  =========  ====  =====  ====  ================  ====================

Day 1 is the book of 19 November 2026, evaluated on the 20th; day 2 the book of the 20th,
evaluated on the 23rd. The second firm, beta, holds an ACC04 of its own worth $1,000,000
on its own model MB and household HB (and an M1 of other targets): none of it may show in
acme's lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from tests.factories import T0, database_fixture, seed_firm, write_book
from trimtab.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from trimtab.service.access import add_user
from trimtab.service.accounts import SwitchChange, switch_history
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.listing import (
    Page,
    accounts_page,
    audit_page,
    evaluation_detail,
    evaluations_page,
    household_accounts,
    households_page,
    model_detail,
    models_page,
    order_dates,
    orders_page,
    queue_account_ids,
    queue_count,
    queue_page,
    requests_page,
)
from trimtab.service.orders import export_orders
from trimtab.service.requests import (
    approve_request,
    cancel_request,
    list_queue,
    list_requests,
    submit_request,
)
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
T = TypeVar("T")

D1, D2 = date(2026, 11, 19), date(2026, 11, 20)
E1, E2 = date(2026, 11, 20), date(2026, 11, 23)
MONDAY = T0 + timedelta(days=3)  # 23 November, 08:00 in Chicago
TUESDAY = T0 + timedelta(days=4)

PRICES = [
    {"symbol": "A", "price": 50.0, "sub_asset_class": "Large Value", "asset_class": "Equity"},
    {"symbol": "B", "price": 40.0, "sub_asset_class": "Core Bond", "asset_class": "Fixed Income"},
]


def _model(model_id: str, a: int, b: int) -> list[dict[str, Any]]:
    return [
        {"model_id": model_id, "symbol": "A", "target_pct": a, "min_pct": a - 5, "max_pct": a + 5},
        {"model_id": model_id, "symbol": "B", "target_pct": b, "min_pct": b - 5, "max_pct": b + 5},
    ]


# account, model, household, registration, switch, cash, A shares, B shares (day 1)
ACME = [
    ("ACC01", "M1", "H1", "non_qualified", True, 0, 12, 10),
    ("ACC02", "M1", "H1", "non_qualified", True, 0, 0, 25),
    ("ACC03", "M1", "H1", "qualified", True, 0, 20, 0),
    ("ACC04", "M2", "H2", "non_qualified", True, 0, 20, 0),
    ("ACC05", "M2", "H2", "non_qualified", True, 800, 4, 20),
    ("ACC06", "M2", "H2", "qualified", True, 800, 4, 20),
    ("ACC07", "M1", "H3", "non_qualified", True, 0, 0, 50),
    ("ACC08", "M1", "H3", "qualified", False, 0, 0, 50),
    ("ACC09", "M1", "", "non_qualified", True, 0, 24, 0),
    ("ACC10", "M2", "", "non_qualified", True, 0, 0, 25),
    ("ACC11", "M1", "", "non_qualified", True, 0, 0, 25),
]
DAY2 = {
    "ACC03": ("ACC03", "M1", "H1", "qualified", False, 0, 20, 0),
    "ACC09": ("ACC09", "M1", "", "non_qualified", True, 0, 0, 30),
}
BETA = [
    ("ACC04", "M1", "HB", "non_qualified", True, 0, 0, 25_000),
    ("BETA1", "MB", "HB", "non_qualified", True, 0, 0, 25),
]


def _book(folder: Path, accounts: list[Any], models: list[dict[str, Any]]) -> Path:
    return write_book(
        folder,
        prices=PRICES,
        models=models,
        accounts=[
            {
                "account_id": a,
                "model_id": m,
                "cash": c,
                "household_id": h,
                "registration": r,
                "rebalancing": "true" if on else "false",
            }
            for a, m, h, r, on, c, _qa, _qb in accounts
        ],
        positions=[
            {"account_id": a, "symbol": s, "quantity": q}
            for a, _m, _h, _r, _on, _c, qa, qb in accounts
            for s, q in (("A", qa), ("B", qb))
            if q
        ],
    )


def _load(engine: sa.Engine, firm: str, folder: Path, as_of: date, day: date) -> None:
    with UnitOfWork(engine, firm) as uow:
        import_book(uow, actor="olga", as_of=as_of, folder=read_book_folder(folder), now=T0)
    with UnitOfWork(engine, firm) as uow:
        evaluate(uow, actor="olga", day=day, now=T0)


def world(engine: sa.Engine, tmp_path: Path) -> None:
    """Both firms, acme's two evaluated days, beta's one, a viewer vera in acme."""
    for firm in ("acme", "beta"):
        seed_firm(engine, firm)
    with UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="vera", role="viewer", now=T0)
    _load(
        engine,
        "acme",
        _book(tmp_path / "a1", ACME, _model("M1", 60, 40) + _model("M2", 20, 80)),
        D1,
        E1,
    )
    beta = _book(tmp_path / "b1", BETA, _model("M1", 90, 10) + _model("MB", 50, 50))
    _load(engine, "beta", beta, D1, E1)
    day2 = [DAY2.get(row[0], row) for row in ACME]
    _load(
        engine,
        "acme",
        _book(tmp_path / "a2", day2, _model("M1", 60, 40) + _model("M2", 25, 75)),
        D2,
        E2,
    )


def _submit(engine: sa.Engine, firm: str, accounts: list[str], now: Any = MONDAY) -> int:
    with UnitOfWork(engine, firm) as uow:
        return submit_request(
            uow, actor="olga", account_ids=accounts, logic="rebalance_to_target", now=now
        ).request_id


def _approve(engine: sa.Engine, firm: str, request_id: int, now: Any = MONDAY) -> None:
    with UnitOfWork(engine, firm) as uow:
        approve_request(uow, actor="amy", request_id=request_id, now=now)


def walk(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a list, page after page, checking each page but the last is full."""
    items: list[T] = []
    token: str | None = None
    sizes = []
    while True:
        page = fetch(token)
        items.extend(page.items)
        sizes.append(len(page.items))
        token = page.next_page_token
        if token is None:
            break
    assert all(size == sizes[0] for size in sizes[:-1]) and sizes[-1] <= sizes[0]
    return items


# ---------------------------------------------------------------------------- the queue

QUEUE_BY = {
    "account": ["ACC01", "ACC03", "ACC04", "ACC05", "ACC06", "ACC07", "ACC09", "ACC10", "ACC11"],
    # drift 75, 60, 60, 60, 40 (day 1), 30.56, 30.56, 25, 0: ties by account id
    "drift": ["ACC04", "ACC07", "ACC09", "ACC11", "ACC03", "ACC05", "ACC06", "ACC10", "ACC01"],
    # value 2000, 1800, 1800, 1200, then 1000 five times
    "value": ["ACC07", "ACC05", "ACC06", "ACC09", "ACC01", "ACC03", "ACC04", "ACC10", "ACC11"],
    # ACC03, switched off, was not evaluated on day 2: its newest open entry is of the 20th
    "evaluated": ["ACC01", "ACC04", "ACC05", "ACC06", "ACC07", "ACC09", "ACC10", "ACC11", "ACC03"],
}


@pytest.fixture
def queued(engine: sa.Engine, tmp_path: Path) -> Iterator[int]:
    """The world with ACC02 pending in a request (its id)."""
    world(engine, tmp_path)
    yield _submit(engine, "acme", ["ACC02"])


def test_queue_pages_hold_every_account_once_in_each_sort(engine: sa.Engine, queued: int) -> None:
    with UnitOfWork(engine, "acme") as uow:
        for sort, expected in QUEUE_BY.items():
            for limit in (1, 3, 9, 50):
                items = walk(
                    lambda token, s=sort, n=limit: queue_page(
                        uow, actor="vera", sort=s, limit=n, page_token=token
                    )
                )
                assert [q.account_id for q in items] == expected, (sort, limit)
            assert [q.account_id for q in list_queue(uow, actor="vera", sort=sort)] == expected
        pending = walk(
            lambda token: queue_page(
                uow, actor="vera", sort="drift", pending=True, limit=2, page_token=token
            )
        )
    assert [(q.account_id, q.request_id) for q in pending[:3]] == [
        ("ACC04", None),
        ("ACC02", queued),
        ("ACC07", None),
    ]
    assert len(pending) == 10


def test_queue_items_carry_their_evaluation_and_account(engine: sa.Engine, queued: int) -> None:
    with UnitOfWork(engine, "acme") as uow:
        first = queue_page(uow, actor="vera", sort="value", limit=2)
    acc07, acc05 = first.items
    assert (acc07.account_id, acc07.as_of, acc07.value, acc07.max_drift_pct) == (
        "ACC07",
        E2,
        Decimal(2000),
        Decimal(60),
    )
    assert (acc07.household_id, acc07.model_id, acc07.request_id) == ("H3", "M1", None)
    # B is 800 of 1800 for a target of 75%: 75 - 44.444444 points; day 2's new M2 version
    assert acc05.max_drift_pct == Decimal("30.555556")
    assert acc05.reasons[:1] == ("target_changed",) and "cash_high" in acc05.reasons
    assert first.next_page_token is not None


def test_queue_filters_and_counts(engine: sa.Engine, queued: int) -> None:
    with UnitOfWork(engine, "acme") as uow:

        def ids(**where: Any) -> list[str]:
            return [q.account_id for q in queue_page(uow, actor="vera", **where).items]

        assert ids(household="H2") == ["ACC04", "ACC05", "ACC06"]
        assert ids(household="H1") == ["ACC01", "ACC03"]  # ACC02 is pending
        assert ids(household="H1", pending=True) == ["ACC01", "ACC02", "ACC03"]
        cash_low = ["ACC07", "ACC09", "ACC01", "ACC04", "ACC10", "ACC11"]  # by value
        assert ids(reason="cash_low", sort="value") == cash_low
        assert ids(model="M2", sort="drift") == ["ACC04", "ACC05", "ACC06", "ACC10"]
        assert ids(model="M2", household="H2", reason="cash_high") == ["ACC05", "ACC06"]
        assert ids(reason="cash") == []  # a whole reason, not a part of one
        assert ids(reason="cash_%") == []  # nor a pattern
        assert ids(household="HB") == ids(model="MB") == []  # beta's
        assert queue_count(uow, actor="vera") == 9
        assert queue_count(uow, actor="vera", pending=True) == 10
        assert queue_count(uow, actor="vera", model="M1") == 5
        assert queue_count(uow, actor="vera", reason="cash_high", household="H1") == 0
        assert queue_account_ids(uow, actor="vera", model="M1") == [
            "ACC01",
            "ACC03",
            "ACC07",
            "ACC09",
            "ACC11",
        ]
        assert queue_account_ids(uow, actor="vera") == QUEUE_BY["account"]


def test_queue_tokens_are_checked(engine: sa.Engine, queued: int) -> None:
    with UnitOfWork(engine, "acme") as uow:
        token = queue_page(uow, actor="vera", sort="drift", limit=2).next_page_token
        assert token is not None
        resumed = queue_page(uow, actor="vera", sort="drift", limit=2, page_token=token)
        assert [q.account_id for q in resumed.items] == ["ACC09", "ACC11"]
        altered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
        for bad, why in (
            ("not a token!", "malformed"),
            (altered, "altered"),
            (token[:-4], "altered"),
            ("", "not a page token"),
        ):
            with pytest.raises(InputError, match=f"page_token: {why}"):
                queue_page(uow, actor="vera", sort="drift", page_token=bad)
        for other in (
            {"sort": "value"},
            {"sort": "drift", "model": "M1"},
            {"sort": "drift", "pending": True},
        ):
            with pytest.raises(
                InputError, match="page_token: made for another list, sort or filter"
            ):
                queue_page(uow, actor="vera", page_token=token, **other)
        with pytest.raises(InputError, match="page_token: made for another"):
            accounts_page(uow, actor="vera", page_token=token)
        for limit in (0, 1001, -1):
            with pytest.raises(InputError, match="limit: must be a whole number from 1 to 1000"):
                queue_page(uow, actor="vera", limit=limit)
        with pytest.raises(InputError, match="sort: must be one of account, drift, value"):
            queue_page(uow, actor="vera", sort="size")
    with UnitOfWork(engine, "beta") as uow, pytest.raises(InputError, match="page_token: made for"):
        queue_page(uow, actor="olga", sort="drift", page_token=token)


def test_queue_refuses_strangers_and_a_partial_evaluation(engine: sa.Engine, queued: int) -> None:
    with UnitOfWork(engine, "acme") as uow, pytest.raises(NotFoundError, match="'mallory'"):
        queue_page(uow, actor="mallory")
    with engine.begin() as conn:  # the run of the 24th was interrupted: its lease lapsed
        conn.execute(
            sa.insert(t.evaluation_runs).values(
                firm_id="acme",
                as_of=date(2026, 11, 24),
                data_date=E2,
                status="running",
                started_at=TUESDAY,
                started_by="olga",
            )
        )
    for read in (
        lambda uow: queue_page(uow, actor="vera"),
        lambda uow: queue_count(uow, actor="vera"),
        lambda uow: queue_account_ids(uow, actor="vera"),
    ):
        with UnitOfWork(engine, "acme") as uow, pytest.raises(ConflictError, match="incomplete"):
            read(uow)
    with UnitOfWork(engine, "acme") as uow:
        run = evaluation_detail(uow, actor="vera", as_of=date(2026, 11, 24))
    assert (run.status, run.evaluated, run.flagged, run.finished_at) == ("interrupted", 0, 0, None)
    with UnitOfWork(engine, "beta") as uow:  # beta's queue is its own
        assert [q.account_id for q in queue_page(uow, actor="olga").items] == ["ACC04", "BETA1"]


# ----------------------------------------------------------------- accounts and households


def test_accounts_pages_values_and_filters(engine: sa.Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        every = walk(lambda token: accounts_page(uow, actor="vera", limit=4, page_token=token))

        def ids(**where: Any) -> list[str]:
            return [a.account_id for a in accounts_page(uow, actor="vera", **where).items]

        assert ids(household="H1") == ["ACC01", "ACC02", "ACC03"]
        assert ids(model="M2") == ["ACC04", "ACC05", "ACC06", "ACC10"]
        assert ids(rebalancing=False) == ["ACC03", "ACC08"]
        assert ids(rebalancing=True, model="M1", household="H3") == ["ACC07"]
        assert ids(search="ACC1") == ["ACC10", "ACC11"]
        assert ids(search="acc") == []  # ids are matched as written
        assert ids(search="BETA") == []
        token = accounts_page(uow, actor="vera", model="M2", limit=2).next_page_token
        with pytest.raises(InputError, match="page_token: made for another"):
            accounts_page(uow, actor="vera", model="M1", page_token=token)
    assert [a.account_id for a in every] == [row[0] for row in ACME]
    by_id = {a.account_id: a for a in every}
    values = {a.account_id: a.value for a in every}
    assert values == {
        "ACC01": 1000, "ACC02": 1000, "ACC03": 1000, "ACC04": 1000, "ACC05": 1800,
        "ACC06": 1800, "ACC07": 2000, "ACC08": 2000, "ACC09": 1200, "ACC10": 1000,
        "ACC11": 1000,
    }  # fmt: skip
    acc06 = by_id["ACC06"]
    assert (acc06.cash, acc06.book_date, acc06.household_id, acc06.model_id) == (
        Decimal(800),
        D2,
        "H2",
        "M2",
    )
    assert (acc06.registration, acc06.rebalancing, acc06.lot_method) == ("qualified", True, "fifo")
    assert (acc06.trade_hold, acc06.trade_hold_until, acc06.held_away) == (False, None, False)
    assert by_id["ACC08"].rebalancing is False
    assert by_id["ACC09"].household_id is None


def test_households_and_their_accounts(engine: sa.Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        every = walk(lambda token: households_page(uow, actor="vera", limit=2, page_token=token))
        h2 = household_accounts(uow, actor="vera", household_id="H2")
        for unknown in ("HB", "H9"):  # beta's household is not found either
            with pytest.raises(NotFoundError, match=f"household '{unknown}' does not exist"):
                household_accounts(uow, actor="vera", household_id=unknown)
    assert [(h.household_id, h.accounts, h.value) for h in every] == [
        ("H1", 3, Decimal(3000)),
        ("H2", 3, Decimal(4600)),
        ("H3", 2, Decimal(4000)),
    ]
    assert [(a.account_id, a.value, a.cash) for a in h2] == [
        ("ACC04", Decimal(1000), Decimal(0)),
        ("ACC05", Decimal(1800), Decimal(800)),
        ("ACC06", Decimal(1800), Decimal(800)),
    ]
    with UnitOfWork(engine, "beta") as uow:
        beta = households_page(uow, actor="olga").items
    assert [(h.household_id, h.accounts, h.value) for h in beta] == [("HB", 2, Decimal(1_001_000))]


# ---------------------------------------------------------------------------- models


def test_models_and_their_versions(engine: sa.Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        every = walk(lambda token: models_page(uow, actor="vera", limit=1, page_token=token))
        m2 = model_detail(uow, actor="vera", model_id="M2")
        m1 = model_detail(uow, actor="vera", model_id="M1")
        with pytest.raises(NotFoundError, match="model 'MB' does not exist"):
            model_detail(uow, actor="vera", model_id="MB")
    assert [(m.model_id, m.current_version, m.effective, m.accounts) for m in every] == [
        ("M1", 1, D1, 7),
        ("M2", 2, D2, 4),
    ]
    assert (m2.current_version, m2.accounts) == (2, 4)
    assert [(v.version, v.effective, v.cash_pct) for v in m2.versions] == [
        (1, D1, Decimal(0)),
        (2, D2, Decimal(0)),
    ]
    assert [(x.symbol, x.target_pct, x.min_pct, x.max_pct) for x in m2.versions[1].lines] == [
        ("A", Decimal(25), Decimal(20), Decimal(30)),
        ("B", Decimal(75), Decimal(70), Decimal(80)),
    ]
    assert [x.target_pct for x in m2.versions[0].lines] == [Decimal(20), Decimal(80)]
    assert [x.target_pct for x in m1.versions[0].lines] == [60, 40]  # not beta's 90 / 10


# -------------------------------------------------------------------------- evaluations


def test_evaluation_runs(engine: sa.Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        runs = walk(lambda token: evaluations_page(uow, actor="vera", limit=1, page_token=token))
        assert evaluation_detail(uow, actor="vera", as_of=E1) == runs[1]
        with pytest.raises(NotFoundError, match="no evaluation of 2026-11-21"):
            evaluation_detail(uow, actor="vera", as_of=date(2026, 11, 21))
    # ten accounts have the switch on, nine on day 2 (ACC03 off); day 1 flags all but the
    # balanced ACC01, day 2 all nine (ACC01 for cash low two evaluations in a row)
    assert [(r.as_of, r.data_date, r.status, r.evaluated, r.flagged, r.skipped) for r in runs] == [
        (E2, D2, "complete", 9, 9, 0),
        (E1, D1, "complete", 10, 9, 0),
    ]
    assert (runs[0].started_by, runs[0].started_at, runs[0].finished_at) == ("olga", T0, T0)
    with UnitOfWork(engine, "beta") as uow:
        assert [r.as_of for r in evaluations_page(uow, actor="olga").items] == [E1]
        with pytest.raises(NotFoundError):
            evaluation_detail(uow, actor="olga", as_of=E2)


# ---------------------------------------------------------------- requests and orders


@pytest.fixture
def traded(engine: sa.Engine, tmp_path: Path) -> Iterator[dict[str, int]]:
    """Beta's request first, then acme's: ACC04 approved Monday, ACC02 pending, ACC10
    canceled, ACC07 approved Tuesday; Monday's orders exported."""
    world(engine, tmp_path)
    _submit(engine, "beta", ["BETA1"])
    ids = {"ACC04": _submit(engine, "acme", ["ACC04"])}
    _approve(engine, "acme", ids["ACC04"])
    ids["ACC02"] = _submit(engine, "acme", ["ACC02"])
    ids["ACC10"] = _submit(engine, "acme", ["ACC10"])
    with UnitOfWork(engine, "acme") as uow:
        cancel_request(uow, actor="olga", request_id=ids["ACC10"], now=MONDAY)
    with UnitOfWork(engine, "acme") as uow:
        export_orders(uow, actor="olga", day=E2, fmt="csv", sink=lambda _: None, now=MONDAY)
    ids["ACC07"] = _submit(engine, "acme", ["ACC07"], TUESDAY)
    _approve(engine, "acme", ids["ACC07"], TUESDAY)
    yield ids


def test_requests_newest_first_with_their_sums(engine: sa.Engine, traded: dict[str, int]) -> None:
    with UnitOfWork(engine, "acme") as uow:
        every = walk(lambda token: requests_page(uow, actor="vera", limit=3, page_token=token))
        decided = requests_page(uow, actor="vera", status=["complete", "canceled"]).items
        pending = requests_page(uow, actor="vera", status=["pending"]).items
        assert list_requests(uow, actor="vera", limit=2) == every[:2]
        assert list_requests(uow, actor="vera", pending=False) == list(decided)
        with pytest.raises(InputError, match="status: must be one of proposing, pending"):
            requests_page(uow, actor="vera", status=["done"])
        with pytest.raises(InputError, match="status: name at least one"):
            requests_page(uow, actor="vera", status=[])
    order = [traded[a] for a in ("ACC07", "ACC10", "ACC02", "ACC04")]
    assert [r.request_id for r in every] == order  # beta's request 1 is not among them
    assert 1 not in order
    assert [r.status for r in every] == ["complete", "canceled", "pending", "complete"]
    assert [r.request_id for r in decided] == [traded["ACC07"], traded["ACC10"], traded["ACC04"]]
    assert [r.request_id for r in pending] == [traded["ACC02"]]
    acc04, acc07 = every[3], every[0]
    # ACC04 (M2 v2, $1000 in 20 A): A to $250 sells 15 A ($750), B to $750 buys 18 B ($720)
    assert (acc04.accounts, acc04.failed_accounts) == (1, 0)
    assert (acc04.sell_value, acc04.buy_value) == (Decimal("750.00"), Decimal("720.00"))
    # ACC07 (M1, $2000 in 50 B): A to $1200 buys 24 A, B to $800 sells 30 B
    assert (acc07.buy_value, acc07.sell_value) == (Decimal("1200.00"), Decimal("1200.00"))
    assert (acc07.submitted_by, acc07.decided_by, acc07.price_date) == ("olga", "amy", D2)
    assert (acc07.submitted_at, acc07.decided_at) == (TUESDAY, TUESDAY)


def test_orders_pages_and_dates(engine: sa.Engine, traded: dict[str, int]) -> None:
    with UnitOfWork(engine, "acme") as uow:
        every = walk(lambda token: orders_page(uow, actor="vera", limit=1, page_token=token))
        monday = orders_page(uow, actor="vera", trade_date=E2).items
        of_acc07 = orders_page(uow, actor="vera", request_id=traded["ACC07"]).items
        assert order_dates(uow, actor="vera") == (date(2026, 11, 24), E2)
        token = orders_page(uow, actor="vera", limit=1).next_page_token
        with pytest.raises(InputError, match="page_token: made for another"):
            orders_page(uow, actor="vera", trade_date=E2, page_token=token)
    tuesday, acc04 = traded["ACC07"], traded["ACC04"]
    assert [
        (o.client_order_id, o.account_id, o.symbol, o.side, o.quantity, o.price, o.value)
        for o in every
    ] == [
        (f"TT{tuesday}-0001", "ACC07", "A", "buy", 24, 50, Decimal("1200.00")),
        (f"TT{tuesday}-0002", "ACC07", "B", "sell", 30, 40, Decimal("1200.00")),
        (f"TT{acc04}-0001", "ACC04", "A", "sell", 15, 50, Decimal("750.00")),
        (f"TT{acc04}-0002", "ACC04", "B", "buy", 18, 40, Decimal("720.00")),
    ]
    assert [(o.trade_date, o.exported, o.exported_at) for o in every] == [
        (date(2026, 11, 24), False, None),
        (date(2026, 11, 24), False, None),
        (E2, True, MONDAY),
        (E2, True, MONDAY),
    ]
    assert [o.request_id for o in every] == [tuesday, tuesday, acc04, acc04]
    assert not any(o.best_effort for o in every)
    assert monday == tuple(every[2:])
    assert of_acc07 == tuple(every[:2])
    with UnitOfWork(engine, "beta") as uow:
        assert orders_page(uow, actor="olga").items == ()
        assert order_dates(uow, actor="olga") == ()


# ---------------------------------------------------------------- audit and switches


def test_the_audit_trail_is_for_admins(engine: sa.Engine, traded: dict[str, int]) -> None:
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(t.audit_log.c.audit_id, t.audit_log.c.action)
            .where(t.audit_log.c.firm_id == "acme")
            .order_by(t.audit_log.c.audit_id.desc())
        ).all()
    with UnitOfWork(engine, "acme") as uow:
        every = walk(lambda token: audit_page(uow, actor="alice", limit=7, page_token=token))
        submits = audit_page(uow, actor="alice", user="olga", action="submit").items
        approvals = audit_page(uow, actor="alice", entity="request", action="approve").items
        nothing = audit_page(uow, actor="alice", since=date(2026, 11, 25)).items
    assert [(e.audit_id, e.action) for e in every] == [tuple(r) for r in stored]
    assert len({e.audit_id for e in every}) == len(every) > 20
    assert [e.entity_id for e in submits] == [
        str(traded[a]) for a in ("ACC07", "ACC10", "ACC02", "ACC04")
    ]
    assert submits[0].after is not None and submits[0].after["accounts"] == ["ACC07"]
    assert submits[0].before is None and submits[0].at == TUESDAY
    assert [(e.actor, e.entity_id) for e in approvals] == [
        ("amy", str(traded["ACC07"])),
        ("amy", str(traded["ACC04"])),
    ]
    assert nothing == ()
    for user in ("olga", "vera", "amy"):
        with UnitOfWork(engine, "acme") as uow, pytest.raises(ForbiddenError, match="admin"):
            audit_page(uow, actor=user)


def test_switch_history_is_typed_and_firm_scoped(engine: sa.Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        assert switch_history(uow, actor="vera", account_id="ACC08") == (
            SwitchChange(effective=D1, rebalancing=False, changed_by="olga", changed_at=T0),
        )
        for unknown in ("BETA1", "NOPE"):
            with pytest.raises(NotFoundError, match=f"account '{unknown}' does not exist"):
                switch_history(uow, actor="vera", account_id=unknown)


def test_every_list_needs_a_user_of_the_firm(engine: sa.Engine, tmp_path: Path) -> None:
    world(engine, tmp_path)
    reads: list[Callable[[UnitOfWork, str], object]] = [
        lambda uow, who: queue_page(uow, actor=who),
        lambda uow, who: requests_page(uow, actor=who),
        lambda uow, who: accounts_page(uow, actor=who),
        lambda uow, who: households_page(uow, actor=who),
        lambda uow, who: household_accounts(uow, actor=who, household_id="H1"),
        lambda uow, who: models_page(uow, actor=who),
        lambda uow, who: model_detail(uow, actor=who, model_id="M1"),
        lambda uow, who: evaluations_page(uow, actor=who),
        lambda uow, who: evaluation_detail(uow, actor=who, as_of=E1),
        lambda uow, who: orders_page(uow, actor=who),
        lambda uow, who: order_dates(uow, actor=who),
    ]
    for read in reads:
        with UnitOfWork(engine, "acme") as uow:
            read(uow, "vera")  # a viewer reads them all
        with UnitOfWork(engine, "acme") as uow, pytest.raises(NotFoundError, match="'zed'"):
            read(uow, "zed")
