"""Bodies of an account's trade restrictions and locks (docs/rules.md).

A new restriction is sent in the scenario format's ``restrictions`` entries
(:data:`trimtab.io.rules.RestrictionIn`: an exclusion, a substitution or an equivalents
group, told apart by ``type``); it comes back with its ``restriction_id``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from trimtab.io.rules import (
    EndActionName,
    EquivalentsIn,
    ExclusionIn,
    LockTypeName,
    SubstitutionIn,
)
from trimtab.io.values import Day
from trimtab.service.restrictions import StoredLock, StoredRestriction
from trimtab.web.api.schemas import Closed

RestrictionId = Annotated[str, Field(min_length=1, max_length=64)]

__all__ = [
    "LockCreate",
    "LockPublic",
    "RestrictionEdit",
    "RestrictionPublic",
    "lock_id",
    "lock_public",
    "restriction_public",
]


class ExclusionPublic(ExclusionIn):
    """An exclusion with its id."""

    restriction_id: RestrictionId


class SubstitutionPublic(SubstitutionIn):
    """A substitution with its id."""

    restriction_id: RestrictionId


class EquivalentsPublic(EquivalentsIn):
    """An equivalents group with its id."""

    restriction_id: RestrictionId


RestrictionPublic = Annotated[
    ExclusionPublic | SubstitutionPublic | EquivalentsPublic, Field(discriminator="type")
]
_PUBLIC: dict[str, type[ExclusionPublic | SubstitutionPublic | EquivalentsPublic]] = {
    "exclusion": ExclusionPublic,
    "substitution": SubstitutionPublic,
    "equivalents": EquivalentsPublic,
}


def restriction_public(
    stored: StoredRestriction,
) -> ExclusionPublic | SubstitutionPublic | EquivalentsPublic:
    """The API's shape of a stored restriction: its fields and its id."""
    r = stored.restriction
    return _PUBLIC[r.type].model_validate(
        {**r.model_dump(), "restriction_id": stored.restriction_id}
    )


class RestrictionEdit(Closed):
    """A restriction's end, as a whole: the only fields that change (to change others,
    delete the restriction and add a new one). Without ``end_date`` the restriction stays in
    force; an exclusion's or substitution's ``end_date`` needs its ``end_action``."""

    end_date: Day | None = None
    end_action: EndActionName | None = None


class LockCreate(Closed):
    """A lock: ``gain`` (on ``symbol``, or without one on the whole account), ``elective``
    or ``cost_basis_unlock`` on ``symbol``."""

    type: LockTypeName
    symbol: Annotated[str, Field(min_length=1, max_length=32)] | None = None


class LockPublic(BaseModel):
    """A lock of an account; ``lock_id`` is ``type`` or ``type:symbol``."""

    lock_id: str
    type: str
    symbol: str | None


def lock_id(type: str, symbol: str | None) -> str:
    """The id of a lock in paths: ``gain`` (the whole account) or ``elective:ABC``."""
    return type if symbol is None else f"{type}:{symbol}"


def lock_public(lock: StoredLock) -> LockPublic:
    """The API's shape of a lock."""
    return LockPublic(lock_id=lock_id(lock.type, lock.symbol), type=lock.type, symbol=lock.symbol)
