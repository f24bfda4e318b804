"""The what-if: every trade logic over the firm's current book, side by side
(docs/whatif.md). A computation: it stores nothing, and a viewer may run it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from trimtab.io.values import Number, Whole
from trimtab.service.whatif import compare_firm_book
from trimtab.web.api.schemas import LOGICS, Amounts, Closed
from trimtab.web.deps import ApiUow, Caller, now
from trimtab.whatif.compare import chosen_logics
from trimtab.whatif.figures import LONG_TERM_RATE, SHORT_TERM_RATE, TaxRates
from trimtab.whatif.tables import disagreement_table, summary_table

router = APIRouter(prefix="/what-if", tags=["what-if"])

Rate = Annotated[Number, Field(ge=0, le=100, allow_inf_nan=False)]
Logic = Annotated[str, Field(json_schema_extra={"enum": list(LOGICS)})]


class WhatIfCreate(Closed):
    """The logics to compare (default: every logic; generate cash and withdrawal only with
    an amount to raise), a request's amounts for the logics that use them, the tax rates in
    percent, and how many accounts of most disagreement to list."""

    logics: Annotated[list[Logic], Field(max_length=20)] | None = None
    amounts: Amounts = Field(default_factory=Amounts)
    short_term_rate: Rate = SHORT_TERM_RATE
    long_term_rate: Rate = LONG_TERM_RATE
    top: Annotated[Whole, Field(ge=1, le=100)] = 10


class WhatIfLogic(BaseModel):
    """One logic's totals over the book (``(before)``: the book as it is); drift in points
    of value, after the logic's trades."""

    logic: str
    accounts: int
    accounts_traded: int
    trades: int
    turnover: float
    turnover_pct: float
    short_term_gain: float
    long_term_gain: float
    estimated_tax: float
    mean_drift_pct: float
    worst_drift_pct: float
    worst_account: str
    out_of_band_accounts: int
    cash: float
    needs_approval: int
    failed: int


class WhatIfAccount(BaseModel):
    """An account where the logics disagree most: the spread of its turnover and of its
    drift after across the logics, points of its value."""

    account_id: str
    value: float
    turnover_spread_pct: float
    drift_after_spread_pct: float
    most_turnover: str
    most_turnover_pct: float
    least_turnover: str
    least_turnover_pct: float


class WhatIfPublic(BaseModel):
    """The comparison: accounts, tax rates, each logic's totals, the accounts of most
    disagreement."""

    accounts: int
    short_term_rate: float
    long_term_rate: float
    logics: list[WhatIfLogic]
    disagreement: list[WhatIfAccount]


@router.post("", response_model=WhatIfPublic, summary="Compare the logics over the book")
def what_if(uow: ApiUow, who: Caller, body: WhatIfCreate | None = None) -> WhatIfPublic:
    """Every chosen logic over every account of the firm's newest book, as requests would
    propose them; nothing is stored. Without a body: every logic, the defaults."""
    body = body or WhatIfCreate()
    amounts = {k: None if v is None else float(v) for k, v in body.amounts.model_dump().items()}
    logics = chosen_logics(None if body.logics is None else ",".join(body.logics), amounts)
    rates = TaxRates(short_term=body.short_term_rate, long_term=body.long_term_rate)
    compared = compare_firm_book(
        uow, actor=who.user_id, logics=logics, amounts=amounts, rates=rates, now=now()
    )
    return WhatIfPublic(
        accounts=compared.size,
        short_term_rate=rates.short_term,
        long_term_rate=rates.long_term,
        logics=[WhatIfLogic(**r) for r in summary_table(compared).to_pylist()],
        disagreement=[
            WhatIfAccount(**r) for r in disagreement_table(compared, body.top).to_pylist()
        ],
    )
