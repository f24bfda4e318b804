"""``among``: ``column IN values`` as one bound value, for lists longer than a statement's
parameters allow (65,535 on PostgreSQL), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from tests.factories import database_fixture, seed_firm
from trimtab.store import tables as t
from trimtab.store.among import among

engine = database_fixture()


def test_among_takes_lists_of_any_length(engine: sa.Engine) -> None:
    seed_firm(engine)  # users alice, amy, bob, olga
    u = t.users.c
    wanted = [f"user{i}" for i in range(70_000)] + ["amy", "olga"]
    with engine.connect() as conn:

        def users(where: sa.ColumnElement[bool]) -> list[str]:
            query = sa.select(u.user_id).where(u.firm_id == "acme", where).order_by(u.user_id)
            return list(conn.execute(query).scalars())

        assert users(among(u.user_id, wanted)) == ["amy", "olga"]
        assert users(~among(u.user_id, wanted)) == ["alice", "bob"]
        assert users(among(u.user_id, [])) == []
        # two in one statement, each its own value
        assert users(among(u.user_id, ["amy", "bob"]) & ~among(u.user_id, ["bob"])) == ["amy"]
        # integers
        a = sa.select(sa.literal(7).label("n")).subquery()
        found = conn.execute(sa.select(a.c.n).where(among(a.c.n, list(range(70_000))))).all()
        assert found == [(7,)]
