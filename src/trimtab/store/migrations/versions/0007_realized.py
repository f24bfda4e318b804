"""realized_gain, spelled as the file formats spell it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:30:00

``proposals.realised_gain`` and ``proposal_lines.realised_gain`` become ``realized_gain``:
one name for one idea, as the proposal format, the book's ``transactions`` table and
``propose-book``'s status files have it.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("proposals", "proposal_lines"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("realised_gain", new_column_name="realized_gain")


def downgrade() -> None:
    for table in ("proposals", "proposal_lines"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("realized_gain", new_column_name="realised_gain")
