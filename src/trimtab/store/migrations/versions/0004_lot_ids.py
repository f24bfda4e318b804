"""lot ids and minimum-tax relief

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:45:00

A lot's id from the book (``lots.lot_id``, as the book's ``lots`` table gives it), and the
minimum-tax lot relief method for accounts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lot_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accounts_lot_method"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_accounts_lot_method"),
            "lot_method IN ('fifo', 'lifo', 'hifo', 'minimum_tax')",
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accounts_lot_method"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_accounts_lot_method"), "lot_method IN ('fifo', 'lifo', 'hifo')"
        )
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_column("lot_id")
