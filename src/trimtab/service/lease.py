"""Leases: which live process owns a piece of long work stored in the database.

A row being worked on (an evaluation run, a request being proposed) names its owner
(:func:`lease_owner`) and the moment its claim lapses (``lease_until``, :data:`LEASE` after
the claim or its last renewal). Another process may take the work over once the lease has
lapsed, or at once when the owner was a process of this host that is gone.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

LEASE = timedelta(seconds=120)
"""How long a claim lasts without renewal."""


def wall_clock() -> datetime:
    """The machine's clock, UTC (leases are about live processes, not the acting moment)."""
    return datetime.now(UTC)


def lease_owner() -> str:
    """This process as a lease owner: ``host:pid:nonce`` (the nonce tells apart two claims
    of one process, say two threads)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str | None) -> bool:
    """Whether the lease's owner may still be running: a process of this host that is gone
    (killed, say) holds nothing; of another host nothing is known, so the lease stands."""
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def lease_held(owner: str | None, until: datetime | None) -> bool:
    """Whether a lease still binds: not lapsed (``until`` after now) and its owner alive."""
    return until is not None and until > wall_clock() and owner_alive(owner)
