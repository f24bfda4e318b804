"""A least-privilege PostgreSQL role for the service.

The schema's owner runs migrations (``trimtab db upgrade``); the service itself connects as
a role that may read and write rows but owns nothing: it cannot ``TRUNCATE``, alter or drop
a table, nor disable a trigger, and on ``audit_log`` it may only read and append.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def service_role_sql(role: str, schema: str = "public") -> list[str]:
    """The statements that create (when missing) and grant the service role ``role``.

    Idempotent: run them again after each migration so that new tables are covered.
    """
    for what, name in (("role", role), ("schema", schema)):
        if not _NAME.match(name):
            raise ValueError(f"{what} name must be lower-case letters, digits, _: {name!r}")
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
        f'THEN CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; END $$',
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'REVOKE CREATE ON SCHEMA "{schema}" FROM "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
        f'REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"',
        f'REVOKE UPDATE, DELETE ON "{schema}".audit_log FROM "{role}"',
        f'REVOKE INSERT, UPDATE, DELETE ON "{schema}".alembic_version FROM "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
    ]


def grant_service_role(engine: Engine, role: str, schema: str = "public") -> None:
    """Run :func:`service_role_sql` on ``engine`` (connected as the schema's owner)."""
    with engine.begin() as conn:
        for statement in service_role_sql(role, schema):
            conn.execute(text(statement))
