"""request records: what each request's proposal was computed from

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 14:30:00

One document per proposed request (``request_records``): its inputs (prices, holdings and
lots, targets, rules, options, code version) and its proposal as computed, so that
``trimtab request replay`` can compute the proposal again and show that it is the same.
Requests proposed before this revision have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trimtab.store.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_records",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("code_version", sa.String(length=80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", trimtab.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_request_records_firm_id_firms")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.request_id"],
            name=op.f("fk_request_records_request_id_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_records")),
    )


def downgrade() -> None:
    op.drop_table("request_records")
