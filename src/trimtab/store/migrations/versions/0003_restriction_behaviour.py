"""restriction behaviour

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:50:00

What an exclusion or substitution does with the shares and the target: behaviour (hold,
liquidate_now, liquidate_as_needed), replacement (hold_cash, reallocate) and the substitute.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("restrictions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("behaviour", sa.String(length=24), server_default="hold", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "replacement", sa.String(length=16), server_default="hold_cash", nullable=False
            )
        )
        batch_op.add_column(sa.Column("substitute", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("restrictions", schema=None) as batch_op:
        batch_op.drop_column("substitute")
        batch_op.drop_column("replacement")
        batch_op.drop_column("behaviour")
