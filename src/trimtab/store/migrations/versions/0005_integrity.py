"""service integrity: open accounts, evaluation leases, export batches, chained audit

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 07:00:00

- ``open_accounts``: an account is in at most one pending request (its key), filled here
  from the pending requests' proposals that did not fail (the newest request wins).
- ``evaluation_runs.lease_owner`` / ``lease_until``: a running evaluation belongs to a live
  process only while its lease lasts.
- ``export_batches`` and ``order_exports.export_id``: every export is a batch that can be
  written again.
- ``audit_log.hash`` and ``audit_heads``: each firm's audit entries form a hash chain;
  PostgreSQL also refuses ``TRUNCATE audit_log``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trimtab.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_accounts",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_open_accounts_firm_id_firms")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.request_id"],
            name=op.f("fk_open_accounts_request_id_requests"),
        ),
        sa.PrimaryKeyConstraint("firm_id", "account_id", name=op.f("pk_open_accounts")),
    )
    op.create_index("ix_open_accounts_request", "open_accounts", ["request_id"])
    op.execute(
        "INSERT INTO open_accounts (firm_id, account_id, request_id) "
        "SELECT p.firm_id, p.account_id, MAX(p.request_id) FROM proposals p "
        "JOIN requests r ON r.request_id = p.request_id "
        "WHERE r.status = 'pending' AND p.status <> 'failed' "
        "GROUP BY p.firm_id, p.account_id"
    )
    with op.batch_alter_table("evaluation_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", trimtab.store.types.UtcDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "export_batches",
        sa.Column("export_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("exported_by", sa.String(length=64), nullable=False),
        sa.Column("exported_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('new', 'all', 'batch')", name=op.f("ck_export_batches_kind")),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_export_batches_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("export_id", name=op.f("pk_export_batches")),
    )
    with op.batch_alter_table("order_exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("export_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_order_exports_export_id_export_batches"),
            "export_batches",
            ["export_id"],
            ["export_id"],
        )
    # audit_log keeps its append-only triggers: a plain ADD COLUMN, never a table copy
    op.add_column("audit_log", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_heads",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_audit_heads_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", name=op.f("pk_audit_heads")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.drop_table("audit_heads")
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN rebuilds nothing on SQLite >= 3.35; the triggers stay
        op.execute("ALTER TABLE audit_log DROP COLUMN hash")
    else:
        op.drop_column("audit_log", "hash")
    with op.batch_alter_table("order_exports", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_order_exports_export_id_export_batches"), type_="foreignkey"
        )
        batch_op.drop_column("export_id")
    op.drop_table("export_batches")
    with op.batch_alter_table("evaluation_runs", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
    op.drop_index("ix_open_accounts_request", table_name="open_accounts")
    op.drop_table("open_accounts")
