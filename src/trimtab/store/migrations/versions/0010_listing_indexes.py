"""placeholder; replaced at merge

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-19 07:00:00

Stands in for the listing indexes migration of another branch, so that 0011 has its parent.
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
