"""The web app in a real browser: Chromium (the distribution's) driven by Playwright,
against the app served by Uvicorn on a free loopback port.

Elements are found by role and accessible name, the seed's words: the flow of the
Rebalancer (queue, Submit Request, Pending Approval, View Details, Approve, History), a
second approver, editing a restriction's end date, a form error beside its field, and the
keyboard. Every screen is saved as a full-page screenshot under ``$TRIMTAB_ARTIFACTS/
screenshots`` (default: a folder of the test run's temporary directory).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, database_fixture, queued_book, web_firm
from trimtab.web import create_app
from trimtab.web.local import serving

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs the distribution's Chromium at /usr/bin/chromium"
)
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

engine = database_fixture()
LOTS = [  # ACC1's 12 A: an old cheap lot (basis $10 a share) and a newer dear one
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = os.environ.get("TRIMTAB_ARTIFACTS")
    folder = (Path(root) if root else tmp_path_factory.mktemp("artifacts")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def serve(engine: sa.Engine) -> Any:
    return serving(create_app(engine=engine, background=False))


@pytest.fixture
def site(engine: sa.Engine, tmp_path: Path) -> Iterator[str]:
    """The app on a firm whose two accounts wait in the queue; yields its base URL."""
    web_firm(engine)
    queued_book(engine, tmp_path / "book")
    with serve(engine) as base:
        yield base


def sign_in(browser: Any, base: str, user: str, shot: Path | None = None) -> Any:
    """A page of a new browser context, signed in as ``user`` through the form."""
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(f"{base}/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Firm").fill("acme")
    page.get_by_label("User").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    if shot is not None:
        page.screenshot(path=shot, full_page=True)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Accounts to Rebalance")).to_be_visible()
    return page


def test_queue_submit_view_details_approve_history(browser: Any, site: str, shots: Path) -> None:
    page = sign_in(browser, site, "amy", shots / "signin.png")
    queue = page.get_by_role("table")
    expect(queue.get_by_role("row")).to_have_count(3)  # the header and ACC1, ACC2
    expect(queue.get_by_role("rowheader", name="ACC1")).to_be_visible()
    page.get_by_role("checkbox", name="Select ACC1").check()
    logic = page.get_by_role("combobox", name="Trade Logic")
    expect(logic.locator("option").first).to_have_text("Best Fit")
    logic.select_option(label="Best Fit")
    page.screenshot(path=shots / "queue.png", full_page=True)
    page.get_by_role("button", name="Submit Request").click()

    expect(page.get_by_role("heading", name="Pending Approval")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("submitted for 1 account (Best Fit)")
    page.screenshot(path=shots / "pending.png", full_page=True)
    page.get_by_role("link", name="View Details").first.click()

    expect(page.get_by_role("heading", name=re.compile(r"^View Details"))).to_be_visible()
    trades = page.get_by_role("table", name="Trades of account ACC1")
    for header in ("Action", "Shares", "Price", "Dollars", "Weight before", "Target"):
        expect(trades.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Weights of account ACC1"))).to_be_visible()
    page.screenshot(path=shots / "view-details.png", full_page=True)
    page.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("heading", name="History")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile("Request")))
    expect(row.first.get_by_role("cell", name="Complete", exact=True)).to_be_visible()
    page.screenshot(path=shots / "history.png", full_page=True)

    page.get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    orders = page.get_by_role("table")
    expect(orders.get_by_role("columnheader", name="Best effort")).to_be_visible()
    expect(orders.get_by_role("row")).to_have_count(3)  # ACC1 buys A and B
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("client_order_id,trade_date,best_effort,")
    page.screenshot(path=shots / "orders.png", full_page=True)


def test_second_approver(browser: Any, engine: sa.Engine, tmp_path: Path, shots: Path) -> None:
    # A at $500: ACC1 = 12 x 500 + 400 + 1,000 = $7,400; A's target 60% = $4,440 of $6,000:
    # sell 3 shares. FIFO relieves the 2020 lot ($10 a share): a gain of 3 x 490 = $1,470,
    # at least $1,000 in a non-qualified account, so a second approver must approve.
    web_firm(engine)
    queued_book(engine, tmp_path / "book", price_a=500.0, lots=LOTS)
    with serve(engine) as base:
        amy = sign_in(browser, base, "amy")
        amy.get_by_role("checkbox", name="Select ACC1").check()
        amy.get_by_role("combobox", name="Trade Logic").select_option(label="Rebalance to Target")
        amy.get_by_role("button", name="Submit Request").click()
        expect(amy.get_by_role("cell", name="Second approver needed")).to_be_visible()
        amy.get_by_role("link", name="View Details").first.click()
        expect(amy.get_by_role("note")).to_contain_text("Second approver needed")
        amy.get_by_role("button", name="Approve").click()
        expect(amy.get_by_role("alert")).to_contain_text(
            "an approver other than 'amy' must approve it"
        )
        amy.screenshot(path=shots / "second-approver-refused.png", full_page=True)

        bob = sign_in(browser, base, "bob")
        bob.get_by_role("link", name="Pending Approval").click()
        bob.get_by_role("link", name="View Details").first.click()
        bob.get_by_role("button", name="Approve").click()
        expect(bob.get_by_role("heading", name="History")).to_be_visible()
        expect(bob.get_by_role("cell", name="Complete", exact=True).first).to_be_visible()
        expect(bob.get_by_role("status")).to_contain_text("2 orders")


def test_edit_restriction_end_date(browser: Any, site: str, shots: Path) -> None:
    page = sign_in(browser, site, "olga")
    page.get_by_role("link", name="ACC1").first.click()
    expect(page.get_by_role("heading", name="Account Details: ACC1")).to_be_visible()
    expect(page.get_by_role("switch", name="Rebalancing")).to_have_attribute("aria-checked", "true")

    page.get_by_role("link", name="+ Create New Restriction").click()
    page.get_by_role("link", name="Exclusion").click()
    page.get_by_role("textbox", name="Symbol").fill("A")
    page.get_by_role("radio", name="Reallocate to the rest of the portfolio").check()
    page.get_by_role("radio", name="Liquidate Existing Shares as Needed").check()
    page.get_by_label("Start date").fill("2026-11-20")
    page.screenshot(path=shots / "restrictions.png", full_page=True)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Exclusion R1 created.")

    page.get_by_role("link", name="Edit restriction R1").click()
    expect(page.get_by_role("heading", name="Edit restriction R1")).to_be_visible()
    page.get_by_label("End date").fill("2027-01-15")
    page.get_by_role(
        "radio", name="Reallocate to the excluded security when a model or I change its target"
    ).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Restriction R1 saved.")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="R1"))
    expect(row.get_by_role("cell", name="2027-01-15")).to_be_visible()
    expect(row).to_contain_text("when a model or I change its target weight")
    page.screenshot(path=shots / "account-details.png", full_page=True)


def test_form_error_beside_its_field(browser: Any, site: str, shots: Path) -> None:
    page = sign_in(browser, site, "olga")
    page.goto(f"{site}/accounts/ACC1/restrictions/new?type=substitution")
    page.get_by_role("textbox", name="Symbol to be replaced").fill("A")
    page.get_by_role("textbox", name="Substitute symbol").fill("B")
    page.get_by_label("Start date").fill("2026-11-20")
    page.get_by_label("End date").fill("2026-11-01")  # before the start: refused
    page.get_by_role("radio", name=re.compile("^Immediately rebalance")).check()
    page.get_by_role("button", name="Submit", exact=True).click()

    end = page.get_by_label("End date")
    expect(end).to_have_attribute("aria-invalid", "true")
    message = page.locator("#end_date-error")
    expect(message).to_have_text("must be after start_date 2026-11-20, got 2026-11-01")
    # beside the field: named by it, and right after it in the form
    assert end.get_attribute("aria-describedby") == "end_date-error"
    assert end.evaluate("e => e.nextElementSibling.id") == "end_date-error"
    expect(page.get_by_role("textbox", name="Symbol to be replaced")).to_have_value("A")
    page.screenshot(path=shots / "form-error.png", full_page=True)


def test_keyboard_reaches_submit_request(browser: Any, site: str) -> None:
    page = sign_in(browser, site, "olga")
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        if focused == "Submit Request":
            break
    else:
        pytest.fail("Tab never reached Submit Request")
    # Space ticks a box reached by Tab as well: select ACC2 by keyboard only
    box = page.get_by_role("checkbox", name="Select ACC2")
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_be_checked()


def test_script_selects_every_account_on_the_page(browser: Any, site: str) -> None:
    page = sign_in(browser, site, "olga")
    page.get_by_role("checkbox", name="Select every account on this page").check()
    expect(page.get_by_role("checkbox", name="Select ACC1")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Select ACC2")).to_be_checked()
