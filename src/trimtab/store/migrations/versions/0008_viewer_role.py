"""the viewer role

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 07:40:00

Users may be viewers: they read the queue, requests, accounts and their rules, and change
nothing. Roles rank viewer < operator < approver < admin.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_users_role"), "role IN ('viewer', 'operator', 'approver', 'admin')"
        )


def downgrade() -> None:
    viewers = op.get_bind().execute(sa.text("SELECT count(*) FROM users WHERE role = 'viewer'"))
    if viewers.scalar():
        raise RuntimeError("users have the viewer role: give them another role first")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_users_role"), "role IN ('operator', 'approver', 'admin')"
        )
