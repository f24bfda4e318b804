"""Bodies of the account routes: an account with its settings, target and holdings; its
lots; a change of its settings; its rebalancing switch history. Dollars and shares are
decimal strings, percentages numbers of percent points."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from trimtab.io.values import Day, Flag, Whole
from trimtab.web.api.schemas import Closed

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=14, decimal_places=8)]
Money = Annotated[Decimal, Field(ge=0, le=10**12, max_digits=20, decimal_places=6)]
Days = Annotated[Whole, Field(ge=0, le=36_500)]


class DriftSettings(BaseModel):
    """When the daily evaluation flags an account (docs/service.md): percent points, days
    and dollars."""

    sac_soft_pct: float
    sac_soft_days: int
    sac_hard_pct: float
    cash_high_usd: Decimal
    cash_low_pct: float
    sweep_pct: float
    sweep_min_usd: Decimal
    no_trade_days: int


class AccountSettingsPublic(DriftSettings):
    """What a user may change on an account, and how the book describes it."""

    household_id: str | None
    registration: str
    rebalancing: bool
    lot_method: str
    trade_hold: bool
    trade_hold_until: date | None
    first_seen: date


class TargetLinePublic(BaseModel):
    """A line of the account's model: percent points of the account's value."""

    symbol: str
    target_pct: float
    min_pct: float
    max_pct: float


class HoldingPublic(BaseModel):
    """A position of the newest book: shares, dollars per share, dollars, and percent of the
    account's value (cash included)."""

    symbol: str
    quantity: Decimal
    price: Decimal | None
    value: Decimal | None
    weight_pct: float | None


class AccountPublic(BaseModel):
    """An account (View Details): its settings, its model and target (or its sleeves), the
    holdings and cash (dollars) of the newest book, and the open request it waits in."""

    account_id: str
    settings: AccountSettingsPublic
    model_id: str | None
    model_version: int | None
    target: list[TargetLinePublic]
    sleeves: list[dict[str, Any]]
    apm_targets: list[dict[str, Any]]
    sleeve_positions: list[dict[str, Any]]
    book_date: date | None
    cash: Decimal | None
    holdings: list[HoldingPublic]
    open_request: int | None


class LotPublic(BaseModel):
    """A tax lot of the newest book: shares, total cost basis in dollars, date acquired."""

    symbol: str
    lot_id: str | None
    quantity: Decimal
    cost_basis: Decimal | None
    acquired: date | None


class AccountUpdate(Closed):
    """Settings to change; a field left out stays as it is. ``hold_until`` (the hold's last
    day) only with ``trade_hold: true``; drift parameters in their units."""

    rebalancing: Flag | None = None
    trade_hold: Flag | None = None
    hold_until: Day | None = None
    lot_method: Literal["fifo", "lifo", "hifo", "minimum_tax"] | None = None
    sac_soft_pct: Percent | None = None
    sac_soft_days: Days | None = None
    sac_hard_pct: Percent | None = None
    cash_high_usd: Money | None = None
    cash_low_pct: Percent | None = None
    sweep_pct: Percent | None = None
    sweep_min_usd: Money | None = None
    no_trade_days: Days | None = None


class SwitchChangePublic(BaseModel):
    """A change of the rebalancing switch: on or off from ``effective`` (a Chicago date),
    by whom and when (UTC)."""

    effective: date
    rebalancing: bool
    changed_by: str
    changed_at: datetime


class AccountSummaryPublic(BaseModel):
    """An account as a list shows it: its settings as they stand and, from the newest book
    (``book_date``), its value (dollars, cash included, to the cent) and cash (dollars);
    the three are ``null`` when the account is not in that book."""

    account_id: str
    household_id: str | None
    model_id: str | None
    registration: str
    rebalancing: bool
    trade_hold: bool
    trade_hold_until: date | None
    held_away: bool
    lot_method: str
    book_date: date | None
    value: Decimal | None
    cash: Decimal | None
