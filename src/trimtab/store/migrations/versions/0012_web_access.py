"""web access: passwords, sessions, API keys, sign-in attempts, idempotency keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:30:00

What ``trimtab serve`` needs: a user's argon2 password hash, the web sessions (the sha256
of each cookie's token and its CSRF token), per-firm API keys (the sha256 of each secret),
the sign-in attempts that rate limiting counts, and the first response to each
``Idempotency-Key`` of a firm's API POSTs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trimtab.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _user(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.ForeignKeyConstraint(
            ["firm_id", "user_id"],
            ["users.firm_id", "users.user_id"],
            name=op.f(f"fk_{table}_firm_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f(f"fk_{table}_firm_id_firms")
        ),
    ]


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", trimtab.store.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", trimtab.store.types.UtcDateTime(), nullable=False),
        *_user("web_sessions"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", trimtab.store.types.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", trimtab.store.types.UtcDateTime(), nullable=True),
        *_user("api_keys"),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "signin_attempts",
        sa.Column("attempt_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", trimtab.store.types.UtcDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_signin_attempts")),
    )
    op.create_index(
        "ix_signin_attempts_user", "signin_attempts", ["firm_id", "user_id", "at"], unique=False
    )
    op.create_index("ix_signin_attempts_client", "signin_attempts", ["client", "at"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=400), nullable=True),
        sa.Column("created_at", trimtab.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_idempotency_keys_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "key", name=op.f("pk_idempotency_keys")),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("ix_signin_attempts_client", table_name="signin_attempts")
    op.drop_index("ix_signin_attempts_user", table_name="signin_attempts")
    op.drop_table("signin_attempts")
    op.drop_table("api_keys")
    op.drop_table("web_sessions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_hash")
