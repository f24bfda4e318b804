"""The solver shares its process: HiGHS run first by someone else, and solver failures.

HiGHS keeps one thread scheduler per thread; a first solve that asked for two threads (as
cvxpy's or highspy's defaults do on a multi-core machine) used to make every later
single-thread solve on that thread fail at once, and the accounts silently got the fallback.
The expected optima come from enumerating every whole-share trade (``test_optimize``).
"""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from tests.unit.test_optimize import _account, _grid, _lexicographic_best, _score_one, _scores
from trimtab.core.engine import Method
from trimtab.core.reasons import Message, Status
from trimtab.optimize import SolveStatus, _highs, best_fit, minimum_transaction, propose
from trimtab.optimize import solve as solve_module


def _solve_with_two_threads_first() -> None:
    """A small MIP solved by highspy itself on this thread with a 2-thread scheduler."""
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("threads", 2)
    x = h.addVariable(0, 10, type=highspy.HighsVarType.kInteger)
    y = h.addVariable(0, 10)
    h.addConstr(x + y <= 7.5)
    h.maximize(x + 2 * y)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.val(y) == pytest.approx(7.5)


@pytest.mark.parametrize("seed", range(4))
def test_best_fit_after_another_highs_solve_in_the_process(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proofs are switched off so that HiGHS must solve; it still finds the optimum."""
    _solve_with_two_threads_first()
    monkeypatch.setattr(solve_module, "best_fit_bracket", lambda p: None)
    monkeypatch.setattr(solve_module, "minimum_transaction_shortcut", lambda p, floor: None)
    batch = _account(np.random.default_rng(500 + seed), 3, non_model=False)
    trades, _ = _grid(batch)
    s = _scores(batch, trades)
    ok = s["cash_after"] >= 0.0
    deviation, turnover = _lexicographic_best(s["deviation"], s["turnover"], ok)
    result = best_fit(batch, 0)
    assert result.status is SolveStatus.OPTIMAL
    got = _score_one(batch, result.quantity)
    assert got["deviation"] == pytest.approx(deviation, abs=0.01 + 1e-6)
    assert got["turnover"] <= turnover + 0.01 + 1e-6
    violation, least = _lexicographic_best(s["violation"], s["turnover"], ok)
    result = minimum_transaction(batch, 0)
    assert result.status is SolveStatus.OPTIMAL
    got = _score_one(batch, result.quantity)
    assert got["violation"] == pytest.approx(violation, abs=0.01 + 1e-6)
    assert got["turnover"] <= least + 0.01 + 1e-6
    _solve_with_two_threads_first()  # and the other library still solves after trimtab


def test_a_solver_failure_is_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solve that errors gives the fallback, status ``SOLVER_ERROR``, and the proposal
    says so: part success with the solver-failed message, never a silent success."""
    monkeypatch.setattr(solve_module, "best_fit_bracket", lambda p: None)
    monkeypatch.setattr(
        solve_module,
        "solve_lexicographic",
        lambda *args, **kwargs: _highs.Solution(_highs.Outcome.ERROR, None),
    )
    batch = _account(np.random.default_rng(7), 3, non_model=False)
    assert best_fit(batch, 0).status is SolveStatus.SOLVER_ERROR
    proposal = propose(batch, Method.BEST_FIT)
    assert proposal.status[0] == Status.PART_SUCCESS
    assert proposal.message[0] == Message.SOLVER_FAILED
    assert "solver failed" in Message(int(proposal.message[0])).text


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (SolveStatus.OPTIMAL, Message.NONE),
        (SolveStatus.INCUMBENT, Message.NOT_PROVEN_OPTIMAL),
        (SolveStatus.FALLBACK, Message.OPTIMISER_FALLBACK),
        (SolveStatus.SOLVER_ERROR, Message.SOLVER_FAILED),
    ],
)
def test_every_unproven_status_reaches_the_proposal(
    status: SolveStatus, message: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = _account(np.random.default_rng(11), 3, non_model=False)
    real = solve_module.best_fit

    def forced(*args: object, **kwargs: object) -> solve_module.AccountResult:
        return solve_module.AccountResult(real(*args, **kwargs).quantity, status)  # type: ignore[arg-type]

    monkeypatch.setattr(solve_module, "best_fit", forced)
    proposal = propose(batch, Method.BEST_FIT)
    assert proposal.message[0] == message
    expected = Status.SUCCESS if status is SolveStatus.OPTIMAL else Status.PART_SUCCESS
    assert proposal.status[0] == expected
