"""account sleeves: model, APM and protected sleeves stored per account

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12 07:00:00

An account's sleeves (the book format's ``sleeves``, ``apm_targets`` and
``sleeve_positions``, docs/rules.md "Sleeves in a book") become standing per-account
tables, replaced for every account an import's book names. A proposal line says which
sleeve it trades (``sleeve``: empty for the model line, ``apm`` for an APM sleeve's line
of the same security), part of its key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trimtab.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _account(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.ForeignKeyConstraint(
            ["firm_id", "account_id"],
            ["accounts.firm_id", "accounts.account_id"],
            name=op.f(f"fk_{table}_firm_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f(f"fk_{table}_firm_id_firms")
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "account_sleeves",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sleeve", sa.String(length=8), nullable=False),
        sa.Column("weight_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=True),
        sa.Column("cash_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=True),
        sa.CheckConstraint("sleeve IN ('model', 'apm')", name=op.f("ck_account_sleeves_sleeve")),
        *_account("account_sleeves"),
        sa.PrimaryKeyConstraint("firm_id", "account_id", "line", name=op.f("pk_account_sleeves")),
    )
    op.create_table(
        "account_apm_targets",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("target_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=False),
        *_account("account_apm_targets"),
        sa.PrimaryKeyConstraint(
            "firm_id", "account_id", "symbol", name=op.f("pk_account_apm_targets")
        ),
    )
    op.create_table(
        "account_sleeve_positions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("sleeve", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("quantity", trimtab.store.types.Exact(precision=24, scale=8), nullable=False),
        sa.CheckConstraint(
            "sleeve IN ('apm', 'protected')", name=op.f("ck_account_sleeve_positions_sleeve")
        ),
        *_account("account_sleeve_positions"),
        sa.PrimaryKeyConstraint(
            "firm_id", "account_id", "sleeve", "symbol", name=op.f("pk_account_sleeve_positions")
        ),
    )
    with op.batch_alter_table("proposal_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sleeve", sa.String(length=8), server_default="", nullable=False)
        )
        batch_op.drop_constraint("pk_proposal_lines", type_="primary")
        batch_op.create_primary_key(
            "pk_proposal_lines", ["request_id", "account_id", "symbol", "sleeve"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM proposal_lines WHERE sleeve <> ''")
    with op.batch_alter_table("proposal_lines", schema=None) as batch_op:
        batch_op.drop_constraint("pk_proposal_lines", type_="primary")
        batch_op.create_primary_key("pk_proposal_lines", ["request_id", "account_id", "symbol"])
        batch_op.drop_column("sleeve")
    op.drop_table("account_sleeve_positions")
    op.drop_table("account_apm_targets")
    op.drop_table("account_sleeves")
