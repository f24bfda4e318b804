"""The API's bodies: ``XCreate`` comes in, ``XPublic`` goes out.

Money is a decimal string of dollars (exact, as stored), quantities decimal strings of
shares, percentages numbers of percent points; moments are UTC ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from trimtab.core.engine import Method
from trimtab.io.values import Flag, Number

T = TypeVar("T")

LOGICS = tuple(m.value for m in (Method.BEST_FIT, Method.MINIMUM_TRANSACTION)) + tuple(
    m.value for m in Method if m not in (Method.BEST_FIT, Method.MINIMUM_TRANSACTION)
)
"""Every trade logic, Best Fit and Minimum Transaction first."""

Id = Annotated[str, Field(min_length=1, max_length=64)]
Dollars = Annotated[Number, Field(ge=0, le=1e12, allow_inf_nan=False)]


class Closed(BaseModel):
    """A body that refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid")


class PagePublic(BaseModel, Generic[T]):
    """One page of a list; ask for the next with ``page_token=next_page_token``."""

    items: list[T]
    next_page_token: str | None = None


class Amounts(Closed):
    """A logic's amounts: dollars per account, or percent of account value."""

    cash_to_generate: Dollars | None = None
    mccar_pct: Annotated[Number, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    cash_to_invest: Dollars | None = None
    min_trade_value: Dollars | None = None


class QueueMatch(Closed):
    """Every queued account that matches these filters (as the queue's own)."""

    reason: str | None = Field(default=None, max_length=64)
    household: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=64)


class RequestCreate(Closed):
    """A rebalance request by the trade logic and its amounts, for the ``accounts`` named or
    for every queued account that ``match``es (Accounts to Rebalance's "select all that match
    the filter"): one of the two. ``replace`` cancels the open requests that hold any of the
    accounts."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["accounts"]}, {"required": ["match"]}]}
    )

    logic: Annotated[str, Field(json_schema_extra={"enum": list(LOGICS)})]
    amounts: Amounts = Field(default_factory=Amounts)
    replace: Flag = False
    accounts: Annotated[list[Id], Field(min_length=1, max_length=1_000_000)] | None = None
    match: QueueMatch | None = None


class TradeLinePublic(BaseModel):
    """One buy or sell: shares, dollars per share, dollars, realised gain (dollars)."""

    symbol: str
    sleeve: str
    action: str
    quantity: Decimal
    price: Decimal
    order_value: Decimal
    realized_gain: Decimal
    reason: str


class ProposalPublic(BaseModel):
    """One account's proposal in a request; dollars to the cent."""

    account_id: str
    status: str
    message: str
    value: Decimal
    cash_after: Decimal
    realized_gain: Decimal
    needs_second_approver: bool
    trades: list[TradeLinePublic]


class RequestSummaryPublic(BaseModel):
    """A rebalance request as lists show it. ``status``: proposing (the work is under way),
    pending (awaiting approval), complete, complete_with_errors, failed, expired or
    canceled. ``accounts``: its proposals, ``failed_accounts`` those that failed;
    ``buy_value`` and ``sell_value``: dollars its proposals buy and sell."""

    request_id: int
    logic: str
    status: str
    submitted_by: str
    submitted_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    issue: str | None
    needs_second_approver: bool
    price_date: date
    accounts: int
    failed_accounts: int
    buy_value: Decimal
    sell_value: Decimal


class RequestPublic(RequestSummaryPublic):
    """A rebalance request with the amounts it was submitted with and, for a household
    rebalance, each household's weights before and after (percent)."""

    amounts: dict[str, float]
    households: list[dict[str, Any]]


class ApprovalPublic(BaseModel):
    """An approved request: its status, the orders created and their trade date."""

    request_id: int
    status: str
    orders: int
    trade_date: date
    best_effort: bool


class DifferencePublic(BaseModel):
    """A field that differs between the proposal kept and the one computed again (an empty
    ``symbol``: the account's proposal; field ``line``/``proposal``: only one side has it)."""

    account_id: str
    symbol: str
    sleeve: str
    field: str
    kept: str
    computed: str


class ReplayPublic(BaseModel):
    """A request's proposal computed again from its record alone, against the one kept."""

    request_id: int
    identical: bool
    record_sha256: str
    kept_code_version: str
    code_version: str
    accounts: int
    lines: int
    differences: list[DifferencePublic]


class CheckPublic(BaseModel):
    """One check of an order memorandum against the store."""

    name: str
    holds: bool
    detail: str


class MemorandumPublic(BaseModel):
    """A request's order memorandum from the store alone: the request, its record, the
    proposal reviewed (accounts and traded lines), the approval, the orders, and the checks
    that tie them together."""

    request: dict[str, Any]
    record: dict[str, Any]
    reviewed: dict[str, list[dict[str, Any]]]
    approval: dict[str, Any] | None
    orders: list[dict[str, Any]]
    checks: list[CheckPublic]
    holds: bool


class ApiKeyCreate(Closed):
    """A new API key: its name (its user is ``key:<name>``) and role."""

    name: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    role: Annotated[
        str, Field(json_schema_extra={"enum": ["viewer", "operator", "approver", "admin"]})
    ]


class ApiKeyPublic(BaseModel):
    """An API key as listed (never its secret)."""

    key_id: str
    user_id: str
    role: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    """A new key with its token, shown this once."""

    token: str


class MePublic(BaseModel):
    """Who is calling."""

    firm_id: str
    user_id: str
    role: str


class SessionPublic(BaseModel):
    """The CSRF token of the calling browser session (``null`` for an API key)."""

    csrf_token: str | None


class FieldProblem(BaseModel):
    """One bad field: where in the request (``body``, ``query``, ``path``, ``header``), the
    field, and what is wrong with it."""

    record: str
    field: str
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem("The body is not JSON"),
    401: _problem("Not signed in: no valid session or API key"),
    403: _problem("The caller's role does not allow this, or four eyes are needed"),
    404: _problem("No such object in the caller's firm"),
    409: _problem("The object's state does not allow this now"),
    422: _problem("Invalid fields: see errors"),
}
"""The error answers every API route may give (documented once, on the router)."""
