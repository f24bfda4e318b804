"""Orders of approved requests, and their exports to the custodian (CSV or FIX 4.4)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from trimtab.io.values import Day, Flag
from trimtab.service import listing
from trimtab.service import orders as svc
from trimtab.web.api.params import FIRST_DAY, LAST_DAY, Limit, PageToken
from trimtab.web.api.schemas import Closed, PagePublic
from trimtab.web.deps import ApiUow, Caller, now
from trimtab.web.idempotent import Keyed, once

router = APIRouter(prefix="/orders", tags=["orders"])

Format = Literal["csv", "fix"]
MEDIA = {"csv": "text/csv; charset=utf-8", "fix": "text/plain; charset=utf-8"}


class OrderPublic(BaseModel):
    """An order of an approved request: shares, dollars per share (the request's price),
    dollars (to the cent); ``best_effort`` when approved after the day's cut-off;
    ``exported_at`` its first export (``null`` while never exported)."""

    client_order_id: str
    request_id: int
    account_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    value: Decimal
    trade_date: date
    best_effort: bool
    created_at: datetime
    exported: bool
    exported_at: datetime | None


class ExportCreate(Closed):
    """Export the orders trading on ``trade_date`` not yet exported in ``format``; with
    ``again``, every order of that date once more."""

    trade_date: Annotated[Day, Field(ge=FIRST_DAY, le=LAST_DAY)]
    format: Format
    again: Flag = False


class ExportPublic(BaseModel):
    """An export batch: its id (``null`` when there was nothing to write, ``note`` says
    why), trade date, format, how many orders it wrote, ``kind`` (``new``: orders not
    exported before; ``all``: every order of the date again) and the file it wrote."""

    export_id: int | None
    trade_date: date | None
    format: str
    kind: str
    orders: int
    note: str
    content: str


@router.get("", response_model=PagePublic[OrderPublic], summary="Orders")
def list_orders(
    uow: ApiUow,
    who: Caller,
    trade_date: Annotated[
        date | None, Query(ge=FIRST_DAY, le=LAST_DAY, description="Only this trade date.")
    ] = None,
    request_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Only this request's.")
    ] = None,
    limit: Limit = 50,
    page_token: PageToken = None,
) -> PagePublic[OrderPublic]:
    """Orders, newest trade date first, then newest request, then by order id."""
    page = listing.orders_page(
        uow,
        actor=who.user_id,
        trade_date=trade_date,
        request_id=request_id,
        limit=limit,
        page_token=page_token,
    )
    return PagePublic[OrderPublic](
        items=[OrderPublic.model_validate(o, from_attributes=True) for o in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/dates", response_model=list[date], summary="Trade dates with orders")
def dates(uow: ApiUow, who: Caller) -> list[date]:
    """The trade dates that have orders, newest first."""
    return list(listing.order_dates(uow, actor=who.user_id))


@router.post(
    "/exports",
    status_code=201,
    response_model=ExportPublic,
    responses={
        200: {"model": ExportPublic, "description": "Nothing to write: no batch was made."},
        201: {"headers": {"Location": {"schema": {"type": "string"}}}},
    },
    summary="Export orders",
)
def export(body: ExportCreate, uow: ApiUow, who: Caller, keyed: Keyed) -> JSONResponse:
    """Write the orders of a trade date as one batch, recorded with the orders it marks
    exported, and answer with the file (CSV: a header row and a row per order; FIX: one
    NewOrderSingle per line). A batch of new orders can be downloaded again from its
    ``Location``."""

    def work() -> tuple[int, ExportPublic, str | None]:
        written: list[bytes] = []
        done = svc.export_orders(
            uow,
            actor=who.user_id,
            day=body.trade_date,
            fmt=body.format,
            sink=written.append,
            now=now(),
            again=body.again,
        )
        made = ExportPublic(
            export_id=done.export_id,
            trade_date=done.trade_date,
            format=done.fmt,
            kind=done.kind,
            orders=done.orders,
            note=done.note,
            content=b"".join(written).decode(),
        )
        if done.export_id is None:
            return 200, made, None
        where = f"/api/v1/orders/exports/{done.export_id}?format={done.fmt}"
        return 201, made, where if done.kind == "new" else None

    return once(uow, keyed, work)


@router.get(
    "/exports/{export_id}",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, "text/plain": {}},
            "description": "The batch's file, as an attachment.",
        }
    },
    summary="Download an export batch again",
)
def download(
    export_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="The batch's id.")],
    format: Annotated[Format, Query(description="The batch's format.")],
    uow: ApiUow,
    who: Caller,
) -> Response:
    """The orders of an earlier batch of new orders, written again in its format; the
    download is itself recorded (a re-export, in the audit trail)."""
    written: list[bytes] = []
    done = svc.export_orders(
        uow,
        actor=who.user_id,
        day=None,
        fmt=format,
        sink=written.append,
        now=now(),
        batch=export_id,
    )
    name = f"orders-{done.trade_date}-{export_id}.{format}"
    return Response(
        b"".join(written),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
