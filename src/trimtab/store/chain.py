"""The audit log's hash chain: each entry's hash covers the previous entry's hash (per firm)
and the entry's own fields, so that altering, removing or reordering entries shows.

``entry_hash(previous, ...)`` is sha256 over a canonical JSON array of the previous hash
(``""`` for a firm's first chained entry), firm, actor, action, entity, entity id, the
moment in UTC to the microsecond, and the before and after JSON texts as stored.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

GENESIS = ""
"""The "previous hash" of a firm's first chained entry."""


def entry_hash(
    previous: str,
    *,
    firm_id: str,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    at: datetime,
    before: str | None,
    after: str | None,
) -> str:
    """The hex sha256 chaining an audit entry to ``previous``."""
    moment = at.astimezone(UTC).isoformat(timespec="microseconds")
    fields = [previous, firm_id, actor, action, entity, entity_id, moment, before, after]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
