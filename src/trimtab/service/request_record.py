"""What a request's proposal was computed from, kept with the proposal as computed.

When a request's proposals are stored, its **record** is kept beside them (table
``request_records``): one document, a ZIP archive of Parquet files and a JSON header, that
holds

- ``request.json``: the logic and amounts, the book date, the trade day the rules are in
  force on, the code version (:func:`code_version`), and the labels of the rule and sleeve
  tables;
- ``inputs/``: every input of :func:`trimtab.service.request_proposing.compute_proposal`
  (:class:`~trimtab.service.proposing.RequestInputs`): prices, the accounts' targets and
  cash, model lines, positions, tax lots, account settings, household mates, the rule tables
  (``inputs/rules/``) and the sleeve tables (``inputs/sleeves/``);
- ``proposal/``: the proposal as computed, the one the approver reviewed: one row per
  account, one per line, and each household's weights.

Its SHA-256 is stored with it and in the audit log's ``propose`` entry of the request, so the
record is chained to the audit trail: it cannot be changed without the chain showing it.

:func:`replay` computes the proposal again from the record alone and compares it, line by
line, with the one kept.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import insert, select

import trimtab
from trimtab.errors import ConflictError, NotFoundError
from trimtab.service.proposing import RequestInputs
from trimtab.service.snapshot import SnapshotTables
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

if TYPE_CHECKING:
    from trimtab.service.request_proposing import Computed

FORMAT = 1
"""The record's layout version, in ``request.json``."""

_SNAPSHOT = ("prices", "accounts", "model_lines", "positions")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # every member's time: the same inputs, the same bytes

PROPOSAL_FIELDS = (
    "status",
    "message",
    "value",
    "cash_after",
    "realized_gain",
    "needs_second_approver",
)
"""An account's proposal, as stored in ``proposals`` (besides its account id)."""
LINE_FIELDS = (
    "account_id",
    "symbol",
    "sleeve",
    "action",
    "quantity",
    "price",
    "order_value",
    "realized_gain",
    "reason",
)
"""A proposal line, as stored in ``proposal_lines`` (besides its request and firm)."""
_DECIMAL = {"value", "cash_after", "realized_gain", "quantity", "price", "order_value"}


@functools.cache
def code_version() -> str:
    """trimtab's version and a digest of its Python sources: a change to any module of the
    package is a new code version, with or without a release."""
    root = Path(trimtab.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return f"{trimtab.__version__}+{digest.hexdigest()[:12]}"


@dataclass(frozen=True, slots=True)
class Record:
    """A request's record as read back: its inputs, the proposal kept, and its facts."""

    request_id: int
    sha256: str
    code_version: str
    logic: str
    amounts: dict[str, float]
    inputs: RequestInputs
    accounts: pa.Table
    lines: pa.Table
    households: list[dict[str, Any]] | None
    stored_at: datetime | None = None

    def summary(self) -> dict[str, Any]:
        """What the audit log's ``propose`` entry says of the record."""
        return _summary(self.sha256, self.code_version, self.accounts.num_rows, self.lines.num_rows)


def proposal_tables(done: Computed) -> tuple[pa.Table, pa.Table]:
    """The proposal of ``done`` as two tables (accounts, lines), decimals as exact text;
    column by column."""
    names = ("account_id", *PROPOSAL_FIELDS)
    accounts = pa.table(
        [_column(n, [p[n] for p in done.proposals]) for n in names], schema=_schema(names)
    )
    columns = list(zip(*done.lines, strict=True)) if done.lines else [()] * (len(LINE_FIELDS) + 1)
    lines = pa.table(
        [_column(n, columns[i + 1]) for i, n in enumerate(LINE_FIELDS)], schema=_schema(LINE_FIELDS)
    )
    return accounts, lines


def _column(name: str, values: Sequence[Any]) -> pa.Array:
    if name == "needs_second_approver":
        return pa.array(values, pa.bool_())
    if name in _DECIMAL:
        return pa.array([str(v) for v in values], pa.string())
    return pa.array(values, pa.string())


def _schema(names: tuple[str, ...]) -> pa.Schema:
    return pa.schema(
        [(n, pa.bool_() if n == "needs_second_approver" else pa.string()) for n in names]
    )


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def pack(
    inputs: RequestInputs,
    done: Computed,
    *,
    logic: str,
    amounts: Mapping[str, float],
    version: str,
) -> bytes:
    """The record document of a request (the same arguments always give the same bytes)."""
    header = {
        "format": FORMAT,
        "logic": logic,
        "amounts": dict(sorted(amounts.items())),
        "as_of": inputs.as_of.isoformat(),
        "trade_day": inputs.trade_day.isoformat(),
        "code_version": version,
        "rules": {name: label for name, (label, _) in sorted(inputs.rules.items())},
        "sleeves": {name: label for name, (label, _) in sorted(inputs.sleeves.items())},
        "households": done.households,
    }
    members: dict[str, bytes] = {"request.json": json.dumps(header, sort_keys=True).encode()}
    for name in _SNAPSHOT:
        members[f"inputs/{name}.parquet"] = _parquet(getattr(inputs.snapshot, name))
    members["inputs/account_settings.parquet"] = _parquet(inputs.accounts)
    members["inputs/mates.parquet"] = _parquet(inputs.mates)
    members["inputs/lots.parquet"] = _parquet(inputs.lots)
    for name, (_, table) in sorted(inputs.rules.items()):
        members[f"inputs/rules/{name}.parquet"] = _parquet(table)
    for name, (_, table) in sorted(inputs.sleeves.items()):
        members[f"inputs/sleeves/{name}.parquet"] = _parquet(table)
    if inputs.sleeve_models is not None:
        members["inputs/sleeve_models.parquet"] = _parquet(inputs.sleeve_models)
    accounts, lines = proposal_tables(done)
    members["proposal/accounts.parquet"] = _parquet(accounts)
    members["proposal/lines.parquet"] = _parquet(lines)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data)
    return out.getvalue()


def unpack(request_id: int, data: bytes) -> Record:
    """The record of ``request_id`` from its document."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        header = json.loads(archive.read("request.json"))
        names = set(archive.namelist())

        def table(name: str) -> pa.Table:
            return pq.read_table(io.BytesIO(archive.read(name)))

        def tables(kind: str) -> dict[str, tuple[str, pa.Table]]:
            return {
                name: (label, table(f"inputs/{kind}/{name}.parquet"))
                for name, label in header[kind].items()
            }

        inputs = RequestInputs(
            as_of=date.fromisoformat(header["as_of"]),
            trade_day=date.fromisoformat(header["trade_day"]),
            snapshot=SnapshotTables(**{n: table(f"inputs/{n}.parquet") for n in _SNAPSHOT}),
            accounts=table("inputs/account_settings.parquet"),
            mates=table("inputs/mates.parquet"),
            rules=tables("rules"),
            sleeves=tables("sleeves"),
            sleeve_models=(
                table("inputs/sleeve_models.parquet")
                if "inputs/sleeve_models.parquet" in names
                else None
            ),
            lots=table("inputs/lots.parquet"),
        )
        accounts = table("proposal/accounts.parquet")
        lines = table("proposal/lines.parquet")
    return Record(
        request_id=request_id,
        sha256=hashlib.sha256(data).hexdigest(),
        code_version=header["code_version"],
        logic=header["logic"],
        amounts=header["amounts"],
        inputs=inputs,
        accounts=accounts,
        lines=lines,
        households=header["households"],
    )


def keep_record(
    uow: UnitOfWork,
    request_id: int,
    inputs: RequestInputs,
    done: Computed,
    *,
    logic: str,
    amounts: Mapping[str, float],
    now: datetime,
) -> dict[str, Any]:
    """Store the record of ``request_id`` in the unit of work's transaction; returns what
    the audit log says of it (:meth:`Record.summary`)."""
    version = code_version()
    data = pack(inputs, done, logic=logic, amounts=amounts, version=version)
    sha256 = hashlib.sha256(data).hexdigest()
    uow.conn.execute(
        insert(t.request_records).values(
            request_id=request_id,
            firm_id=uow.firm_id,
            sha256=sha256,
            code_version=version,
            data=data,
            stored_at=now,
        )
    )
    return _summary(sha256, version, len(done.proposals), len(done.lines))


def _summary(sha256: str, version: str, accounts: int, lines: int) -> dict[str, Any]:
    return {"record_sha256": sha256, "code_version": version, "accounts": accounts, "lines": lines}


def load_record(uow: UnitOfWork, request_id: int) -> tuple[Record, bytes]:
    """The record of the firm's request ``request_id`` and its document's bytes
    (:func:`_stored`)."""
    data, stored_at = _stored(uow, request_id)
    return replace(unpack(request_id, data), stored_at=stored_at), data


def _stored(uow: UnitOfWork, request_id: int) -> tuple[bytes, datetime]:
    """The document of the firm's request ``request_id`` and when it was stored.

    Raises :class:`NotFoundError` when the firm has no such request, or when the request
    has no record (it was never proposed, or was proposed before records were kept), and
    :class:`ConflictError` when the document is not the one its stored SHA-256 names."""
    r = t.request_records.c
    row = uow.conn.execute(
        select(r.data, r.sha256, r.stored_at).where(
            r.firm_id == uow.firm_id, r.request_id == request_id
        )
    ).first()
    if row is None:
        exists = uow.conn.execute(
            select(t.requests.c.status).where(
                t.requests.c.firm_id == uow.firm_id, t.requests.c.request_id == request_id
            )
        ).first()
        if exists is None:
            raise NotFoundError(f"request {request_id} does not exist")
        raise NotFoundError(
            f"request {request_id} ({exists.status}) has no record of its inputs: it was not "
            "proposed, or was proposed before records were kept"
        )
    data = bytes(row.data)
    found = hashlib.sha256(data).hexdigest()
    if found != row.sha256:
        raise ConflictError(
            f"request {request_id}: its record's document has SHA-256 {found}, "
            f"not the {row.sha256} stored with it: the record was changed"
        )
    stored_at: datetime = row.stored_at
    return data, stored_at


@dataclass(frozen=True, slots=True)
class Difference:
    """One field that differs between the proposal kept and the one computed again."""

    account_id: str
    symbol: str
    sleeve: str
    field: str
    kept: str
    computed: str


@dataclass(frozen=True, slots=True)
class Replay:
    """A request's proposal computed again from its record, against the one kept."""

    request_id: int
    record_sha256: str
    kept_version: str
    code_version: str
    accounts: int
    lines: int
    differences: list[Difference] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences

    def as_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "identical": self.identical,
            "record_sha256": self.record_sha256,
            "kept_code_version": self.kept_version,
            "code_version": self.code_version,
            "accounts": self.accounts,
            "lines": self.lines,
            "differences": [
                {
                    "account_id": d.account_id,
                    "symbol": d.symbol,
                    "sleeve": d.sleeve,
                    "field": d.field,
                    "kept": d.kept,
                    "computed": d.computed,
                }
                for d in self.differences
            ],
        }


def _same(name: str, a: Any, b: Any) -> bool:
    if a == b:
        return True
    if a is None or b is None:
        return False
    if name in _DECIMAL:
        return Decimal(a) == Decimal(b)
    return bool(a == b)


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)


def compare(record: Record, again: Computed) -> list[Difference]:
    """Every difference between the proposal kept in ``record`` and ``again``, account by
    account and line by line (a line only one side has is one difference). Compared by
    column; only rows whose text differs are looked at one by one (a decimal written
    otherwise, ``12`` and ``12.0``, is the same number)."""
    accounts, lines = proposal_tables(again)
    out = _differ(record.accounts, accounts, ("account_id",), PROPOSAL_FIELDS, "proposal")
    out += _differ(record.lines, lines, ("account_id", "symbol", "sleeve"), LINE_FIELDS[3:], "line")
    if record.households != again.households:
        out.append(
            Difference(
                "", "", "", "households",
                json.dumps(record.households, sort_keys=True),
                json.dumps(again.households, sort_keys=True),
            )
        )  # fmt: skip
    return sorted(out, key=lambda d: (d.account_id, d.symbol, d.sleeve))


def _differ(
    kept: pa.Table, new: pa.Table, key: tuple[str, ...], fields: tuple[str, ...], what: str
) -> list[Difference]:
    """The differences of ``fields`` between the rows of ``kept`` and ``new`` with the same
    ``key``; a row only one side has is one difference named ``what``."""
    left = kept.select([*key, *fields]).append_column("here", pa.array([True] * kept.num_rows))
    right = new.select([*key, *fields]).append_column("here", pa.array([True] * new.num_rows))
    joined = left.join(
        right, keys=list(key), join_type="full outer", left_suffix=":kept", right_suffix=":new"
    )
    odd = pc.or_(pc.is_null(joined["here:kept"]), pc.is_null(joined["here:new"]))
    for name in fields:
        a, b = joined[f"{name}:kept"], joined[f"{name}:new"]
        same = pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
        odd = pc.or_(odd, pc.invert(pc.fill_null(same, False)))
    out: list[Difference] = []
    for row in joined.filter(odd).to_pylist():
        named = [row[k] for k in key] + [""] * (3 - len(key))
        account_id, symbol, sleeve = named[0], named[1], named[2]
        if row["here:kept"] is None or row["here:new"] is None:
            kept_side = "present" if row["here:kept"] else "(none)"
            new_side = "present" if row["here:new"] else "(none)"
            out.append(Difference(account_id, symbol, sleeve, what, kept_side, new_side))
            continue
        for name in fields:
            a, b = row[f"{name}:kept"], row[f"{name}:new"]
            if not _same(name, a, b):
                out.append(Difference(account_id, symbol, sleeve, name, _shown(a), _shown(b)))
    return out


def replay(uow: UnitOfWork, *, actor: str, request_id: int) -> Replay:
    """Compute the proposal of the firm's request ``request_id`` again from its record alone
    (no other stored data is read) and compare it with the proposal kept. Needs the viewer
    role."""
    from trimtab.service.access import require_role
    from trimtab.service.request_proposing import compute_proposal

    require_role(uow, user_id=actor, role="viewer")
    record, _ = load_record(uow, request_id)
    again = compute_proposal(uow.firm_id, record.inputs, logic=record.logic, amounts=record.amounts)
    return Replay(
        request_id=request_id,
        record_sha256=record.sha256,
        kept_version=record.code_version,
        code_version=code_version(),
        accounts=record.accounts.num_rows,
        lines=record.lines.num_rows,
        differences=compare(record, again),
    )


def record_document(uow: UnitOfWork, *, actor: str, request_id: int) -> bytes:
    """The record document of the firm's request ``request_id`` (a ZIP of Parquet files and
    ``request.json``), for an examiner. Needs the viewer role."""
    from trimtab.service.access import require_role

    require_role(uow, user_id=actor, role="viewer")
    return _stored(uow, request_id)[0]


def record_sha256(uow: UnitOfWork, request_id: int) -> str | None:
    """The SHA-256 of the record of the firm's request ``request_id`` (``None``: none)."""
    r = t.request_records.c
    found: str | None = uow.conn.execute(
        select(r.sha256).where(r.firm_id == uow.firm_id, r.request_id == request_id)
    ).scalar()
    return found


@dataclass(frozen=True, slots=True)
class Check:
    """One check of an order memorandum against the store: its name, whether it holds, and
    what was found."""

    name: str
    holds: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Memorandum:
    """An approved request's order memorandum, rebuilt from the store alone: who asked for
    what, the proposal the approver reviewed (its record), the approval, the orders, and
    the checks that tie them together (:func:`memorandum`)."""

    request: dict[str, Any]
    record: dict[str, Any]
    reviewed: list[dict[str, Any]]
    reviewed_lines: list[dict[str, Any]]
    approval: dict[str, Any] | None
    orders: list[dict[str, Any]]
    checks: list[Check]

    @property
    def holds(self) -> bool:
        return all(c.holds for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "record": self.record,
            "reviewed": {"accounts": self.reviewed, "lines": self.reviewed_lines},
            "approval": self.approval,
            "orders": self.orders,
            "checks": [{"name": c.name, "holds": c.holds, "detail": c.detail} for c in self.checks],
            "holds": self.holds,
        }


_SCALE = Decimal("0.00000001")  # shares and prices are stored to 1e-8


def _price(text: Any) -> Decimal:
    return Decimal(text).quantize(_SCALE)


def _audit_entries(uow: UnitOfWork, request_id: int) -> list[Any]:
    from trimtab.service.audit import audit_query

    q = audit_query(uow, entity="request", entity_id=str(request_id))
    return list(uow.conn.execute(q.order_by(t.audit_log.c.audit_id)).all())


def memorandum(uow: UnitOfWork, *, actor: str, request_id: int) -> Memorandum:
    """The order memorandum of the firm's request ``request_id``, rebuilt from the store:
    the request, its record (inputs digest and code version), the proposal reviewed, the
    approval (who, when, which accounts, which failed and why) and the orders created.

    Its checks: the record's document is the one the audit log's ``propose`` entry names;
    the approval names the same record; the orders are exactly those the reviewed lines of
    the approved accounts make (shares, side and price); the firm's audit chain is intact
    from the request's first entry on.
    Needs the viewer role."""
    from trimtab.service.access import require_role
    from trimtab.service.audit import verify_chain
    from trimtab.service.orders import net_trades

    require_role(uow, user_id=actor, role="viewer")
    record, _ = load_record(uow, request_id)
    req = uow.conn.execute(
        select(t.requests).where(
            t.requests.c.firm_id == uow.firm_id, t.requests.c.request_id == request_id
        )
    ).one()
    traded = pc.not_equal(record.lines["action"], "none")
    reviewed_lines: list[dict[str, Any]] = record.lines.filter(traded).to_pylist()
    entries = _audit_entries(uow, request_id)
    proposed = [e for e in entries if e.action == "propose"]
    approved = [e for e in entries if e.action == "approve"]
    checks: list[Check] = []
    named = json.loads(proposed[-1].after).get("record_sha256") if proposed else None
    checks.append(
        Check(
            "record",
            named == record.sha256,
            f"document SHA-256 {record.sha256}; the audit log's propose entry names {named}",
        )
    )
    approval = None
    if approved:
        entry = approved[-1]
        after = json.loads(entry.after)
        approval = {"by": entry.actor, "at": entry.at.isoformat(), **after}
        checks.append(
            Check(
                "approval",
                after.get("record_sha256") == record.sha256,
                f"the approval names record {after.get('record_sha256')}",
            )
        )
    o = t.orders.c
    orders = [
        {
            "client_order_id": r.client_order_id,
            "account_id": r.account_id,
            "symbol": r.symbol,
            "side": r.side,
            "quantity": str(r.quantity),
            "price": str(r.price),
            "trade_date": r.trade_date.isoformat(),
            "best_effort": r.best_effort,
            "created_at": r.created_at.isoformat(),
        }
        for r in uow.conn.execute(
            select(t.orders)
            .where(o.firm_id == uow.firm_id, o.request_id == request_id)
            .order_by(o.client_order_id)
        )
    ]
    if approval is not None:
        chosen = set(approval.get("approved", []))
        lines = [
            _Line(x["account_id"], x["symbol"], x["action"], Decimal(x["quantity"]), x["price"])
            for x in sorted(reviewed_lines, key=lambda x: (x["account_id"], x["symbol"]))
        ]
        expected = {
            (a, s): ("buy" if q > 0 else "sell", abs(q).quantize(_SCALE), _price(p))
            for a, s, q, p in net_trades(lines)
            if a in chosen
        }
        found = {
            (x["account_id"], x["symbol"]): (
                x["side"],
                Decimal(x["quantity"]).quantize(_SCALE),
                _price(x["price"]),
            )
            for x in orders
        }
        wrong = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
        checks.append(
            Check(
                "orders",
                not wrong,
                f"{len(found)} orders, {len(expected)} made by the reviewed lines of the "
                f"approved accounts"
                + (f"; differing: {', '.join(f'{a} {s}' for a, s in wrong[:10])}" if wrong else ""),
            )
        )
    first = entries[0].audit_id if entries else None
    chain = verify_chain(uow, since=first)  # the request's entries and every one after
    checks.append(
        Check(
            "audit chain",
            not chain.problems,
            f"{chain.entries} entries checked"
            + (f", from the request's first (entry {first}) on" if first else "")
            + "".join(f"; {p}" for p in chain.problems),
        )
    )
    return Memorandum(
        request={
            "request_id": request_id,
            "logic": req.logic,
            "amounts": record.amounts,
            "status": req.status,
            "submitted_by": req.submitted_by,
            "submitted_at": req.submitted_at.isoformat(),
            "price_date": req.price_date.isoformat(),
            "trade_day": record.inputs.trade_day.isoformat(),
            "issue": req.issue,
        },
        record={
            "sha256": record.sha256,
            "code_version": record.code_version,
            "stored_at": record.stored_at.isoformat() if record.stored_at else None,
        },
        reviewed=record.accounts.to_pylist(),
        reviewed_lines=reviewed_lines,
        approval=approval,
        orders=orders,
        checks=checks,
    )


@dataclass(frozen=True, slots=True)
class _Line:
    account_id: str
    symbol: str
    action: str
    quantity: Decimal
    price: str
