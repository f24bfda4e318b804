"""Proposing large requests, and evaluations asked for asynchronously, away from the HTTP
call that asked for them.

``POST /api/v1/requests`` stores the request as ``proposing`` and answers at once; a worker
thread here then proposes it (:func:`trimtab.service.requests.propose_request`). The claim
on a request is the service's, so several servers on one database never propose it twice,
and a server that starts picks up what a stopped one left ``proposing``.

``POST /api/v1/evaluations`` with ``Prefer: respond-async`` claims the day's run (its lease,
:func:`trimtab.service.evaluate.claim_evaluation`) and answers at once; a worker thread here
then evaluates under that claim. A server that stops mid-run lets the lease lapse: the run
shows ``interrupted`` and the next evaluation of the day resumes it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from trimtab.service.evaluate import Claim, evaluate
from trimtab.service.requests import propose_request, proposing_requests
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

log = logging.getLogger("trimtab.web")

INLINE_ACCOUNTS = 50
"""Requests of at most this many accounts are proposed within the call that submits them."""


class Proposer:
    """A one-thread pool that proposes submitted requests in order."""

    def __init__(self, engine: Engine, *, enabled: bool = True) -> None:
        self.engine = engine
        self.enabled = enabled
        self._pool: ThreadPoolExecutor | None = None

    def propose_soon(
        self, uow: UnitOfWork, *, request_id: int, accounts: int, now: datetime
    ) -> str:
        """Propose the just-opened request ``request_id`` of ``accounts`` accounts: within
        this call when it is small (or the worker is off), else on the worker thread.
        Returns its status (``proposing`` while the worker has it)."""
        from trimtab.service.requests import propose_request

        if not self.enabled or accounts <= INLINE_ACCOUNTS:
            return propose_request(uow, request_id=request_id, now=now).status
        self.submit(uow.firm_id, request_id)
        return "proposing"

    def submit(self, firm_id: str, request_id: int) -> Future[None]:
        """Propose request ``request_id`` of ``firm_id`` on the worker thread."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trimtab-propose")
        return self._pool.submit(self.propose, firm_id, request_id)

    def propose(self, firm_id: str, request_id: int) -> None:
        """Propose one request now; a failure is the request's (its status says so)."""
        try:
            with UnitOfWork(self.engine, firm_id) as uow:
                propose_request(uow, request_id=request_id, now=datetime.now(UTC))
        except Exception:  # the service records the failure on the request itself
            log.exception("proposing request %s of firm %s", request_id, firm_id)

    def resume(self) -> None:
        """Queue every request any firm left ``proposing``."""
        if not self.enabled:
            return
        with self.engine.connect() as conn:
            firms = conn.execute(select(t.firms.c.firm_id)).scalars().all()
        for firm_id in firms:
            with UnitOfWork(self.engine, firm_id) as uow:
                waiting = proposing_requests(uow)
            for request_id in waiting:
                self.submit(firm_id, request_id)

    def shutdown(self) -> None:
        """Finish the request being proposed and stop; requests still waiting stay
        ``proposing`` for the next start (:meth:`resume`)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class Evaluator:
    """A one-thread pool that runs claimed evaluations, one at a time (``enabled`` off:
    within the call, as tests may want)."""

    def __init__(self, engine: Engine, *, enabled: bool = True) -> None:
        self.engine = engine
        self.enabled = enabled
        self._pool: ThreadPoolExecutor | None = None

    def evaluate_soon(
        self, uow: UnitOfWork, *, actor: str, now: datetime, claim: Claim
    ) -> Future[None] | None:
        """Evaluate the run ``claim`` holds: on the worker thread, or within this call
        (on ``uow``) when the worker is off."""
        if not self.enabled:
            evaluate(uow, actor=actor, day=claim.day, now=now, claim=claim)
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trimtab-evaluate")
        return self._pool.submit(self._evaluate, uow.firm_id, actor, now, claim)

    def _evaluate(self, firm_id: str, actor: str, now: datetime, claim: Claim) -> None:
        """One claimed run; a failure leaves the run ``interrupted`` (its lease let go)."""
        try:
            with UnitOfWork(self.engine, firm_id) as uow:
                evaluate(uow, actor=actor, day=claim.day, now=now, claim=claim)
        except Exception:
            log.exception("evaluating %s of firm %s", claim.day, firm_id)

    def shutdown(self) -> None:
        """Finish the run under way and stop."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
