"""queue entries without a per-row reference to their firm

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-21 09:00:00

The daily evaluation writes a queue entry for every account it flags, a million at a time.
PostgreSQL checked each entry's firm with a trigger per row, which cost twice the rest of
the write (16 of 23 seconds for 927,000 entries). ``queue_entries`` becomes a bulk table, as
``evaluations`` became in 0013: its only writer, the evaluation, writes entries of its own
firm only. The partial unique index is made again around SQLite's copy of the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_OPEN = sa.text("status = 'open'")


def _without_open_index(change: str) -> None:
    """Run ``change`` on the table with ``ux_queue_entries_open`` dropped, then make it
    again (SQLite's batch mode copies the table and would not keep its ``WHERE``)."""
    op.drop_index("ux_queue_entries_open", table_name="queue_entries")
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        if change == "drop":
            batch_op.drop_constraint("fk_queue_entries_firm_id_firms", type_="foreignkey")
        else:
            batch_op.create_foreign_key(
                "fk_queue_entries_firm_id_firms", "firms", ["firm_id"], ["firm_id"]
            )
    op.create_index(
        "ux_queue_entries_open",
        "queue_entries",
        ["firm_id", "account_id"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def upgrade() -> None:
    _without_open_index("drop")


def downgrade() -> None:
    _without_open_index("create")
