"""The web pages over HTTP: signed-out redirects, CSRF, roles, other firms, and each
screen's forms (errors beside their fields), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
import sqlalchemy as sa

from tests.factories import (
    T0,
    UnitOfWork,
    api_client,
    count,
    database_fixture,
    queued_book,
    sign_in,
    web_firm,
)
from trimtab.service.access import add_user
from trimtab.service.requests import submit_request
from trimtab.store import tables as t

engine = database_fixture()
LOTS = [  # ACC1 holds 12 A: an old cheap lot and a newer dear one (basis: lot totals)
    {
        "account_id": "ACC1",
        "symbol": "A",
        "quantity": 6,
        "cost_basis": 60.0,
        "acquired": "2020-01-02",
    },
    {
        "account_id": "ACC1",
        "symbol": "A",
        "quantity": 6,
        "cost_basis": 330.0,
        "acquired": "2025-01-02",
    },
]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def beside(page: str, field: str) -> str:
    """The error message shown beside ``field`` (its ``<field>-error`` element)."""
    found = re.search(rf'id="{re.escape(field)}-error">([^<]*)<', page)
    assert found, f"no error beside {field}"
    return found.group(1)


def submitted(engine: sa.Engine, accounts: list[str], actor: str = "olga", **kw: Any) -> int:
    with UnitOfWork(engine, "acme") as uow:
        return submit_request(
            uow,
            actor=actor,
            account_ids=accounts,
            logic=kw.pop("logic", "rebalance_to_target"),
            now=datetime.now(UTC),  # the pages decide at the clock's time: not expired yet
            **kw,
        ).request_id


@pytest.fixture
def book(engine: sa.Engine, tmp_path: Path) -> sa.Engine:
    web_firm(engine)
    queued_book(engine, tmp_path / "book")
    return engine


def test_signed_out_goes_to_signin(book: sa.Engine) -> None:
    client = api_client(book)
    for url, target in (
        ("/", "/signin?next=/"),
        ("/requests/1", "/signin?next=/requests/1"),
        ("/accounts/ACC1", "/signin?next=/accounts/ACC1"),
        ("/history?status=failed", "/signin?next=/history%3Fstatus%3Dfailed"),
    ):
        answer = client.get(url, follow_redirects=False)
        assert answer.status_code == 303, url
        assert answer.headers["location"] == target
    refused = client.post("/requests/1/approve", data={"csrf_token": "x"}, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/signin")


def test_csrf_refused(book: sa.Engine) -> None:
    request_id = submitted(book, ["ACC1"])
    client = sign_in(api_client(book), "amy")
    for token in ("", "not-the-token"):
        answer = client.post(f"/requests/{request_id}/approve", data={"csrf_token": token})
        assert answer.status_code == 401
        assert "the form has expired" in answer.text
    assert count(book, "orders") == 0
    toggled = client.post("/accounts/ACC1/rebalancing", data={"rebalancing": "off"})
    assert toggled.status_code == 401


def test_viewer_pressing_approve_is_403(book: sa.Engine) -> None:
    with UnitOfWork(book, "acme") as uow:
        add_user(uow, actor="alice", user_id="vera", role="viewer", now=T0)
    with book.begin() as conn:  # vera's password is everybody's
        known = conn.execute(
            sa.select(t.users.c.password_hash).where(t.users.c.user_id == "olga")
        ).scalar_one()
        conn.execute(
            sa.update(t.users).where(t.users.c.user_id == "vera").values(password_hash=known)
        )
    request_id = submitted(book, ["ACC1"])
    client = sign_in(api_client(book), "vera")
    page = client.get(f"/requests/{request_id}")
    assert page.status_code == 200
    assert ">Approve<" not in page.text  # not offered to a viewer...
    answer = client.post(f"/requests/{request_id}/approve", data={"csrf_token": csrf(page.text)})
    assert answer.status_code == 403  # ... and refused when pressed anyway
    assert "this needs the approver role" in answer.text
    assert count(book, "orders") == 0


def test_other_firms_objects_are_not_found(book: sa.Engine) -> None:
    request_id = submitted(book, ["ACC1"])
    web_firm(book, "other")
    client = sign_in(api_client(book), "amy", firm="other")
    missing = client.get(f"/requests/{request_id}")
    assert missing.status_code == 404
    assert "Not found" in missing.text and "Pending Approval" in missing.text  # with its menu
    assert client.get("/accounts/ACC1").status_code == 404
    assert client.get(f"/requests/{request_id}/record").status_code == 404
    assert client.get(f"/requests/{request_id}/record?replay=true").status_code == 404
    page = client.get("/accounts/ACC1/restrictions/new?type=exclusion")
    assert page.status_code == 404
    token = client.get("/api/v1/me/session").json()["csrf_token"]
    answer = client.post(f"/requests/{request_id}/approve", data={"csrf_token": token})
    assert answer.status_code == 404
    assert count(book, "orders") == 0


def test_view_details_lines_weights_and_chart(book: sa.Engine) -> None:
    request_id = submitted(book, ["ACC1", "ACC2"])
    client = sign_in(api_client(book), "amy")
    page = client.get(f"/requests/{request_id}").text
    assert "<h1>View Details: request 1</h1>" in page.replace(str(request_id), "1", 1)
    # ACC2: 20 B at $40 + $100 = $900; A to 60% buys 10 ($500, 55.56%); B sells 11 down
    # to 9 ($360, 40.00%) from 88.89%; worked out by hand.
    row = re.search(
        r"<th scope=\"row\">B</th>.*?</tr>", page.split("Trades of account ACC2")[1], re.S
    )
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    assert [c.strip() for c in cells[:7]] == [
        "Sell",
        "11",
        "$40.00",
        "$440.00",
        "88.89%",
        "40.00%",
        "40.00%",
    ]
    assert page.count('<svg class="weights"') == 2
    assert '<title id="chart-ACC1-title">Weights of account ACC1' in page
    assert ">Approve<" in page and ">Cancel<" in page


def test_approve_and_cancel_redirect_to_history(book: sa.Engine) -> None:
    first = submitted(book, ["ACC1"])
    client = sign_in(api_client(book), "amy")
    token = csrf(client.get(f"/requests/{first}").text)
    done = client.post(
        f"/requests/{first}/approve", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/history?flash=Request+")
    assert count(book, "orders") == 2
    again = client.post(f"/requests/{first}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "no longer pending" in again.text
    second = submitted(book, ["ACC2"])
    gone = client.post(
        f"/requests/{second}/cancel", data={"csrf_token": token}, follow_redirects=False
    )
    assert gone.status_code == 303 and "canceled" in gone.headers["location"]


def test_second_approver(engine: sa.Engine, tmp_path: Path) -> None:
    web_firm(engine)
    queued_book(engine, tmp_path / "book", price_a=500.0, lots=LOTS)
    request_id = submitted(engine, ["ACC1"], actor="amy")
    amy = sign_in(api_client(engine), "amy")
    page = amy.get(f"/requests/{request_id}").text
    assert "Second approver needed" in page
    refused = amy.post(f"/requests/{request_id}/approve", data={"csrf_token": csrf(page)})
    assert refused.status_code == 403
    assert "an approver other than &#39;amy&#39; must approve it" in refused.text
    assert 'role="alert"' in refused.text and count(engine, "orders") == 0
    bob = sign_in(api_client(engine), "bob")
    token = csrf(bob.get(f"/requests/{request_id}").text)
    done = bob.post(
        f"/requests/{request_id}/approve", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and count(engine, "orders") == 2  # sell A, buy B


def test_account_details_toggle_and_settings(book: sa.Engine) -> None:
    client = sign_in(api_client(book), "olga")
    page = client.get("/accounts/ACC1").text
    assert 'role="switch" aria-checked="true"' in page
    assert "Outside band" in page  # A at 30.00% against 60% [55, 65]
    assert 'name="sac_soft_pct" inputmode="decimal" value="5"' in page  # as typed, not 5.000…
    token = csrf(page)
    off = client.post(
        "/accounts/ACC1/rebalancing", data={"csrf_token": token, "rebalancing": "off"}
    )
    assert off.status_code == 200 and 'aria-checked="false"' in off.text
    assert "Rebalancing turned Off for ACC1." in off.text
    bad = client.post(
        "/accounts/ACC1/settings",
        data={"csrf_token": token, "lot_method": "fifo", "sweep_pct": "-1"},
    )
    assert bad.status_code == 422
    assert beside(bad.text, "sweep_pct") == "must be a number at least 0, got &#39;-1&#39;"
    held = client.post(
        "/accounts/ACC1/settings",
        data={"csrf_token": token, "lot_method": "fifo", "hold_until": "2026-12-01"},
    )
    assert held.status_code == 422
    assert beside(held.text, "hold_until") == "applies only with trade_hold on"
    ok = client.post(
        "/accounts/ACC1/settings",
        data={
            "csrf_token": token,
            "trade_hold": "on",
            "hold_until": "2026-12-01",
            "lot_method": "hifo",
            "cash_high_usd": "500",
        },
    )
    assert ok.status_code == 200 and "Settings of ACC1 saved." in ok.text
    with book.connect() as conn:
        row = conn.execute(sa.select(t.accounts).where(t.accounts.c.account_id == "ACC1")).one()
    assert (row.trade_hold, row.lot_method, row.cash_high_usd) == (True, "hifo", 500)


def test_restrictions_created_conflict_edited_deleted(book: sa.Engine) -> None:
    client = sign_in(api_client(book), "olga")
    token = csrf(client.get("/accounts/ACC1/restrictions/new?type=exclusion").text)
    exclusion = {
        "csrf_token": token,
        "type": "exclusion",
        "symbol": "A",
        "replacement": "hold_cash",
        "behaviour": "hold",
        "start_date": "2026-11-20",
    }
    made = client.post("/accounts/ACC1/restrictions", data=exclusion)
    assert made.status_code == 200 and "Exclusion R1 created." in made.text
    clash = client.post(
        "/accounts/ACC1/restrictions",
        data={**exclusion, "type": "substitution", "substitute": "B"},
    )
    assert clash.status_code == 409
    assert "delete the other restriction first" in beside(clash.text, "symbol")
    missing = client.post("/accounts/ACC1/restrictions", data={**exclusion, "start_date": ""})
    assert missing.status_code == 422
    assert beside(missing.text, "start_date") == "enter the start date"
    edit = "/accounts/ACC1/restrictions/R1/edit"
    assert "you can only update the end date" in client.get(edit).text
    early = client.post(
        edit,
        data={
            "csrf_token": token,
            "end_date": "2026-11-01",
            "end_action": "rebalance_immediately",
        },
    )
    assert early.status_code == 422
    assert beside(early.text, "end_date") == "must be after start_date 2026-11-20, got 2026-11-01"
    no_action = client.post(edit, data={"csrf_token": token, "end_date": "2027-01-15"})
    assert no_action.status_code == 422
    assert beside(no_action.text, "end_action").startswith("required with an end_date")
    saved = client.post(
        edit,
        data={
            "csrf_token": token,
            "end_date": "2027-01-15",
            "end_action": "wait_for_weight_change",
        },
    )
    assert saved.status_code == 200 and "2027-01-15" in saved.text
    group = client.post(
        "/accounts/ACC1/restrictions",
        data={
            "csrf_token": token,
            "type": "equivalents",
            "member_symbol": ["B", ""],
            "member_behaviour": ["do_not_sell", "none"],
        },
    )
    assert group.status_code == 200 and "Equivalent Securities R2 created." in group.text
    more = client.post(
        "/accounts/ACC1/restrictions",
        data={"csrf_token": token, "type": "equivalents", "member_symbol": ["B"], "more": "1"},
    )
    assert more.text.count('name="member_symbol"') == 2
    gone = client.post("/accounts/ACC1/restrictions/R1/delete", data={"csrf_token": token})
    assert gone.status_code == 200 and "Restriction R1 deleted." in gone.text
    assert count(book, "account_restrictions") == 1


def test_locks_added_and_removed(book: sa.Engine) -> None:
    client = sign_in(api_client(book), "olga")
    token = csrf(client.get("/accounts/ACC1").text)
    bad = client.post("/accounts/ACC1/locks", data={"csrf_token": token, "lock_type": "elective"})
    assert bad.status_code == 422
    assert beside(bad.text, "lock_symbol") == "a elective lock names a security"
    made = client.post(
        "/accounts/ACC1/locks",
        data={"csrf_token": token, "lock_type": "elective", "lock_symbol": "A"},
    )
    assert made.status_code == 200 and "Elective lock added." in made.text
    gone = client.post(
        "/accounts/ACC1/locks/delete",
        data={"csrf_token": token, "lock_type": "elective", "lock_symbol": "A"},
    )
    assert gone.status_code == 200 and count(book, "account_locks") == 0


def test_queue_lists_and_submits(book: sa.Engine) -> None:
    client = sign_in(api_client(book), "olga")
    page = client.get("/").text
    assert "<h1>Accounts to Rebalance</h1>" in page
    # ACC1: $2,000, A 30 points under target; ACC2: $900, A 60 points under.
    assert "$2,000.00" in page and "30.00%" in page and "60.00%" in page
    assert "Outside drift parameters" in page
    token = csrf(page)
    nothing = client.post("/", data={"csrf_token": token, "logic": "best_fit"})
    assert nothing.status_code == 422
    assert beside(nothing.text, "accounts") == "select at least one account"
    bad = client.post(
        "/",
        data={
            "csrf_token": token,
            "logic": "generate_cash",
            "account": "ACC1",
            "cash_to_generate": "lots",
        },
    )
    assert bad.status_code == 422
    assert beside(bad.text, "cash_to_generate") == "not a number: &#39;lots&#39;"
    assert 'value="ACC1" id="select-1" checked' in bad.text  # the choice is kept
    done = client.post(
        "/",
        data={"csrf_token": token, "logic": "best_fit", "account": ["ACC1"]},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/pending?flash=")
    pending = client.get(done.headers["location"]).text
    assert "submitted for 1 account (Best Fit): Pending Approval." in pending
    assert ">View Details<span" in pending
    taken = client.post("/", data={"csrf_token": token, "logic": "best_fit", "account": "ACC1"})
    assert taken.status_code == 409 and "is in open request" in taken.text


def test_select_all_that_match_submits_the_filter(book: sa.Engine) -> None:
    client = sign_in(api_client(book), "olga")
    # only ACC1 has cash above its sweep target plus $330 ($1,000 against $80 + $330)
    page = client.get("/?reason=cash_high").text
    assert "1 account matches the filter" in page
    done = client.post(
        "/",
        data={
            "csrf_token": csrf(page),
            "logic": "best_fit",
            "all_matching": "1",
            "reason": "cash_high",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    with book.connect() as conn:
        held = conn.execute(sa.select(t.open_accounts.c.account_id)).scalars().all()
    assert held == ["ACC1"]


def test_history_statuses_issue_and_resubmit(book: sa.Engine) -> None:
    from trimtab.service.requests import approve_request, cancel_request, expire_requests

    now = datetime.now(UTC)
    complete = submitted(book, ["ACC1"])
    with UnitOfWork(book, "acme") as uow:
        approve_request(uow, actor="amy", request_id=complete, now=now)
    canceled = submitted(book, ["ACC2"])
    with UnitOfWork(book, "acme") as uow:
        cancel_request(uow, actor="olga", request_id=canceled, now=now)
    with book.begin() as conn:
        conn.execute(
            sa.update(t.accounts).where(t.accounts.c.account_id == "ACC2").values(trade_hold=True)
        )
    failed = submitted(book, ["ACC2"])  # its only account is on hold: failed at once
    with book.begin() as conn:
        conn.execute(
            sa.update(t.accounts).where(t.accounts.c.account_id == "ACC2").values(trade_hold=False)
        )
    expired = submitted(book, ["ACC2"])
    with UnitOfWork(book, "acme") as uow:
        expire_requests(uow, actor="olga", now=now + timedelta(days=10))
    client = sign_in(api_client(book), "olga")
    page = client.get("/history").text
    for word in ("Complete", "Canceled", "Failed", "Expired"):
        assert f'class="status {word.lower()}">{word}</span>' in page
    assert "ACC2: The account is on trade hold: no trades are proposed." in page
    assert page.count(">Resubmit<span") == 1
    only = client.get("/history?status=failed").text
    assert f"Request {failed}<" in only and f"Request {complete}<" not in only
    again = client.post(
        f"/requests/{failed}/resubmit", data={"csrf_token": csrf(page)}, follow_redirects=False
    )
    assert again.status_code == 303
    assert f"of request {failed} was resubmitted as request {expired + 1}" in unquote_plus(
        again.headers["location"]
    )
    refused = client.post(f"/requests/{complete}/resubmit", data={"csrf_token": csrf(page)})
    assert refused.status_code == 409


def test_orders_listed_and_downloaded(book: sa.Engine) -> None:
    from trimtab.service.requests import approve_request

    request_id = submitted(book, ["ACC1", "ACC2"])
    with UnitOfWork(book, "acme") as uow:
        day = approve_request(
            uow, actor="amy", request_id=request_id, now=datetime.now(UTC)
        ).trade_date
    client = sign_in(api_client(book), "olga")
    page = client.get("/orders").text
    assert f"Orders trading {day}" in page and page.count(f"<td>{day}</td>") == 4
    token = csrf(page)
    csv_file = client.post(
        "/orders/download", data={"csrf_token": token, "date": str(day), "format": "csv"}
    )
    assert csv_file.status_code == 200
    assert csv_file.headers["content-disposition"].startswith('attachment; filename="orders-')
    lines = csv_file.text.splitlines()
    assert lines[0].startswith("client_order_id,trade_date,best_effort") and len(lines) == 5
    fix = client.post(
        "/orders/download", data={"csrf_token": token, "date": str(day), "format": "fix"}
    )
    assert fix.content.count(b"35=D\x01") == 4
    none_left = client.post(
        "/orders/download", data={"csrf_token": token, "date": str(day), "format": "csv"}
    )
    assert "Nothing to download" in none_left.text
    everything = client.post(
        "/orders/download",
        data={"csrf_token": token, "date": str(day), "format": "csv", "again": "1"},
    )
    assert len(everything.text.splitlines()) == 5


def test_view_details_household_weights(book: sa.Engine) -> None:
    request_id = submitted(book, ["ACC1"], logic="household_rebalance")
    client = sign_in(api_client(book), "amy")
    page = client.get(f"/requests/{request_id}").text
    assert "Household Rebalance" in page and "<h2>Household weights</h2>" in page
    # H1 = ACC1 and ACC2: $2,900; before A $600 (20.69%), B $1,200 (41.38%), cash $1,100
    table = page.split("<caption>Household H1</caption>")[1].split("</table>")[0]
    rows = re.findall(r'<th scope="row">(\w+)</th><td class="num">([^<]*)</td>', table)
    assert rows == [("A", "20.69%"), ("B", "41.38%"), ("Cash", "37.93%")]


def test_large_submission_proposed_on_the_worker(
    book: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from trimtab.web import create_app, worker

    monkeypatch.setattr(worker, "INLINE_ACCOUNTS", 1)  # two accounts: too many to do inline
    app = create_app(engine=book, background=True)
    client = sign_in(TestClient(app, base_url="http://localhost"), "olga")
    page = client.get("/").text
    done = client.post(
        "/",
        data={"csrf_token": csrf(page), "logic": "best_fit", "account": ["ACC1", "ACC2"]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    location = done.headers["location"]
    assert location.startswith("/requests/") and "proposing" in unquote_plus(location)
    app.state.proposer.shutdown()  # wait for the worker to finish
    details = client.get(location.split("?")[0]).text
    assert 'class="status pending">Pending Approval<' in details
    assert "Trades of account ACC2" in details


def test_accounts_list_and_search(book: sa.Engine) -> None:
    client = sign_in(api_client(book), "olga")
    page = client.get("/accounts").text
    assert page.count('<th scope="row"><a href="/accounts/') == 2
    assert "Non-qualified" in page and "Qualified" in page
    found = client.get("/accounts?search=ACC2", follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == "/accounts/ACC2"
    several = client.get("/accounts?search=ACC")
    assert several.status_code == 200 and several.text.count('<th scope="row"><a') == 2
    assert "No accounts match" in client.get("/accounts?search=ZZZ").text


def test_queue_filters_and_pages(book: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from trimtab.web.pages import queue

    client = sign_in(api_client(book), "olga")
    assert "2 accounts match the filter" in client.get("/?household=H1&model=M1").text
    assert "No account is waiting to be rebalanced for this filter" in (
        client.get("/?model=M9").text
    )
    monkeypatch.setattr(queue, "PAGE", 1)
    first = client.get("/?sort=drift").text  # ACC2 (60 points) before ACC1 (30)
    assert 'value="ACC2"' in first and 'value="ACC1"' not in first
    assert "showing 1 on this page" in first
    found = re.search(r'<a href="([^"]+)">Next page</a>', first)
    assert found is not None
    second = client.get(found.group(1).replace("&amp;", "&")).text
    assert 'value="ACC1"' in second and 'value="ACC2"' not in second
    assert ">First page</a>" in second and ">Next page</a>" not in second


def test_view_details_pages_its_accounts(book: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from trimtab.web.pages import pending

    request_id = submitted(book, ["ACC1", "ACC2"])
    client = sign_in(api_client(book), "amy")
    monkeypatch.setattr(pending, "DETAILS_PAGE", 1)
    first = client.get(f"/requests/{request_id}").text
    assert "2 accounts in this request, 1 on this page" in first
    assert "Trades of account ACC1" in first and "Trades of account ACC2" not in first
    found = re.search(r'<a href="([^"]+)">Next page</a>', first)
    assert found is not None
    second = client.get(found.group(1).replace("&amp;", "&")).text
    assert "Trades of account ACC2" in second and "Trades of account ACC1" not in second
    assert ">First page</a>" in second and ">Next page</a>" not in second
    assert ">Approve<" in second  # the request's buttons on every page
    bad = client.get(f"/requests/{request_id}?page_token=forged")
    assert bad.status_code == 422 and "page_token" in bad.text


def test_pages_are_not_in_the_openapi_document(engine: sa.Engine) -> None:
    paths = api_client(engine).get("/api/v1/openapi.json").json()["paths"]
    assert paths and all(path.startswith("/api/v1/") for path in paths)


def test_record_and_memorandum_page(book: sa.Engine) -> None:
    first = submitted(book, ["ACC1"])
    client = sign_in(api_client(book), "amy")
    details = client.get(f"/requests/{first}")
    assert f'href="/requests/{first}/record"' in details.text
    token = csrf(details.text)
    client.post(f"/requests/{first}/approve", data={"csrf_token": token})
    page = client.get(f"/requests/{first}/record")
    assert page.status_code == 200, page.text
    checks = re.findall(
        r'<th scope="row">([^<]+)</th><td class="[^"]+">(Holds|Fails)</td>', page.text
    )
    assert checks == [
        ("Record", "Holds"),
        ("Approval", "Holds"),
        ("Orders", "Holds"),
        ("Audit chain", "Holds"),
    ]
    assert page.text.count('<th scope="row">TT') == 2  # ACC1 buys A and B
    again = client.get(f"/requests/{first}/record?replay=true")
    assert "Identical: 1 accounts" in again.text
