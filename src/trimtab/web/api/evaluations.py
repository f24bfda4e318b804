"""The daily evaluation: run it, and look at its results per day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from trimtab.io.values import Day
from trimtab.service import evaluate as svc
from trimtab.service import listing
from trimtab.service.market import CHICAGO
from trimtab.web.api.params import FIRST_DAY, LAST_DAY, Limit, PageToken
from trimtab.web.api.schemas import Closed, PagePublic
from trimtab.web.deps import ApiUow, Caller, now
from trimtab.web.idempotent import Keyed, once
from trimtab.web.worker import Evaluator

router = APIRouter(prefix="/evaluations", tags=["evaluations"])


class EvaluationCreate(Closed):
    """The market day to evaluate, on the book of the market day before it (default:
    today in Chicago)."""

    as_of: Annotated[Day, Field(ge=FIRST_DAY, le=LAST_DAY)] | None = None


class EvaluationResultPublic(BaseModel):
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


class EvaluationPublic(BaseModel):
    """A day's evaluation: the market day (``as_of``), the book it read (``data_date``),
    ``status`` (``complete``, ``running`` or ``interrupted``), who started it and when, when
    it finished, and how many accounts it evaluated, flagged and skipped for a trade hold
    (so far, for a run not complete)."""

    as_of: date
    data_date: date
    status: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    evaluated: int
    flagged: int
    skipped: int


@router.get("", response_model=PagePublic[EvaluationPublic], summary="List evaluations")
def list_evaluations(
    uow: ApiUow, who: Caller, limit: Limit = 50, page_token: PageToken = None
) -> PagePublic[EvaluationPublic]:
    """Evaluation runs, newest market day first."""
    page = listing.evaluations_page(uow, actor=who.user_id, limit=limit, page_token=page_token)
    return PagePublic[EvaluationPublic](
        items=[EvaluationPublic.model_validate(e, from_attributes=True) for e in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/{as_of}", response_model=EvaluationPublic, summary="An evaluation")
def get_evaluation(
    as_of: Annotated[date, Path(ge=FIRST_DAY, le=LAST_DAY, description="The market day.")],
    uow: ApiUow,
    who: Caller,
) -> EvaluationPublic:
    found = listing.evaluation_detail(uow, actor=who.user_id, as_of=as_of)
    return EvaluationPublic.model_validate(found, from_attributes=True)


@router.post(
    "",
    status_code=201,
    response_model=EvaluationResultPublic,
    responses={
        201: {"headers": {"Location": {"schema": {"type": "string"}}}},
        202: {
            "model": EvaluationPublic,
            "description": "Accepted (with Prefer: respond-async): the run is claimed and goes "
            "on; its Location shows its status",
            "headers": {
                "Location": {"schema": {"type": "string"}},
                "Preference-Applied": {"schema": {"type": "string"}},
            },
        },
    },
    summary="Run the daily evaluation",
)
def run(
    body: EvaluationCreate,
    request: Request,
    uow: ApiUow,
    who: Caller,
    keyed: Keyed,
    prefer: Annotated[
        str | None,
        Header(
            max_length=200,
            description="respond-async: answer 202 as soon as the run is claimed (RFC 7240)",
        ),
    ] = None,
) -> JSONResponse:
    """Flag accounts for rebalancing: every account with rebalancing on and a target, on
    the book of the previous market day (404 when that book is not imported; 409 while
    another run of the day is under way). Run again, a day's results are replaced; what
    users did with its queue stays.

    Answers 201 with the results once the run is done; with ``Prefer: respond-async``, 202
    with the run (``status`` ``running``) as soon as it is claimed: the run goes on in the
    server, and ``GET`` its ``Location`` shows ``complete`` when it is done."""
    asynchronous = _respond_async(prefer)

    def work() -> tuple[int, EvaluationResultPublic | EvaluationPublic, str]:
        moment = now()
        day = body.as_of or moment.astimezone(CHICAGO).date()
        location = f"/api/v1/evaluations/{day.isoformat()}"
        if asynchronous:
            claim = svc.claim_evaluation(uow, actor=who.user_id, day=day, now=moment)
            found = listing.evaluation_detail(uow, actor=who.user_id, as_of=day)
            uow.commit()  # read before the worker writes: SQLite takes turns
            evaluator: Evaluator = request.app.state.evaluator
            if evaluator.evaluate_soon(uow, actor=who.user_id, now=moment, claim=claim) is None:
                found = listing.evaluation_detail(uow, actor=who.user_id, as_of=day)  # done
            return 202, EvaluationPublic.model_validate(found, from_attributes=True), location
        done = svc.evaluate(uow, actor=who.user_id, day=day, now=moment)
        summary = EvaluationResultPublic.model_validate(done, from_attributes=True)
        return 201, summary, location

    response = once(uow, keyed, work)
    if response.status_code == 202:
        response.headers["Preference-Applied"] = "respond-async"
    return response


def _respond_async(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header asks for ``respond-async`` (its preferences are
    separated by commas, a preference's parameters by semicolons)."""
    if not prefer:
        return False
    names = (item.split(";")[0].split("=")[0].strip().lower() for item in prefer.split(","))
    return "respond-async" in names
