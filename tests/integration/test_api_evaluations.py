"""The daily evaluation through HTTP: run it, list the runs, look at one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import count, database_fixture
from tests.integration.api_setup import API, D2, Api, errors, import_tiny_book, two_firms, walk

engine = database_fixture()
EVALUATIONS = f"{API}/evaluations"


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path)


def test_run_the_evaluation(api: Api) -> None:
    done = api.operator.post(EVALUATIONS, json={"as_of": D2.isoformat()})
    assert done.status_code == 201, done.text
    body = done.json()
    assert done.headers["location"] == f"{EVALUATIONS}/{D2.isoformat()}"
    # ACC1 holds A at 30% (band 55 to 65) and 1000 cash, above 80 + 330; ACC2 holds no A
    assert (body["as_of"], body["data_date"]) == ("2026-11-20", "2026-11-19")
    assert (body["evaluated"], body["flagged"], body["skipped"]) == (2, 2, [])
    assert body["by_reason"]["out_of_band"] == 2 and body["by_reason"]["cash_high"] == 1


def test_no_book_for_the_day_before_is_not_found(api: Api) -> None:
    got = api.operator.post(EVALUATIONS, json={"as_of": "2026-12-01"})
    assert got.status_code == 404 and "no book imported for 2026-11-30" in got.json()["detail"]
    assert api.other.post(EVALUATIONS, json={"as_of": D2.isoformat()}).status_code == 404


def test_the_evaluation_needs_an_operator(api: Api, engine: sa.Engine) -> None:
    assert api.viewer.post(EVALUATIONS, json={"as_of": D2.isoformat()}).status_code == 403
    assert count(engine, "evaluation_runs") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"as_of": "2041-01-02"}, "as_of"), ({"as_of": "soon"}, "as_of"), ({"day": "x"}, "day")],
)
def test_a_bad_day_names_its_field(api: Api, body: dict[str, object], field: str) -> None:
    refused = api.operator.post(EVALUATIONS, json=body)
    assert refused.status_code == 422 and ("body", field) in errors(refused)


def test_a_replayed_evaluation_runs_once(api: Api, engine: sa.Engine) -> None:
    key = {"Idempotency-Key": "evaluate-2026-11-20"}
    first = api.operator.post(EVALUATIONS, json={"as_of": D2.isoformat()}, headers=key)
    again = api.operator.post(EVALUATIONS, json={"as_of": D2.isoformat()}, headers=key)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    with engine.connect() as conn:
        actions = conn.execute(
            sa.text("SELECT action FROM audit_log WHERE entity = 'evaluation' ORDER BY audit_id")
        ).scalars()
        assert list(actions) == ["start", "complete"]
    other = api.operator.post(EVALUATIONS, json={}, headers=key)
    assert other.status_code == 422 and errors(other) == [("header", "Idempotency-Key")]


def test_list_and_look_at_evaluations(api: Api, engine: sa.Engine, tmp_path: Path) -> None:
    api.operator.post(EVALUATIONS, json={"as_of": D2.isoformat()})
    # a second day: Monday 23 November on the book of Friday 20th
    import_tiny_book(engine, tmp_path / "friday", as_of=D2)
    api.operator.post(EVALUATIONS, json={"as_of": "2026-11-23"})
    pages = walk(api.viewer, EVALUATIONS, 1)
    assert [[(x["as_of"], x["data_date"]) for x in p] for p in pages] == [
        [("2026-11-23", "2026-11-20")],
        [("2026-11-20", "2026-11-19")],
    ]
    got = api.viewer.get(f"{EVALUATIONS}/{D2.isoformat()}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body == pages[1][0]
    assert (body["status"], body["started_by"]) == ("complete", "key:operator")
    assert (body["evaluated"], body["flagged"], body["skipped"]) == (2, 2, 0)


def test_another_firms_evaluation_is_not_found(api: Api) -> None:
    api.operator.post(EVALUATIONS, json={"as_of": D2.isoformat()})
    assert api.other.get(f"{EVALUATIONS}/{D2.isoformat()}").status_code == 404
    assert api.other.get(EVALUATIONS).json()["items"] == []
    assert api.viewer.get(f"{EVALUATIONS}/2026-11-23").status_code == 404
    bad = api.viewer.get(f"{EVALUATIONS}/someday")
    assert bad.status_code == 422 and ("path", "as_of") in errors(bad)


ASYNC = {"Prefer": "respond-async"}


def test_respond_async_answers_once_the_run_is_claimed(api: Api) -> None:
    """``Prefer: respond-async``: 202 with the run and its Location (here the app runs it
    within the call: it is complete already); other preferences change nothing."""
    accepted = api.operator.post(EVALUATIONS, json={"as_of": D2.isoformat()}, headers=ASYNC)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["preference-applied"] == "respond-async"
    assert accepted.headers["location"] == f"{EVALUATIONS}/{D2.isoformat()}"
    run = accepted.json()
    assert (run["as_of"], run["data_date"], run["status"]) == (
        "2026-11-20",
        "2026-11-19",
        "complete",
    )
    assert (run["evaluated"], run["flagged"]) == (2, 2)
    waited = api.operator.post(
        EVALUATIONS, json={"as_of": D2.isoformat()}, headers={"Prefer": "wait=10, handling=strict"}
    )
    assert waited.status_code == 201 and "preference-applied" not in waited.headers
    refused = api.operator.post(EVALUATIONS, json={"as_of": "2026-12-01"}, headers=ASYNC)
    assert refused.status_code == 404  # checked before anything is claimed
    assert api.viewer.post(EVALUATIONS, json={}, headers=ASYNC).status_code == 403


def test_respond_async_runs_on_the_server_and_the_location_shows_it(
    api: Api, engine: sa.Engine
) -> None:
    """With the app's worker thread on, the run goes on after the answer; polling its
    Location shows it complete, with the results a synchronous run gives."""
    from fastapi.testclient import TestClient

    from trimtab.web import create_app

    app = create_app(engine=engine, background=True)
    with TestClient(app, base_url="http://localhost") as client:
        client.headers["Authorization"] = f"Bearer {api.keys['operator']}"
        accepted = client.post(EVALUATIONS, json={"as_of": D2.isoformat()}, headers=ASYNC)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["status"] in ("running", "complete")
        deadline = time.monotonic() + 60
        while True:
            run = client.get(accepted.headers["location"]).json()
            if run["status"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert (run["status"], run["evaluated"], run["flagged"], run["skipped"]) == (
        "complete",
        2,
        2,
        0,
    )
    with engine.connect() as conn:
        queued = conn.execute(
            sa.text("SELECT account_id FROM queue_entries WHERE firm_id = 'acme' ORDER BY 1")
        ).scalars()
        assert list(queued) == ["ACC1", "ACC2"]
