"""request options

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:45:00

The amounts a request's logic was asked for (cash to generate, MCCAR, cash to invest), as
JSON, so that resubmitting failed accounts asks for the same.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("options", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_column("options")
