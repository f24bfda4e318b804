"""listing indexes and evaluation counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-19 07:00:00

The read services (:mod:`trimtab.service.listing`) find accounts by household and by model
(the queue's filters, a household's accounts, the accounts on a model): an index each.
An evaluation run keeps what it counted when it completed (accounts evaluated, flagged,
skipped for trade hold), so a list of runs need not count a hundred thousand evaluations
per run; runs completed before this migration are counted here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COUNTS = ("evaluated", "flagged", "skipped")


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_household", ["firm_id", "household_id"], unique=False)
        batch_op.create_index("ix_accounts_model", ["firm_id", "model_id"], unique=False)
    with op.batch_alter_table("evaluation_runs", schema=None) as batch_op:
        for name in COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
    op.execute(
        """
        UPDATE evaluation_runs SET
          evaluated = (SELECT count(*) FROM evaluations e
                       WHERE e.firm_id = evaluation_runs.firm_id
                         AND e.as_of = evaluation_runs.as_of),
          flagged = (SELECT count(*) FROM evaluations e
                     WHERE e.firm_id = evaluation_runs.firm_id
                       AND e.as_of = evaluation_runs.as_of AND e.reasons <> ''),
          skipped = (SELECT count(*) FROM evaluations e
                     WHERE e.firm_id = evaluation_runs.firm_id
                       AND e.as_of = evaluation_runs.as_of AND e.skipped = true)
        WHERE status = 'complete'
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("evaluation_runs", schema=None) as batch_op:
        for name in COUNTS:
            batch_op.drop_column(name)
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_model")
        batch_op.drop_index("ix_accounts_household")
