"""Settings read from the environment, in one place.

============================  ==============================================================
variable                      meaning (default)
============================  ==============================================================
``TRIMTAB_DATABASE_URL``      the database: ``sqlite:///path/trimtab.db`` or
                              ``postgresql+psycopg://user@host:5432/db``
                              (default ``sqlite:///trimtab.db``, the file ``./trimtab.db``)
``TRIMTAB_FIRM``              the firm every command works on (no default)
``TRIMTAB_USER``              who acts, recorded in the audit log (no default)
============================  ==============================================================

A variable that is unset or empty takes its default. Command-line options (``--db``,
``--firm``, ``--user``) win over these; entry points read :meth:`Settings.from_env` once and
hand the values on, so the rest of the code takes them as arguments.

``TRIMTAB_TEST_POSTGRES_URL`` is read by the tests and benchmarks only (a PostgreSQL server to
run them on as well), not by the package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_DATABASE_URL", "ENV", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///trimtab.db"
"""The SQLite file ``trimtab.db`` in the current folder."""

ENV = {"database_url": "TRIMTAB_DATABASE_URL", "firm": "TRIMTAB_FIRM", "user": "TRIMTAB_USER"}
"""The variable of each setting (the command line's ``--db``, ``--firm`` and ``--user`` read
them too)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the environment says.

    Attributes:
        database_url: SQLAlchemy URL of the database (``TRIMTAB_DATABASE_URL``).
        firm: firm id (``TRIMTAB_FIRM``), ``None`` when not set.
        user: acting user id (``TRIMTAB_USER``), ``None`` when not set.
    """

    database_url: str = DEFAULT_DATABASE_URL
    firm: str | None = None
    user: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``environ`` (default :data:`os.environ`); unset or empty
        variables take their defaults."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get(ENV["database_url"]) or DEFAULT_DATABASE_URL,
            firm=env.get(ENV["firm"]) or None,
            user=env.get(ENV["user"]) or None,
        )
