"""positions and lots as Parquet parts; bulk tables without per-row references

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-20 08:00:00

Each imported date's positions and lots move from one row each to Parquet parts of whole
households (``holding_parts``, documents in ``holding_blobs``; :mod:`trimtab.store.holdings`),
and ``account_days.part`` gives each account's part. ``account_days``, ``rebalancing_changes``,
``evaluations`` and ``evaluation_classes`` lose their per-row foreign keys: the import and
the evaluation that write them write only rows of accounts they checked. An account keeps
one open queue entry, its newest (``ux_queue_entries_open``). Existing data is carried
over, both ways.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from alembic import op

from trimtab.store import holdings
from trimtab.store.columns import MONEY, QUANTITY
from trimtab.store.types import Exact, UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


class _Scope(NamedTuple):
    conn: sa.Connection
    firm_id: str

    def commit(self) -> None:
        """Documents are staged in the migration's own transaction."""


_NOW = datetime.now(UTC)


def _old_tables(meta: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    positions = sa.Table(
        "positions",
        meta,
        sa.Column("firm_id", sa.String(64), primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("quantity", Exact(24, 8), nullable=False),
    )
    lots = sa.Table(
        "lots",
        meta,
        sa.Column("firm_id", sa.String(64), primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("row", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("quantity", Exact(24, 8), nullable=False),
        sa.Column("cost_basis", Exact(20, 6)),
        sa.Column("acquired", sa.Date),
        sa.Column("lot_id", sa.String(64)),
    )
    return positions, lots


def _days(conn: sa.Connection) -> list[tuple[str, date]]:
    return [  # SQLite gives a date as text to a plain query
        (r.firm_id, r.as_of if isinstance(r.as_of, date) else date.fromisoformat(r.as_of))
        for r in conn.execute(sa.text("SELECT DISTINCT firm_id, as_of FROM account_days"))
    ]


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "holding_blobs",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_holding_blobs_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint("firm_id", "sha256", name=op.f("pk_holding_blobs")),
    )
    if conn.dialect.name == "postgresql":  # documents are compressed already
        op.execute("ALTER TABLE holding_blobs ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "holding_parts",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('positions', 'lots')", name=op.f("ck_holding_parts_kind")),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_holding_parts_firm_id_firms")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id", "sha256"],
            ["holding_blobs.firm_id", "holding_blobs.sha256"],
            name=op.f("fk_holding_parts_firm_id_holding_blobs"),
        ),
        sa.PrimaryKeyConstraint("firm_id", "as_of", "kind", "part", name=op.f("pk_holding_parts")),
    )
    op.create_index("ix_holding_parts_blob", "holding_parts", ["firm_id", "sha256"])
    with op.batch_alter_table("account_days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("part", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_constraint("fk_account_days_firm_id_firms", type_="foreignkey")
        batch_op.drop_constraint("fk_account_days_firm_id_accounts", type_="foreignkey")
    for name in ("evaluations", "evaluation_classes", "rebalancing_changes"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{name}_firm_id_firms", type_="foreignkey")
            if name == "rebalancing_changes":
                batch_op.drop_constraint(f"fk_{name}_firm_id_accounts", type_="foreignkey")
    positions, lots = _old_tables(sa.MetaData())
    for firm, day in _days(conn):
        _carry_over(conn, firm, day, positions, lots)
    # one open queue entry per account, the newest
    op.execute(
        "DELETE FROM queue_entries WHERE status = 'open' AND EXISTS (SELECT 1 FROM "
        "queue_entries newer WHERE newer.firm_id = queue_entries.firm_id AND "
        "newer.account_id = queue_entries.account_id AND newer.status = 'open' "
        "AND newer.as_of > queue_entries.as_of)"
    )
    op.create_index(
        "ux_queue_entries_open",
        "queue_entries",
        ["firm_id", "account_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_table("positions")
    op.drop_index("ix_lots_account", table_name="lots")
    op.drop_table("lots")


def _carry_over(
    conn: sa.Connection, firm: str, day: date, positions: sa.Table, lots: sa.Table
) -> None:
    """One date's rows as parts, with each account's part in ``account_days``."""
    days = conn.execute(
        sa.text(
            "SELECT d.account_id, a.household_id FROM account_days d JOIN accounts a "
            "ON a.firm_id = d.firm_id AND a.account_id = d.account_id "
            "WHERE d.firm_id = :f AND d.as_of = :d ORDER BY d.account_id"
        ),
        {"f": firm, "d": day},
    ).all()
    pos = conn.execute(
        sa.select(positions.c.account_id, positions.c.symbol, positions.c.quantity).where(
            positions.c.firm_id == firm, positions.c.as_of == day
        )
    ).all()
    lot_rows = conn.execute(
        sa.select(lots).where(lots.c.firm_id == firm, lots.c.as_of == day).order_by(lots.c.row)
    ).all()
    ids = [r.account_id for r in days]
    code = {a: i for i, a in enumerate(ids)}
    counts = np.zeros(len(ids), dtype=np.int64)
    for r in pos:
        counts[code[r.account_id]] += 1
    part = holdings.assign_parts(
        pa.array(ids, pa.string()), pa.array([r.household_id for r in days], pa.string()), counts
    )
    scope = _Scope(conn, firm)
    table = pa.table(
        {
            "account_id": pa.array([r.account_id for r in pos], pa.string()),
            "symbol": pa.array([r.symbol for r in pos], pa.string()),
            "quantity": pa.array([r.quantity for r in pos], QUANTITY),
        }
    )
    holdings.write(
        scope,
        as_of=day,
        now=_NOW,
        kind="positions",
        table=table,
        part=part[[code[r.account_id] for r in pos]].astype(np.int32),
    )
    if lot_rows:
        table = pa.table(
            {
                "row": pa.array([r.row for r in lot_rows], pa.int64()),
                "account_id": pa.array([r.account_id for r in lot_rows], pa.string()),
                "symbol": pa.array([r.symbol for r in lot_rows], pa.string()),
                "quantity": pa.array([r.quantity for r in lot_rows], QUANTITY),
                "cost_basis": pa.array([r.cost_basis for r in lot_rows], MONEY),
                "acquired": pa.array([r.acquired for r in lot_rows], pa.date32()),
                "lot_id": pa.array([r.lot_id for r in lot_rows], pa.string()),
            }
        )
        holdings.write(
            scope,
            as_of=day,
            now=_NOW,
            kind="lots",
            table=table,
            part=part[[code[r.account_id] for r in lot_rows]].astype(np.int32),
        )
    for p in sorted(set(part.tolist()) - {0}):
        members = [a for a, q in zip(ids, part.tolist(), strict=True) if q == p]
        for start in range(0, len(members), 500):
            conn.execute(
                sa.text(
                    "UPDATE account_days SET part = :p WHERE firm_id = :f AND as_of = :d "
                    "AND account_id IN :a"
                ).bindparams(sa.bindparam("a", expanding=True)),
                {"p": p, "f": firm, "d": day, "a": members[start : start + 500]},
            )


def downgrade() -> None:
    conn = op.get_bind()
    op.drop_index("ux_queue_entries_open", table_name="queue_entries")
    op.create_table(
        "positions",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quantity", Exact(24, 8), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.firm_id"], name=op.f("fk_positions_firm_id_firms")
        ),
        sa.PrimaryKeyConstraint(
            "firm_id", "as_of", "account_id", "symbol", name=op.f("pk_positions")
        ),
    )
    op.create_table(
        "lots",
        sa.Column("firm_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quantity", Exact(24, 8), nullable=False),
        sa.Column("cost_basis", Exact(20, 6), nullable=True),
        sa.Column("acquired", sa.Date(), nullable=True),
        sa.Column("lot_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["firm_id"], ["firms.firm_id"], name=op.f("fk_lots_firm_id_firms")),
        sa.PrimaryKeyConstraint("firm_id", "as_of", "row", name=op.f("pk_lots")),
    )
    op.create_index("ix_lots_account", "lots", ["firm_id", "as_of", "account_id"])
    positions, lots = _old_tables(sa.MetaData())
    for firm, day in _days(conn):
        scope = _Scope(conn, firm)
        for kind, table in (("positions", positions), ("lots", lots)):
            rows = holdings.read(scope, as_of=day, kind=kind).to_pylist()
            if rows:
                conn.execute(sa.insert(table), [{"firm_id": firm, "as_of": day, **r} for r in rows])
    for name in ("evaluations", "evaluation_classes", "rebalancing_changes"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_foreign_key(
                f"fk_{name}_firm_id_firms", "firms", ["firm_id"], ["firm_id"]
            )
            if name == "rebalancing_changes":
                batch_op.create_foreign_key(
                    f"fk_{name}_firm_id_accounts",
                    "accounts",
                    ["firm_id", "account_id"],
                    ["firm_id", "account_id"],
                )
    with op.batch_alter_table("account_days", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_account_days_firm_id_firms", "firms", ["firm_id"], ["firm_id"]
        )
        batch_op.create_foreign_key(
            "fk_account_days_firm_id_accounts",
            "accounts",
            ["firm_id", "account_id"],
            ["firm_id", "account_id"],
        )
        batch_op.drop_column("part")
    op.drop_index("ix_holding_parts_blob", table_name="holding_parts")
    op.drop_table("holding_parts")
    op.drop_table("holding_blobs")
