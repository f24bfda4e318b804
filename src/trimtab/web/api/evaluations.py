"""The daily evaluation: run it, and look at its results per day."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from trimtab.service import evaluate as svc
from trimtab.service.market import CHICAGO
from trimtab.web.api.params import FIRST_DAY, LAST_DAY
from trimtab.web.api.schemas import Closed
from trimtab.web.deps import ApiUow, Caller, now
from trimtab.web.idempotent import Keyed, once

router = APIRouter(prefix="/evaluations", tags=["evaluations"])


class EvaluationCreate(Closed):
    """The market day to evaluate, on the book of the market day before it (default:
    today in Chicago)."""

    as_of: Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)] | None = None


class EvaluationRunPublic(BaseModel):
    """A finished evaluation: the day, the book's date, accounts evaluated and flagged,
    those skipped for a trade hold, accounts flagged by each reason, and whether an
    interrupted run was resumed."""

    as_of: date
    data_date: date
    evaluated: int
    flagged: int
    skipped: list[str]
    resumed: bool
    by_reason: dict[str, int]


@router.post(
    "",
    status_code=201,
    response_model=EvaluationRunPublic,
    responses={201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
    summary="Run the daily evaluation",
)
def run(body: EvaluationCreate, uow: ApiUow, who: Caller, keyed: Keyed) -> JSONResponse:
    """Flag accounts for rebalancing: every account with rebalancing on and a target, on
    the book of the previous market day (404 when that book is not imported; 409 while
    another run of the day is under way). Run again, a day's results are replaced; what
    users did with its queue stays."""

    def work() -> tuple[int, EvaluationRunPublic, str]:
        moment = now()
        day = body.as_of or moment.astimezone(CHICAGO).date()
        done = svc.evaluate(uow, actor=who.user_id, day=day, now=moment)
        summary = EvaluationRunPublic.model_validate(done, from_attributes=True)
        return 201, summary, f"/api/v1/evaluations/{done.as_of.isoformat()}"

    return once(uow, keyed, work)
