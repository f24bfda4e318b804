"""standing restrictions and locks, short-term windows, held-away accounts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 07:00:00

Restrictions and locks become an account's standing rules (``account_restrictions``,
``account_locks``), managed in the service and upserted by imports, in the book format of
``propose-book``: an equivalents group is one row per member. The dated ``restrictions``
and ``locks`` tables go; the newest date's rows are carried over (``kind`` becomes
``type``, end action ``wait_for_model_change`` becomes ``wait_for_weight_change``,
behaviour ``liquidate_now`` becomes ``liquidate_immediately``; a
``missing_cost_basis`` lock, which is what every lot without a basis has anyway, is not).
Securities get their short-term trading window, transactions their realised gain (a price
becomes optional), accounts the held-away flag, requests the household weights of a
household rebalance. The downgrade recreates the dated tables empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trimtab.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_restrictions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("restriction_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_action", sa.String(length=32), nullable=True),
        sa.Column("behaviour", sa.String(length=24), nullable=True),
        sa.Column("replacement", sa.String(length=16), nullable=True),
        sa.Column("substitute", sa.String(length=32), nullable=True),
        sa.Column(
            "weight_at_end_pct", trimtab.store.types.Exact(precision=14, scale=8), nullable=True
        ),
        sa.CheckConstraint(
            "type IN ('exclusion', 'substitution', 'equivalents')",
            name=op.f("ck_account_restrictions_type"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id", "account_id"],
            ["accounts.firm_id", "accounts.account_id"],
            name=op.f("fk_account_restrictions_firm_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_account_restrictions_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id",
            "account_id",
            "restriction_id",
            "symbol",
            name=op.f("pk_account_restrictions"),
        ),
    )
    op.create_table(
        "account_locks",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "type IN ('gain', 'elective', 'cost_basis_unlock')",
            name=op.f("ck_account_locks_type"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id", "account_id"],
            ["accounts.firm_id", "accounts.account_id"],
            name=op.f("fk_account_locks_firm_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_account_locks_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "account_id", "type", "symbol", name=op.f("pk_account_locks")
        ),
    )
    newest = "(SELECT max(o.as_of) FROM {t} o WHERE o.firm_id = r.firm_id)"
    op.execute(
        "INSERT INTO account_restrictions (firm_id, account_id, restriction_id, symbol, type,"
        " start_date, end_date, end_action, behaviour, replacement, substitute)"
        " SELECT r.firm_id, r.account_id, r.restriction_id, r.symbol, r.kind, r.start_date,"
        " r.end_date, CASE r.end_action WHEN 'wait_for_model_change'"
        " THEN 'wait_for_weight_change' ELSE r.end_action END,"
        " CASE r.behaviour WHEN 'liquidate_now' THEN 'liquidate_immediately'"
        " ELSE r.behaviour END, r.replacement, r.substitute FROM restrictions r"
        " WHERE r.as_of = " + newest.format(t="restrictions")
    )
    op.execute(
        "INSERT INTO account_locks (firm_id, account_id, type, symbol)"
        " SELECT r.firm_id, r.account_id, r.kind, r.symbol FROM locks r"
        " WHERE r.kind IN ('gain', 'elective') AND r.as_of = " + newest.format(t="locks")
    )
    op.drop_table("restrictions")
    op.drop_table("locks")
    with op.batch_alter_table("securities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("short_term_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held_away", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("households", sa.Text(), nullable=True))
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.alter_column(
            "price", existing_type=trimtab.store.types.Exact(precision=20, scale=8), nullable=True
        )
        batch_op.add_column(
            sa.Column(
                "realized_gain", trimtab.store.types.Exact(precision=20, scale=6), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_column("households")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("realized_gain")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("held_away")
    with op.batch_alter_table("securities", schema=None) as batch_op:
        batch_op.drop_column("short_term_days")
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
        sa.Column("behaviour", sa.String(length=24), server_default="hold", nullable=False),
        sa.Column("replacement", sa.String(length=16), server_default="hold_cash", nullable=False),
        sa.Column("substitute", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_restrictions_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "as_of", "account_id", "restriction_id", name=op.f("pk_restrictions")
        ),
    )
    op.drop_table("account_locks")
    op.drop_table("account_restrictions")
