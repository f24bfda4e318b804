"""The exception tree of trimtab. Only entry points (CLI, API) turn these into exit codes.

TrimtabError
├── InputError            bad user input; names the record and field (exit 2 / HTTP 422)
│   ├── ScenarioError     a scenario file (``trimtab propose``)
│   └── BookError         a book folder table, row and column
├── ForbiddenError        the acting user's role does not allow it, or four eyes are needed
│                         (HTTP 403)
├── ConflictError         a request that contradicts stored state (a restriction conflict,
│                         approving a request that is no longer pending)
├── NotFoundError         a named record does not exist, or belongs to another firm (HTTP 404)
├── AuthenticationError   no valid session or API key, or a wrong password (HTTP 401)
└── RateLimitedError      too many failed sign-ins; ``retry_after`` seconds (HTTP 429)
"""

from __future__ import annotations


class TrimtabError(Exception):
    """Base of every error trimtab raises on purpose."""


class InputError(TrimtabError):
    """Input that cannot be used. ``str(err)`` is one line naming the field at fault."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        """Pickled with its fields: it crosses processes (a cluster's workers)."""
        return type(self), (self.where, self.problem)


class ScenarioError(InputError):
    """A scenario (``trimtab propose``) field is missing or invalid."""


class BookError(InputError):
    """A book table has a bad row: ``where`` is ``table.csv row N column C``."""


class ForbiddenError(TrimtabError):
    """The acting user may not do this: a missing role, or the four-eyes rule (an approver
    other than the submitter). Entry points: exit 2, HTTP 403."""


class ConflictError(TrimtabError):
    """The request contradicts stored state."""


class NotFoundError(TrimtabError):
    """A named record does not exist."""


class AuthenticationError(TrimtabError):
    """Who is asking is not known: no valid session or API key, or a wrong sign-in."""


class RateLimitedError(TrimtabError):
    """Too many failed attempts; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)
