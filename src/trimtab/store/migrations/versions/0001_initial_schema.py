"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:38:38.328722

Every table of the store, and triggers that keep ``audit_log`` append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trimtab.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "firms",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", name=op.f("pk_firms")),
    )
    op.create_table(
        "accounts",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=True),
        sa.Column(
            "registration", sa.String(length=16), server_default="non_qualified", nullable=False
        ),
        sa.Column("rebalancing", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=True),
        sa.Column("lot_method", sa.String(length=16), server_default="fifo", nullable=False),
        sa.Column("trade_hold", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("trade_hold_until", sa.Date(), nullable=True),
        sa.Column(
            "sac_soft_pct",
            trimtab.store.types.Exact(precision=14, scale=8),
            server_default="5",
            nullable=False,
        ),
        sa.Column("sac_soft_days", sa.Integer(), server_default="182", nullable=False),
        sa.Column(
            "sac_hard_pct",
            trimtab.store.types.Exact(precision=14, scale=8),
            server_default="10",
            nullable=False,
        ),
        sa.Column(
            "cash_high_usd",
            trimtab.store.types.Exact(precision=20, scale=6),
            server_default="330",
            nullable=False,
        ),
        sa.Column(
            "cash_low_pct",
            trimtab.store.types.Exact(precision=14, scale=8),
            server_default="0.3",
            nullable=False,
        ),
        sa.Column(
            "sweep_pct",
            trimtab.store.types.Exact(precision=14, scale=8),
            server_default="0.7",
            nullable=False,
        ),
        sa.Column(
            "sweep_min_usd",
            trimtab.store.types.Exact(precision=20, scale=6),
            server_default="80",
            nullable=False,
        ),
        sa.Column("no_trade_days", sa.Integer(), server_default="550", nullable=False),
        sa.Column("first_seen", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "lot_method IN ('fifo', 'lifo', 'hifo')", name=op.f("ck_accounts_lot_method")
        ),
        sa.CheckConstraint(
            "registration IN ('qualified', 'non_qualified')", name=op.f("ck_accounts_registration")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_accounts_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "account_id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "audit_log",
        sa.Column("audit_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_audit_log_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_entity", ["firm_id", "entity", "entity_id"], unique=False
        )

    op.create_table(
        "cash_activity",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("activity_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", trimtab.store.types.Exact(precision=20, scale=6), nullable=False),
        sa.CheckConstraint(
            "kind IN ('deposit', 'withdrawal', 'dividend')", name=op.f("ck_cash_activity_kind")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_cash_activity_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "as_of", "row", name=op.f("pk_cash_activity")),
    )
    op.create_table(
        "evaluation_classes",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("sub_asset_class", sa.String(length=64), nullable=False),
        sa.Column("diff_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=False),
        sa.Column("soft_since", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_evaluation_classes_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "as_of", "account_id", "sub_asset_class", name=op.f("pk_evaluation_classes")
        ),
    )
    op.create_table(
        "evaluation_runs",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("data_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'complete')", name=op.f("ck_evaluation_runs_status")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_evaluation_runs_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "as_of", name=op.f("pk_evaluation_runs")),
    )
    op.create_table(
        "evaluations",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("data_date", sa.Date(), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("value", trimtab.store.types.Exact(precision=20, scale=6), nullable=False),
        sa.Column("cash", trimtab.store.types.Exact(precision=20, scale=6), nullable=False),
        sa.Column(
            "max_drift_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=False
        ),
        sa.Column("out_of_band", sa.Integer(), nullable=False),
        sa.Column("cash_low", sa.Boolean(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_evaluations_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "as_of", "account_id", name=op.f("pk_evaluations")),
    )
    op.create_table(
        "households",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_households_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "household_id", name=op.f("pk_households")),
    )
    op.create_table(
        "imports",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("imported_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("row_counts", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_imports_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "as_of", name=op.f("pk_imports")),
    )
    op.create_table(
        "locks",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_locks_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "as_of", "account_id", "symbol", "kind", name=op.f("pk_locks")
        ),
    )
    op.create_table(
        "lots",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quantity", trimtab.store.types.Exact(precision=24, scale=8), nullable=False),
        sa.Column("cost_basis", trimtab.store.types.Exact(precision=20, scale=6), nullable=True),
        sa.Column("acquired", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["firm_id"], ["firms.firm_id"], name=op.f("fk_lots_firm_id_firms")),
        sa.PrimaryKeyConstraint("firm_id", "as_of", "row", name=op.f("pk_lots")),
    )
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.create_index("ix_lots_account", ["firm_id", "as_of", "account_id"], unique=False)

    op.create_table(
        "models",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_models_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "model_id", name=op.f("pk_models")),
    )
    op.create_table(
        "positions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quantity", trimtab.store.types.Exact(precision=24, scale=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_positions_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "as_of", "account_id", "symbol", name=op.f("pk_positions")
        ),
    )
    op.create_table(
        "queue_entries",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'submitted')", name=op.f("ck_queue_entries_status")),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_queue_entries_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "account_id", "as_of", name=op.f("pk_queue_entries")),
    )
    op.create_table(
        "requests",
        sa.Column("request_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("logic", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("issue", sa.Text(), nullable=True),
        sa.Column("needs_second_approver", sa.Boolean(), nullable=False),
        sa.Column("price_date", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'complete', 'complete_with_errors', 'failed', 'expired', "
            "'canceled')",
            name=op.f("ck_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_requests_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_requests")),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_firm_status", ["firm_id", "status"], unique=False)

    op.create_table(
        "restrictions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("restriction_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_action", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_restrictions_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "as_of", "account_id", "restriction_id", name=op.f("pk_restrictions")
        ),
    )
    op.create_table(
        "securities",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("asset_class", sa.String(length=64), nullable=True),
        sa.Column("sub_asset_class", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_securities_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "symbol", name=op.f("pk_securities")),
    )
    op.create_table(
        "transactions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", trimtab.store.types.Exact(precision=24, scale=8), nullable=False),
        sa.Column("price", trimtab.store.types.Exact(precision=20, scale=8), nullable=False),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_transactions_side")),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_transactions_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "as_of", "row", name=op.f("pk_transactions")),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transactions_account", ["firm_id", "account_id", "trade_date"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('operator', 'approver', 'admin')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_users_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "user_id", name=op.f("pk_users")),
    )
    op.create_table(
        "account_days",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("cash", trimtab.store.types.Exact(precision=20, scale=6), nullable=False),
        sa.Column("rebalancing", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id", "account_id"],
            ["accounts.firm_id", "accounts.account_id"],
            name=op.f("fk_account_days_firm_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_account_days_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "as_of", "account_id", name=op.f("pk_account_days")),
    )
    op.create_table(
        "model_versions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("cash_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id", "model_id"],
            ["models.firm_id", "models.model_id"],
            name=op.f("fk_model_versions_firm_id_models"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_model_versions_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "model_id", "version", name=op.f("pk_model_versions")),
    )
    op.create_table(
        "orders",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", trimtab.store.types.Exact(precision=24, scale=8), nullable=False),
        sa.Column("price", trimtab.store.types.Exact(precision=20, scale=8), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("best_effort", sa.Boolean(), nullable=False),
        sa.Column("created_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_orders_side")),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_orders_firm_id_firms")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.request_id"], name=op.f("fk_orders_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("firm_id", "client_order_id", name=op.f("pk_orders")),
        sa.UniqueConstraint("request_id", "account_id", "symbol", name="uq_orders_line"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_trade_date", ["firm_id", "trade_date"], unique=False)

    op.create_table(
        "prices",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("price", trimtab.store.types.Exact(precision=20, scale=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id", "symbol"],
            ["securities.firm_id", "securities.symbol"],
            name=op.f("fk_prices_firm_id_securities"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_prices_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "as_of", "symbol", name=op.f("pk_prices")),
    )
    op.create_table(
        "proposal_lines",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=4), nullable=False),
        sa.Column("quantity", trimtab.store.types.Exact(precision=24, scale=8), nullable=False),
        sa.Column("price", trimtab.store.types.Exact(precision=20, scale=8), nullable=False),
        sa.Column("order_value", trimtab.store.types.Exact(precision=20, scale=6), nullable=False),
        sa.Column(
            "realised_gain", trimtab.store.types.Exact(precision=20, scale=6), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "action IN ('buy', 'sell', 'none')", name=op.f("ck_proposal_lines_action")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_proposal_lines_firm_id_firms")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.request_id"],
            name=op.f("fk_proposal_lines_request_id_requests"),
        ),
        sa.PrimaryKeyConstraint(
            "request_id", "account_id", "symbol", name=op.f("pk_proposal_lines")
        ),
    )
    op.create_table(
        "proposals",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", trimtab.store.types.Exact(precision=20, scale=6), nullable=False),
        sa.Column("cash_after", trimtab.store.types.Exact(precision=20, scale=6), nullable=False),
        sa.Column(
            "realised_gain", trimtab.store.types.Exact(precision=20, scale=6), nullable=False
        ),
        sa.Column("needs_second_approver", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_proposals_firm_id_firms")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.request_id"], name=op.f("fk_proposals_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("request_id", "account_id", name=op.f("pk_proposals")),
    )
    op.create_table(
        "rebalancing_changes",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("changed_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("rebalancing", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("import_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id", "account_id"],
            ["accounts.firm_id", "accounts.account_id"],
            name=op.f("fk_rebalancing_changes_firm_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_rebalancing_changes_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_rebalancing_changes")),
    )
    with op.batch_alter_table("rebalancing_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rebalancing_changes_account", ["firm_id", "account_id", "effective"], unique=False
        )

    op.create_table(
        "model_lines",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("target_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=False),
        sa.Column("min_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=False),
        sa.Column("max_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id", "model_id", "version"],
            ["model_versions.firm_id", "model_versions.model_id", "model_versions.version"],
            name=op.f("fk_model_lines_firm_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_model_lines_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "model_id", "version", "symbol", name=op.f("pk_model_lines")
        ),
    )
    op.create_table(
        "order_exports",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("exported_at", trimtab.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id", "client_order_id"],
            ["orders.firm_id", "orders.client_order_id"],
            name=op.f("fk_order_exports_firm_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_order_exports_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "client_order_id", "format", name=op.f("pk_order_exports")
        ),
    )
    _append_only_audit()


def _append_only_audit() -> None:
    """Refuse UPDATE and DELETE on ``audit_log`` in the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("order_exports")
    op.drop_table("model_lines")
    with op.batch_alter_table("rebalancing_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_rebalancing_changes_account")

    op.drop_table("rebalancing_changes")
    op.drop_table("proposals")
    op.drop_table("proposal_lines")
    op.drop_table("prices")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_trade_date")

    op.drop_table("orders")
    op.drop_table("model_versions")
    op.drop_table("account_days")
    op.drop_table("users")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_account")

    op.drop_table("transactions")
    op.drop_table("securities")
    op.drop_table("restrictions")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_firm_status")

    op.drop_table("requests")
    op.drop_table("queue_entries")
    op.drop_table("positions")
    op.drop_table("models")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_index("ix_lots_account")

    op.drop_table("lots")
    op.drop_table("locks")
    op.drop_table("imports")
    op.drop_table("households")
    op.drop_table("evaluations")
    op.drop_table("evaluation_runs")
    op.drop_table("evaluation_classes")
    op.drop_table("cash_activity")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")

    op.drop_table("audit_log")
    op.drop_table("accounts")
    op.drop_table("firms")
