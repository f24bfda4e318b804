"""The tables of the store (SQLAlchemy Core). Every row carries ``firm_id``.

Units: money in dollars, quantities in shares, percentages in percent points (``5`` is 5%),
prices in dollars per share. Dates are market dates; moments are UTC.
Tables with ``as_of`` in their key hold one snapshot per book date (or evaluation date);
``rebalancing_changes`` and ``audit_log`` are append-only histories; the rest is current state.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from trimtab.store.types import Exact, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

ROLES = ("viewer", "operator", "approver", "admin")
"""Roles, lowest first: each may do what the ones below it may."""
REQUEST_STATUSES = (
    "proposing",
    "pending",
    "complete",
    "complete_with_errors",
    "failed",
    "expired",
    "canceled",
)
"""A request is ``proposing`` from its submission until its proposals are stored, then
``pending`` approval (or ``failed``) until it is decided."""


def money() -> Exact:
    """Dollars, exact to 1e-6."""
    return Exact(20, 6)


def quantity() -> Exact:
    """Shares, exact to 1e-8."""
    return Exact(24, 8)


def price() -> Exact:
    """Dollars per share, exact to 1e-8."""
    return Exact(20, 8)


def percent() -> Exact:
    """Percent points, exact to 1e-8."""
    return Exact(14, 8)


def _firm() -> Column[str]:
    return Column("firm_id", String(64), ForeignKey("firms.firm_id"), primary_key=True)


def _bulk_firm() -> Column[str]:
    """The firm of a row of a bulk table, written a million rows at a time: its reference is
    checked once per write by the code that writes it (an import, an evaluation), not by a
    trigger per row."""
    return Column("firm_id", String(64), primary_key=True)


def _account_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["firm_id", "account_id"], ["accounts.firm_id", "accounts.account_id"]
    )


def _key(name: str, length: int = 64) -> Column[str]:
    return Column(name, String(length), primary_key=True)


firms = Table(
    "firms",
    metadata,
    Column("firm_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

users = Table(
    "users",
    metadata,
    _firm(),
    _key("user_id"),
    Column("role", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("password_hash", String(255)),
    CheckConstraint("role IN ('viewer', 'operator', 'approver', 'admin')", name="role"),
)
"""``password_hash`` (argon2, :mod:`trimtab.service.credentials`) lets the user sign in to
the web app; ``NULL``: command line only. An API key acts as a user of its own."""

households = Table("households", metadata, _firm(), _key("household_id"))

securities = Table(
    "securities",
    metadata,
    _firm(),
    _key("symbol", 32),
    Column("asset_class", String(64)),
    Column("sub_asset_class", String(64)),
    Column("short_term_days", Integer),
)

prices = Table(
    "prices",
    metadata,
    _firm(),
    Column("as_of", Date, primary_key=True),
    _key("symbol", 32),
    Column("price", price(), nullable=False),
    ForeignKeyConstraint(["firm_id", "symbol"], ["securities.firm_id", "securities.symbol"]),
)

models = Table(
    "models",
    metadata,
    _firm(),
    _key("model_id"),
    Column("current_version", Integer, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    _firm(),
    _key("model_id"),
    Column("version", Integer, primary_key=True),
    Column("effective", Date, nullable=False),
    Column("cash_pct", percent(), nullable=False),
    ForeignKeyConstraint(["firm_id", "model_id"], ["models.firm_id", "models.model_id"]),
)

model_lines = Table(
    "model_lines",
    metadata,
    _firm(),
    _key("model_id"),
    Column("version", Integer, primary_key=True),
    _key("symbol", 32),
    Column("line", Integer, nullable=False),
    Column("target_pct", percent(), nullable=False),
    Column("min_pct", percent(), nullable=False),
    Column("max_pct", percent(), nullable=False),
    ForeignKeyConstraint(
        ["firm_id", "model_id", "version"],
        ["model_versions.firm_id", "model_versions.model_id", "model_versions.version"],
    ),
)

accounts = Table(
    "accounts",
    metadata,
    _firm(),
    _key("account_id"),
    Column("household_id", String(64)),
    Column("registration", String(16), nullable=False, server_default="non_qualified"),
    Column("rebalancing", Boolean, nullable=False, server_default="1"),
    Column("model_id", String(64)),
    Column("lot_method", String(16), nullable=False, server_default="fifo"),
    Column("trade_hold", Boolean, nullable=False, server_default="0"),
    Column("trade_hold_until", Date),
    Column("sac_soft_pct", percent(), nullable=False, server_default="5"),
    Column("sac_soft_days", Integer, nullable=False, server_default="182"),
    Column("sac_hard_pct", percent(), nullable=False, server_default="10"),
    Column("cash_high_usd", money(), nullable=False, server_default="330"),
    Column("cash_low_pct", percent(), nullable=False, server_default="0.3"),
    Column("sweep_pct", percent(), nullable=False, server_default="0.7"),
    Column("sweep_min_usd", money(), nullable=False, server_default="80"),
    Column("no_trade_days", Integer, nullable=False, server_default="550"),
    Column("first_seen", Date, nullable=False),
    Column("held_away", Boolean, nullable=False, server_default="0"),
    CheckConstraint("registration IN ('qualified', 'non_qualified')", name="registration"),
    CheckConstraint("lot_method IN ('fifo', 'lifo', 'hifo', 'minimum_tax')", name="lot_method"),
    Index("ix_accounts_household", "firm_id", "household_id"),
    Index("ix_accounts_model", "firm_id", "model_id"),
)

account_days = Table(
    "account_days",
    metadata,
    _bulk_firm(),
    Column("as_of", Date, primary_key=True),
    _key("account_id"),
    Column("model_id", String(64)),
    Column("model_version", Integer),
    Column("cash", money(), nullable=False),
    Column("rebalancing", Boolean, nullable=False),
    Column("part", Integer, nullable=False, server_default="0"),
)
"""One row per account of each imported date; ``part`` is the part of the date's holdings
(:mod:`trimtab.store.holdings`) that holds the account's positions and lots."""

rebalancing_changes = Table(
    "rebalancing_changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("firm_id", String(64), nullable=False),  # a bulk table: see _bulk_firm
    Column("account_id", String(64), nullable=False),
    Column("effective", Date, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("rebalancing", Boolean, nullable=False),
    Column("changed_by", String(64), nullable=False),
    Column("import_date", Date),
    Index("ix_rebalancing_changes_account", "firm_id", "account_id", "effective"),
)

holding_blobs = Table(
    "holding_blobs",
    metadata,
    _firm(),
    Column("sha256", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("stored_at", UtcDateTime(), nullable=False),
)
"""Parquet documents of positions and lots, addressed by content (:mod:`.holdings`)."""

holding_parts = Table(
    "holding_parts",
    metadata,
    _firm(),
    Column("as_of", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    CheckConstraint("kind IN ('positions', 'lots')", name="kind"),
    ForeignKeyConstraint(["firm_id", "sha256"], ["holding_blobs.firm_id", "holding_blobs.sha256"]),
    Index("ix_holding_parts_blob", "firm_id", "sha256"),
)
"""The parts of each imported date's positions and lots, and the document of each."""

cash_activity = Table(
    "cash_activity",
    metadata,
    _firm(),
    Column("as_of", Date, primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("activity_date", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", money(), nullable=False),
    CheckConstraint("kind IN ('deposit', 'withdrawal', 'dividend')", name="kind"),
)

transactions = Table(
    "transactions",
    metadata,
    _firm(),
    Column("as_of", Date, primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("trade_date", Date, nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", quantity(), nullable=False),
    Column("price", price()),
    Column("realized_gain", money()),
    CheckConstraint("side IN ('buy', 'sell')", name="side"),
    Index("ix_transactions_account", "firm_id", "account_id", "trade_date"),
)

account_restrictions = Table(
    "account_restrictions",
    metadata,
    _firm(),
    _key("account_id"),
    _key("restriction_id"),
    _key("symbol", 32),
    Column("type", String(16), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("end_action", String(32)),
    Column("behaviour", String(24)),
    Column("replacement", String(16)),
    Column("substitute", String(32)),
    Column("weight_at_end_pct", percent()),
    _account_fk(),
    CheckConstraint("type IN ('exclusion', 'substitution', 'equivalents')", name="type"),
)
"""An account's trade restrictions, standing until removed (rows of the book format's
``restrictions`` table: an equivalents group is one row per member, sharing its
``restriction_id``)."""

account_locks = Table(
    "account_locks",
    metadata,
    _firm(),
    _key("account_id"),
    _key("type", 24),
    _key("symbol", 32),
    Column("until", Date),
    _account_fk(),
    CheckConstraint("type IN ('gain', 'elective', 'cost_basis_unlock')", name="type"),
)
"""An account's locks, standing until removed (the book format's ``locks``; ``symbol`` is
empty for a lock on the whole account). Trade holds are the account's own columns."""

account_sleeves = Table(
    "account_sleeves",
    metadata,
    _firm(),
    _key("account_id"),
    Column("line", Integer, primary_key=True),
    Column("sleeve", String(8), nullable=False),
    Column("weight_pct", percent(), nullable=False),
    Column("model_id", String(64)),
    Column("cash_pct", percent()),
    _account_fk(),
    CheckConstraint("sleeve IN ('model', 'apm')", name="sleeve"),
)
"""An account's model and APM sleeves (the book format's ``sleeves``, in the book's order:
``line`` from 1): an account with rows takes its target from them, not from a model."""

account_apm_targets = Table(
    "account_apm_targets",
    metadata,
    _firm(),
    _key("account_id"),
    _key("symbol", 32),
    Column("line", Integer, nullable=False),
    Column("target_pct", percent(), nullable=False),
    _account_fk(),
)
"""The targets of an account's APM sleeve, percent of the sleeve (``apm_targets``)."""

account_sleeve_positions = Table(
    "account_sleeve_positions",
    metadata,
    _firm(),
    _key("account_id"),
    _key("sleeve", 16),
    _key("symbol", 32),
    Column("line", Integer, nullable=False),
    Column("quantity", quantity(), nullable=False),
    _account_fk(),
    CheckConstraint("sleeve IN ('apm', 'protected')", name="sleeve"),
)
"""Shares of an account's position that belong to its APM or protected sleeve
(``sleeve_positions``). The three sleeve tables are standing: an import replaces the rows
of every account its book names."""

imports = Table(
    "imports",
    metadata,
    _firm(),
    Column("as_of", Date, primary_key=True),
    Column("imported_at", UtcDateTime(), nullable=False),
    Column("imported_by", String(64), nullable=False),
    Column("row_counts", Text, nullable=False),
)

evaluation_runs = Table(
    "evaluation_runs",
    metadata,
    _firm(),
    Column("as_of", Date, primary_key=True),
    Column("data_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("started_by", String(64), nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime()),
    Column("evaluated", Integer),
    Column("flagged", Integer),
    Column("skipped", Integer),
    CheckConstraint("status IN ('running', 'complete')", name="status"),
)
"""A ``running`` run belongs to the process holding its lease (``lease_owner`` until
``lease_until``, renewed as it goes); once the lease lapses the run is interrupted and the
next ``evaluate`` of that day takes it over. ``evaluated``, ``flagged`` and ``skipped``
(accounts skipped for trade hold) are counted when the run completes, ``NULL`` before."""

evaluations = Table(
    "evaluations",
    metadata,
    _bulk_firm(),
    Column("as_of", Date, primary_key=True),
    _key("account_id"),
    Column("data_date", Date, nullable=False),
    Column("model_id", String(64)),
    Column("model_version", Integer),
    Column("value", money(), nullable=False),
    Column("cash", money(), nullable=False),
    Column("max_drift_pct", percent(), nullable=False),
    Column("out_of_band", Integer, nullable=False),
    Column("cash_low", Boolean, nullable=False),
    Column("skipped", Boolean, nullable=False),
    Column("flagged", Boolean, nullable=False),
    Column("reasons", Text, nullable=False),
)

evaluation_classes = Table(
    "evaluation_classes",
    metadata,
    _bulk_firm(),
    Column("as_of", Date, primary_key=True),
    _key("account_id"),
    _key("sub_asset_class"),
    Column("diff_pct", percent(), nullable=False),
    Column("soft_since", Date, nullable=False),
)

queue_entries = Table(
    "queue_entries",
    metadata,
    _bulk_firm(),
    _key("account_id"),
    Column("as_of", Date, primary_key=True),
    Column("reasons", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("request_id", Integer),
    CheckConstraint("status IN ('open', 'submitted')", name="status"),
    Index(
        "ux_queue_entries_open",
        "firm_id",
        "account_id",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
)
"""An account has at most one ``open`` entry, its newest: an evaluation that flags it again
replaces the older one. Written a million rows at a time by the evaluation, of its own firm
only: no per-row reference to the firm (as ``evaluations``)."""

requests = Table(
    "requests",
    metadata,
    Column("request_id", Integer, primary_key=True, autoincrement=True),
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), nullable=False),
    Column("logic", String(64), nullable=False),
    Column("status", String(24), nullable=False),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", UtcDateTime()),
    Column("issue", Text),
    Column("needs_second_approver", Boolean, nullable=False),
    Column("price_date", Date, nullable=False),
    Column("options", Text),
    Column("households", Text),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime()),
    CheckConstraint(
        "status IN ('proposing', 'pending', 'complete', 'complete_with_errors', 'failed', "
        "'expired', 'canceled')",
        name="status",
    ),
    Index("ix_requests_firm_status", "firm_id", "status"),
)
"""A ``proposing`` request is worked on by the process holding its lease (``lease_owner``
until ``lease_until``); once the lease lapses another process may take the work over."""

proposals = Table(
    "proposals",
    metadata,
    Column("request_id", Integer, ForeignKey("requests.request_id"), primary_key=True),
    _key("account_id"),
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("value", money(), nullable=False),
    Column("cash_after", money(), nullable=False),
    Column("realized_gain", money(), nullable=False),
    Column("needs_second_approver", Boolean, nullable=False),
)

proposal_lines = Table(
    "proposal_lines",
    metadata,
    Column("request_id", Integer, ForeignKey("requests.request_id"), primary_key=True),
    _key("account_id"),
    _key("symbol", 32),
    Column("sleeve", String(8), primary_key=True, server_default=""),
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), nullable=False),
    Column("action", String(4), nullable=False),
    Column("quantity", quantity(), nullable=False),
    Column("price", price(), nullable=False),
    Column("order_value", money(), nullable=False),
    Column("realized_gain", money(), nullable=False),
    Column("reason", Text, nullable=False),
    CheckConstraint("action IN ('buy', 'sell', 'none')", name="action"),
)

request_records = Table(
    "request_records",
    metadata,
    Column("request_id", Integer, ForeignKey("requests.request_id"), primary_key=True),
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("code_version", String(80), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("stored_at", UtcDateTime(), nullable=False),
)
"""What each request's proposal was computed from, and the proposal as computed: one
document (:mod:`trimtab.service.request_record`), whose SHA-256 the audit log holds."""

orders = Table(
    "orders",
    metadata,
    _firm(),
    _key("client_order_id"),
    Column("request_id", Integer, ForeignKey("requests.request_id"), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", quantity(), nullable=False),
    Column("price", price(), nullable=False),
    Column("trade_date", Date, nullable=False),
    Column("best_effort", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("request_id", "account_id", "symbol", name="uq_orders_line"),
    CheckConstraint("side IN ('buy', 'sell')", name="side"),
    Index("ix_orders_trade_date", "firm_id", "trade_date"),
)

order_exports = Table(
    "order_exports",
    metadata,
    _firm(),
    _key("client_order_id"),
    _key("format", 8),
    Column("exported_at", UtcDateTime(), nullable=False),
    Column("export_id", Integer, ForeignKey("export_batches.export_id")),
    ForeignKeyConstraint(
        ["firm_id", "client_order_id"], ["orders.firm_id", "orders.client_order_id"]
    ),
)

open_accounts = Table(
    "open_accounts",
    metadata,
    _firm(),
    _key("account_id"),
    Column("request_id", Integer, ForeignKey("requests.request_id"), nullable=False),
    Index("ix_open_accounts_request", "request_id"),
)
"""Accounts in an open request: every account of a proposing one, those of a pending one
whose proposal did not fail. The key lets an account be in at most one open request, however
submissions race."""

export_batches = Table(
    "export_batches",
    metadata,
    Column("export_id", Integer, primary_key=True, autoincrement=True),
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), nullable=False),
    Column("trade_date", Date, nullable=False),
    Column("format", String(8), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("orders", Integer, nullable=False),
    Column("exported_by", String(64), nullable=False),
    Column("exported_at", UtcDateTime(), nullable=False),
    CheckConstraint("kind IN ('new', 'all', 'batch')", name="kind"),
)
"""One row per ``orders export``: the orders first written (``new``), or a re-export of a
date (``all``) or of an earlier batch (``batch``)."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("before", Text),
    Column("after", Text),
    Column("hash", String(64)),
    Index("ix_audit_log_entity", "firm_id", "entity", "entity_id"),
)
"""``hash`` chains each firm's entries: sha256 of the previous entry's hash and this entry's
fields (:mod:`trimtab.service.audit`); entries written before migration 0005 have none."""

audit_heads = Table(
    "audit_heads",
    metadata,
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), primary_key=True),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("entries", Integer, nullable=False),
)
"""The newest chained audit entry of each firm; locking it serialises appends."""


def _user_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["firm_id", "user_id"], ["users.firm_id", "users.user_id"])


web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    _user_fk(),
)
"""A signed-in browser: the sha256 of its cookie's token (the token itself is never
stored) and the CSRF token its forms carry."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    _user_fk(),
)
"""A program's key, sent as ``Authorization: Bearer ttk_<key_id>_<secret>``: the secret's
sha256 only is stored. ``user_id`` is the key's own user, whose role is the key's role."""

signin_attempts = Table(
    "signin_attempts",
    metadata,
    Column("attempt_id", Integer, primary_key=True, autoincrement=True),
    Column("firm_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("ix_signin_attempts_user", "firm_id", "user_id", "at"),
    Index("ix_signin_attempts_client", "client", "at"),
)
"""Every sign-in attempt, for rate limiting. ``firm_id`` is the firm typed, which need not
exist (no foreign key): a guess at a firm is limited like any other."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("firm_id", String(64), ForeignKey("firms.firm_id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(400), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("body", Text),
    Column("location", String(400)),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""The first response to each ``Idempotency-Key`` of a firm's API POSTs; ``status_code``
``NULL`` while the first call is still running."""

DATED_TABLES = (
    "prices",
    "account_days",
    "cash_activity",
    "transactions",
)
"""Tables holding one snapshot per book date, replaced whole when a date is re-imported."""
