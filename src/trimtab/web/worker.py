"""Proposing large requests, and evaluations asked for asynchronously, away from the HTTP
call that asked for them.

``POST /api/v1/requests`` stores the request as ``proposing`` and answers at once; a worker
thread here then proposes it (:func:`trimtab.service.requests.propose_request`). The claim
on a request is the service's, so several servers on one database never propose it twice,
and a server that starts picks up what a stopped one left ``proposing``.

``POST /api/v1/evaluations`` with ``Prefer: respond-async`` claims the day's run (its lease,
:func:`trimtab.service.evaluate.claim_evaluation`) and answers at once; a thread of its own
here then evaluates under that claim. A server that stops mid-run lets the lease lapse: the
run shows ``interrupted`` and the next evaluation of the day resumes it.
"""

from __future__ import annotations

import logging
import threading
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
        self._lock = threading.Lock()

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
        with self._lock:  # one pool, however many calls come at once
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
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class Evaluator:
    """Runs claimed evaluations, each on a thread of its own as soon as it is claimed (so
    its lease is renewed from the start, and one firm's run never waits behind another's);
    ``enabled`` off: within the call, as tests may want. At most one run per firm and day
    is claimed at a time, so the threads are few."""

    def __init__(self, engine: Engine, *, enabled: bool = True) -> None:
        self.engine = engine
        self.enabled = enabled
        self._lock = threading.Lock()
        self._running: set[threading.Thread] = set()

    def evaluate_soon(
        self, uow: UnitOfWork, *, actor: str, now: datetime, claim: Claim
    ) -> threading.Thread | None:
        """Evaluate the run ``claim`` holds: on a thread of its own, or within this call
        (on ``uow``) when the worker is off."""
        if not self.enabled:
            evaluate(uow, actor=actor, day=claim.day, now=now, claim=claim)
            return None
        thread = threading.Thread(
            target=self._evaluate,
            args=(uow.firm_id, actor, now, claim),
            name=f"trimtab-evaluate-{uow.firm_id}-{claim.day}",
            daemon=False,  # a run under way is finished, not cut off, when the server stops
        )
        with self._lock:
            self._running.add(thread)
        thread.start()
        return thread

    def _evaluate(self, firm_id: str, actor: str, now: datetime, claim: Claim) -> None:
        """One claimed run; a failure leaves the run ``interrupted`` (its lease let go)."""
        try:
            with UnitOfWork(self.engine, firm_id) as uow:
                evaluate(uow, actor=actor, day=claim.day, now=now, claim=claim)
        except Exception:
            log.exception("evaluating %s of firm %s", claim.day, firm_id)
        finally:
            with self._lock:
                self._running.discard(threading.current_thread())

    def shutdown(self) -> None:
        """Finish the runs under way."""
        with self._lock:
            running = list(self._running)
        for thread in running:
            thread.join()
