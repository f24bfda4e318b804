"""requests are proposing before they are pending

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-19 08:00:00

A request is stored at once, ``proposing``, holding its accounts; its proposals are computed
afterwards by the process holding its lease (``lease_owner`` until ``lease_until``), and it
becomes ``pending`` (or ``failed``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trimtab.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BEFORE = "'pending', 'complete', 'complete_with_errors', 'failed', 'expired', 'canceled'"


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("lease_until", trimtab.store.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(op.f("ck_requests_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_requests_status"), f"status IN ('proposing', {_BEFORE})"
        )


def downgrade() -> None:
    proposing = op.get_bind().execute(
        sa.text("SELECT count(*) FROM requests WHERE status = 'proposing'")
    )
    if proposing.scalar():
        raise RuntimeError("requests are still proposing: let them finish (or cancel them) first")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_requests_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_requests_status"), f"status IN ({_BEFORE})")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
