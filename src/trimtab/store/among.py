"""``column IN (values)`` for lists of any length, as one bound value.

SQLAlchemy's ``column.in_(values)`` binds one parameter per value, and a statement takes at
most 65,535 parameters on PostgreSQL (32,766 on SQLite as commonly built): a request for
70,000 accounts could not be loaded. :func:`among` sends the whole list as one value instead:
an array on PostgreSQL (``column = ANY(%(values)s)``), JSON text on SQLite
(``column IN (SELECT value FROM json_each(?))``). Both use the column's index as ``IN``
does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, Integer, String, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement


class Among(ColumnElement[bool]):
    """``column`` is one of ``values`` (texts or integers); see :func:`among`."""

    type = Boolean()
    inherit_cache = False  # the values are part of the statement's text only as one value

    def __init__(self, column: ColumnElement[Any], values: Iterable[str | int]) -> None:
        self.column = column
        self.values = list(values)

    @property
    def integers(self) -> bool:
        return bool(self.values) and all(isinstance(v, int) for v in self.values)


def among(column: ColumnElement[Any], values: Iterable[str | int]) -> Among:
    """``column IN values`` with ``values`` bound as one value, whatever their number."""
    return Among(column, values)


@compiles(Among)
def _json_each(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    values = bindparam(None, json.dumps(element.values), type_=String())
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({compiler.process(values, **kw)}))"


@compiles(Among, "postgresql")
def _any(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    kind = ARRAY(Integer() if element.integers else String())
    values = bindparam(None, element.values, type_=kind)
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(values, **kw)})"
