"""Who may call: API keys, session cookies with CSRF, sign-in, problem details."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, api_client, count, database_fixture, web_firm
from trimtab.service.credentials import MAX_USER_FAILURES
from trimtab.web import create_app

engine = database_fixture()


def _signed_in(eng: sa.Engine, user: str = "olga") -> TestClient:
    client = api_client(eng)
    done = client.post(
        "/signin",
        data={"firm": "acme", "user": user, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    return client


def test_no_credentials_is_401_problem(engine: sa.Engine) -> None:
    web_firm(engine)
    client = api_client(engine)
    answer = client.get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == "Bearer"
    body = answer.json()
    assert body["status"] == 401 and body["title"] == "Not signed in"
    bad = api_client(engine, "ttk_0000000000000000_nope").get("/api/v1/me")
    assert bad.status_code == 401 and "unknown or revoked" in bad.json()["detail"]


def test_api_key_is_its_own_user_with_its_role(engine: sa.Engine) -> None:
    keys = web_firm(engine)
    me = api_client(engine, keys["operator"]).get("/api/v1/me")
    assert me.json() == {"firm_id": "acme", "user_id": "key:operator", "role": "operator"}
    refused = api_client(engine, keys["operator"]).get("/api/v1/api-keys")
    assert refused.status_code == 403
    assert "needs the admin role" in refused.json()["detail"]


def test_revoked_key_stops_at_once(engine: sa.Engine) -> None:
    keys = web_firm(engine)
    admin = api_client(engine, keys["admin"])
    key_id = keys["viewer"].split("_")[1]
    assert api_client(engine, keys["viewer"]).get("/api/v1/me").status_code == 200
    assert admin.delete(f"/api/v1/api-keys/{key_id}").status_code == 204
    assert api_client(engine, keys["viewer"]).get("/api/v1/me").status_code == 401
    assert admin.delete(f"/api/v1/api-keys/{key_id}").status_code == 404


def test_session_cookie_flags_and_csrf_on_changes(engine: sa.Engine) -> None:
    web_firm(engine)
    client = api_client(engine)
    done = client.post(
        "/signin",
        data={"firm": "acme", "user": "alice", "password": PASSWORD, "next": "/pending"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/pending"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/api/v1/me").json()["user_id"] == "alice"
    body = {"name": "robot", "role": "viewer"}
    refused = client.post("/api/v1/api-keys", json=body)
    assert refused.status_code == 401 and "X-CSRF-Token" in refused.json()["detail"]
    assert count(engine, "api_keys") == 4
    csrf = client.get("/api/v1/me/session").json()["csrf_token"]
    made = client.post("/api/v1/api-keys", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and made.json()["token"].startswith("ttk_")
    wrong = client.post("/api/v1/api-keys", json=body, headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status_code == 401


def test_secure_cookie_outside_localhost(engine: sa.Engine) -> None:
    web_firm(engine)
    client = TestClient(
        create_app(engine=engine, background=False), base_url="http://trimtab.example"
    )
    done = client.post(
        "/signin",
        data={"firm": "acme", "user": "alice", "password": PASSWORD},
        follow_redirects=False,
    )
    assert "Secure" in done.headers["set-cookie"]


def test_sign_in_page_refuses_and_rate_limits(engine: sa.Engine) -> None:
    web_firm(engine)
    client = api_client(engine)
    form = {"firm": "acme", "user": "bob", "password": "wrong password"}
    for _ in range(MAX_USER_FAILURES):
        page = client.post("/signin", data=form)
        assert page.status_code == 401
        assert "firm, user or password is wrong" in page.text
    locked = client.post("/signin", data={**form, "password": PASSWORD})
    assert locked.status_code == 429 and locked.headers["retry-after"] == "900"
    assert "too many failed sign-ins" in locked.text
    assert "trimtab_session" not in locked.headers.get("set-cookie", "")


def test_sign_in_goes_back_only_to_this_site(engine: sa.Engine) -> None:
    web_firm(engine)
    for asked, went in (("/history", "/history"), ("//evil.example/", "/"), ("https://x.y/", "/")):
        done = api_client(engine).post(
            "/signin",
            data={"firm": "acme", "user": "amy", "password": PASSWORD, "next": asked},
            follow_redirects=False,
        )
        assert done.headers["location"] == went


def test_sign_out_ends_the_session(engine: sa.Engine) -> None:
    web_firm(engine)
    client = _signed_in(engine)
    csrf = client.get("/api/v1/me/session").json()["csrf_token"]
    assert client.post("/signout", data={"csrf_token": "forged"}).status_code == 401
    out = client.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert count(engine, "web_sessions") == 0
    assert client.get("/api/v1/me").status_code == 401


def test_security_headers_and_openapi(engine: sa.Engine) -> None:
    web_firm(engine)
    answer = api_client(engine).get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    paths = answer.json()["paths"]
    assert "/api/v1/requests" in paths and "/signin" not in paths
    header = [p["name"] for p in paths["/api/v1/requests"]["post"]["parameters"]]
    assert "Idempotency-Key" in header
