"""Turning pydantic's validation errors into one line that names the field at fault."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError


def field_path(loc: Sequence[int | str]) -> str:
    """``("model", "securities", 2, "target_pct")`` -> ``model.securities[2].target_pct``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def first_error(err: ValidationError, prefix: str = "") -> tuple[str, str]:
    """``(path, message)`` of the first error, with pydantic's wording made plain."""
    e = err.errors(include_url=False)[0]
    loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    path = field_path([*([prefix] if prefix else []), *loc])
    msg = str(e["msg"])
    if e["type"] == "extra_forbidden":
        msg = "unknown field"
    elif e["type"] == "missing":
        msg = "required field is missing"
    msg = msg.removeprefix("Value error, ")
    msg = msg.replace("Input should be greater than or equal to", "must be at least")
    msg = msg.replace("Input should be less than or equal to", "must be at most")
    msg = msg.replace(", unable to parse string as a number", "")
    msg = msg.replace("Input should be", "must be")
    if ", got " in msg:
        return path, msg
    if (
        "input" in e
        and e["type"] not in ("missing", "extra_forbidden")
        and not isinstance(e["input"], dict | list)
    ):
        msg = f"{msg}, got {e['input']!r}"
    return path, msg
