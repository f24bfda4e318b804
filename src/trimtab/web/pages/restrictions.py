"""Trade Restrictions and locks of an account, managed from Account Details (seed 001).

"+ Create New Restriction" then Exclusion, Substitution or Equivalent Securities; a
restriction's end date and end instruction can be edited, nothing else ("delete the rule
and create a new one"); a security in another restriction is refused with the seed's
conflict rule, the message beside the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from trimtab.errors import ConflictError, InputError, NotFoundError
from trimtab.service.account_details import account_details
from trimtab.service.credentials import Principal
from trimtab.service.restrictions import (
    add_lock,
    add_restriction,
    edit_restriction,
    parse_restriction,
    remove_lock,
    remove_restriction,
)
from trimtab.store.uow import UnitOfWork
from trimtab.web.deps import PageUow, Viewer, check_csrf, now
from trimtab.web.display import END_ACTIONS, LOCK_TYPES, RESTRICTION_TYPES
from trimtab.web.pages._forms import FORM, blank, field_errors, optional_date
from trimtab.web.pages._render import render, see_other
from trimtab.web.pages.accounts import AccountId, account_url, details_page

router = APIRouter()

RestrictionId = Annotated[str, Path(min_length=1, max_length=64)]
Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=64)]
MAX_MEMBERS = 20
"""A group has one to twenty members (seed 001)."""
FIELDS = ("symbol", "substitute", "replacement", "behaviour", "start_date", "end_date")
EDIT_FIELDS = ("end_date", "end_action")


def _form_page(
    request: Request,
    who: Principal,
    uow: UnitOfWork,
    account_id: str,
    kind: str | None,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    details = account_details(uow, actor=who.user_id, account_id=account_id)
    form = form or {}
    members = form.get("members") or [("", "none")]
    return render(
        request,
        "restriction_new.html",
        who,
        section="accounts",
        a=details.account,
        kind=kind if kind in RESTRICTION_TYPES else None,
        form=form,
        members=members,
        max_members=MAX_MEMBERS,
        errors=errors or {},
        url=account_url(account_id),
        status_code=status_code,
    )


@router.get("/accounts/{account_id}/restrictions/new", include_in_schema=False)
def new_restriction(
    request: Request,
    account_id: AccountId,
    who: Viewer,
    uow: PageUow,
    type: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _form_page(request, who, uow, account_id, type)


def _members(symbols: list[str], behaviours: list[str]) -> list[tuple[str, str]]:
    padded = behaviours + ["none"] * (len(symbols) - len(behaviours))
    return [(s.strip(), b) for s, b in zip(symbols, padded, strict=False)][:MAX_MEMBERS]


@router.post("/accounts/{account_id}/restrictions", include_in_schema=False)
def create_restriction(
    request: Request,
    account_id: AccountId,
    who: Viewer,
    uow: PageUow,
    type: Annotated[str, Form(max_length=20)],
    csrf_token: Csrf = "",
    symbol: Text = "",
    substitute: Text = "",
    replacement: Text = "",
    behaviour: Text = "",
    start_date: Text = "",
    end_date: Text = "",
    end_action: Text = "",
    member_symbol: Annotated[list[str] | None, Form(max_length=MAX_MEMBERS)] = None,
    member_behaviour: Annotated[list[str] | None, Form(max_length=MAX_MEMBERS)] = None,
    more: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    check_csrf(who, csrf_token)
    members = _members(member_symbol or [], member_behaviour or [])
    form: dict[str, Any] = {
        "symbol": symbol,
        "substitute": substitute,
        "replacement": replacement,
        "behaviour": behaviour,
        "start_date": start_date,
        "end_date": end_date,
        "end_action": end_action,
        "members": members,
    }
    if more and type == "equivalents":  # "+ Add Another Symbol" without JavaScript
        if len(members) < MAX_MEMBERS:
            form["members"] = [*members, ("", "none")]
        return _form_page(request, who, uow, account_id, type, form=form)
    try:
        fields = _fields(type, form)
        restriction_id = add_restriction(
            uow,
            actor=who.user_id,
            account_id=account_id,
            restriction=parse_restriction(fields),
            now=now(),
        )
    except (InputError, ConflictError) as err:
        uow.rollback()
        names = [*FIELDS, "end_action", "type", "members"]
        names += [f"members[{i}].symbol" for i in range(len(members))]
        errors = field_errors(_unprefixed(err, type), names)
        code = 409 if isinstance(err, ConflictError) else 422
        return _form_page(
            request, who, uow, account_id, type, form=form, errors=errors, status_code=code
        )
    kind = RESTRICTION_TYPES.get(type, type)
    return see_other(account_url(account_id), f"{kind} {restriction_id} created.")


def _unprefixed(err: InputError | ConflictError, kind: str) -> InputError | ConflictError:
    """The error with the restriction type taken off the field it names
    (``exclusion.symbol`` is the form's ``symbol``)."""
    if isinstance(err, InputError) and err.where.startswith(f"{kind}."):
        return InputError(err.where.removeprefix(f"{kind}."), err.problem)
    return err


def _fields(kind: str, form: dict[str, Any]) -> dict[str, Any]:
    """The restriction's fields from the form (dates read here, the rest by the service)."""
    if kind not in RESTRICTION_TYPES:
        raise InputError("type", "choose Exclusion, Substitution or Equivalent Securities")
    end = optional_date(form["end_date"], "end_date")
    if kind == "equivalents":
        members = [{"symbol": s, "behaviour": b} for s, b in form["members"] if s]
        if not members:
            raise InputError("members[0].symbol", "enter at least one symbol")
        return {"type": kind, "members": members, "end_date": end}
    fields: dict[str, Any] = {
        "type": kind,
        "symbol": form["symbol"].strip(),
        "behaviour": form["behaviour"] or None,
        "start_date": optional_date(form["start_date"], "start_date"),
    }
    if fields["start_date"] is None:
        raise InputError("start_date", "enter the start date")
    if kind == "exclusion":
        fields["replacement"] = form["replacement"] or "hold_cash"
    else:
        fields["substitute"] = form["substitute"].strip()
    if end is not None:
        fields["end_date"] = end
        if blank(form["end_action"]):
            raise InputError("end_action", "choose what happens on the end date")
        fields["end_action"] = form["end_action"]
    return {k: v for k, v in fields.items() if v is not None}


def _edit_page(
    request: Request,
    who: Principal,
    uow: UnitOfWork,
    account_id: str,
    restriction_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    details = account_details(uow, actor=who.user_id, account_id=account_id)
    found = next((r for r in details.restrictions if r.restriction_id == restriction_id), None)
    if found is None:
        raise NotFoundError(f"account {account_id!r} has no restriction {restriction_id!r}")
    r = found.restriction
    if form is None:
        form = {
            "end_date": r.end_date.isoformat() if r.end_date else "",
            "end_action": getattr(r, "end_action", None) or "",
        }
    return render(
        request,
        "restriction_edit.html",
        who,
        section="accounts",
        a=details.account,
        stored=found,
        r=r,
        form=form,
        errors=errors or {},
        end_actions=END_ACTIONS,
        url=account_url(account_id),
        status_code=status_code,
    )


@router.get("/accounts/{account_id}/restrictions/{restriction_id}/edit", include_in_schema=False)
def edit_page(
    request: Request,
    account_id: AccountId,
    restriction_id: RestrictionId,
    who: Viewer,
    uow: PageUow,
) -> Response:
    return _edit_page(request, who, uow, account_id, restriction_id)


@router.post("/accounts/{account_id}/restrictions/{restriction_id}/edit", include_in_schema=False)
def edit(
    request: Request,
    account_id: AccountId,
    restriction_id: RestrictionId,
    who: Viewer,
    uow: PageUow,
    csrf_token: Csrf = "",
    end_date: Text = "",
    end_action: Text = "",
) -> Response:
    check_csrf(who, csrf_token)
    try:
        end = optional_date(end_date, "end_date")
        action = end_action or None
        if end is None and action is not None:
            action = None  # no end date, nothing to do at the end
        edit_restriction(
            uow,
            actor=who.user_id,
            account_id=account_id,
            restriction_id=restriction_id,
            end_date=end,
            end_action=action,  # type: ignore[arg-type]  # the service checks the name
            now=now(),
        )
    except InputError as err:
        uow.rollback()
        return _edit_page(
            request,
            who,
            uow,
            account_id,
            restriction_id,
            form={"end_date": end_date, "end_action": end_action},
            errors=field_errors(err, EDIT_FIELDS),
            status_code=422,
        )
    return see_other(account_url(account_id), f"Restriction {restriction_id} saved.")


@router.post("/accounts/{account_id}/restrictions/{restriction_id}/delete", include_in_schema=False)
def delete(
    account_id: AccountId,
    restriction_id: RestrictionId,
    who: Viewer,
    uow: PageUow,
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(who, csrf_token)
    remove_restriction(
        uow, actor=who.user_id, account_id=account_id, restriction_id=restriction_id, now=now()
    )
    return see_other(account_url(account_id), f"Restriction {restriction_id} deleted.")


@router.post("/accounts/{account_id}/locks", include_in_schema=False)
def create_lock(
    request: Request,
    account_id: AccountId,
    who: Viewer,
    uow: PageUow,
    csrf_token: Csrf = "",
    lock_type: Text = "",
    lock_symbol: Text = "",
) -> Response:
    check_csrf(who, csrf_token)
    try:
        if lock_type not in LOCK_TYPES:
            raise InputError("type", "choose the kind of lock")
        add_lock(
            uow,
            actor=who.user_id,
            account_id=account_id,
            type=lock_type,  # type: ignore[arg-type]  # checked just above
            symbol=lock_symbol.strip() or None,
            now=now(),
        )
    except (InputError, ConflictError) as err:
        uow.rollback()
        errors = field_errors(err, ("type", "symbol"))
        errors = {f"lock_{k}" if k != FORM else "lock_form": v for k, v in errors.items()}
        code = 409 if isinstance(err, ConflictError) else 422
        form = {"lock_type": lock_type, "lock_symbol": lock_symbol}
        return details_page(
            request, who, uow, account_id, errors=errors, form=form, status_code=code
        )
    return see_other(account_url(account_id), f"{LOCK_TYPES[lock_type]} added.")


@router.post("/accounts/{account_id}/locks/delete", include_in_schema=False)
def delete_lock(
    account_id: AccountId,
    who: Viewer,
    uow: PageUow,
    csrf_token: Csrf = "",
    lock_type: Text = "",
    lock_symbol: Text = "",
) -> Response:
    check_csrf(who, csrf_token)
    remove_lock(
        uow,
        actor=who.user_id,
        account_id=account_id,
        type=lock_type,
        symbol=lock_symbol or None,
        now=now(),
    )
    return see_other(account_url(account_id), f"{LOCK_TYPES.get(lock_type, 'Lock')} removed.")
