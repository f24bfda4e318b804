"""Orders: the orders of a trade date with their best-effort flags, downloaded as CSV or
FIX 4.4 (each download is an export batch, recorded like ``trimtab orders export``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from trimtab.errors import InputError
from trimtab.service import listing
from trimtab.service.orders import export_orders
from trimtab.web.deps import PageUow, Viewer, check_csrf, now
from trimtab.web.pages._forms import optional_date
from trimtab.web.pages._render import render, see_other

router = APIRouter()

PAGE = 100
MEDIA = {"csv": "text/csv; charset=utf-8", "fix": "application/octet-stream"}


@router.get("/orders", include_in_schema=False)
def orders(
    request: Request,
    who: Viewer,
    uow: PageUow,
    trade_date: Annotated[str, Query(alias="date", max_length=10)] = "",
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    dates: list[date] = list(listing.order_dates(uow, actor=who.user_id))
    day = optional_date(trade_date, "date") or (max(dates) if dates else None)
    items: tuple[object, ...] = ()
    next_url = None
    if day is not None:
        page = listing.orders_page(
            uow, actor=who.user_id, trade_date=day, limit=PAGE, page_token=page_token
        )
        items = page.items
        if page.next_page_token:
            next_url = f"/orders?date={day.isoformat()}&page_token={quote(page.next_page_token)}"
    return render(
        request,
        "orders.html",
        who,
        section="orders",
        dates=dates,
        day=day,
        orders=items,
        next_url=next_url,
        first_url=f"/orders?date={day.isoformat()}" if day else "/orders",
        first_page=page_token is None,
    )


@router.post("/orders/download", include_in_schema=False)
def download(
    who: Viewer,
    uow: PageUow,
    trade_date: Annotated[str, Form(alias="date", max_length=10)] = "",
    format: Annotated[str, Form(max_length=8)] = "csv",
    again: Annotated[str, Form(max_length=8)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf_token)
    day = optional_date(trade_date, "date")
    if day is None:
        raise InputError("date", "choose the trade date")
    written: list[bytes] = []
    done = export_orders(
        uow,
        actor=who.user_id,
        day=day,
        fmt=format,
        sink=written.append,
        now=now(),
        again=bool(again),
    )
    if not written:
        return see_other(f"/orders?date={day.isoformat()}", f"Nothing to download: {done.note}.")
    name = f"orders-{day.isoformat()}-{done.export_id}.{'csv' if format == 'csv' else 'fix'}"
    return Response(
        b"".join(written),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
