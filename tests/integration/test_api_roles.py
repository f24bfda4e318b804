"""Every route of the API says who may call it (``api_roles.ROLE``)."""

from __future__ import annotations

from tests.integration.api_roles import ROLE
from trimtab.store.tables import ROLES
from trimtab.web import create_app

METHODS = {"get", "post", "put", "patch", "delete"}


def routes() -> set[tuple[str, str]]:
    document = create_app(database_url="sqlite://").openapi()
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }


def test_every_route_has_a_role() -> None:
    missing = routes() - set(ROLE)
    assert not missing, f"routes without an entry in tests/integration/api_roles.py: {missing}"


def test_every_role_entry_is_a_route() -> None:
    stale = set(ROLE) - routes()
    assert not stale, f"entries of tests/integration/api_roles.py with no route: {stale}"
    assert set(ROLE.values()) <= set(ROLES)
