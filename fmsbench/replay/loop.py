"""The replay loop: charge what a method asks for, reveal what it paid for, record every step.

Protocol (DESIGN.md "Replay protocol"; DyHPO, Wistuba et al. 2022, arXiv 2202.09774):
- State: b_c epochs trained per config, all 0 at the start. At each step the method proposes (c, b) with
  b > b_c, c in the candidate pool (every config below the max epoch). The loop charges b - b_c epochs and
  the recorded wall seconds of epochs b_c+1..b, sets b_c = b, and the method sees the new curve values and
  checkpoints through its `Observation`.
- Budget: the run stops once the cumulative epochs reach the budget (or the pool is empty). A proposal
  that costs more than the remaining budget is truncated to it (b = b_c + remaining), so every run spends
  exactly its budget and "regret at the budget" compares methods at the same cost.
- Incumbent: the best validation accuracy over every epoch paid so far (ties keep the earlier one); its
  test accuracy is recorded but never shown to the method.
- Kendall's taus (`fmsbench.metrics.Taus`) are measured when the cumulative epochs first reach each tau budget,
  from the method's `forecast` at the max epoch and at each config's next epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from fmsbench.errors import FmsbenchError
from fmsbench.hub.benchmark import Benchmark
from fmsbench.metrics import Taus, normalised_regret, regret, surrogate_taus
from fmsbench.replay.observation import Observation
from fmsbench.replay.protocol import Method, Proposal
from fmsbench.replay.trajectory import StepRecord


class ProposalError(FmsbenchError):
    """A method proposed something the protocol forbids (unknown config, finished config, epoch not ahead)."""


@dataclass
class ReplayResult:
    steps: list[StepRecord]
    tau: dict[int, Taus | None] = field(default_factory=dict)


def replay(
    method: Method,
    bench: Benchmark,
    budget: int,
    *,
    tau_budgets: Sequence[int] = (),
    on_step: Callable[[StepRecord], None] | None = None,
) -> ReplayResult:
    """Run `method` on `bench` until `budget` epochs are spent; return every step and the taus per tau budget."""
    if budget < 1:
        raise FmsbenchError(f"the budget must be at least 1 epoch, got {budget}")
    trained = np.zeros(bench.n_configs, dtype=np.int64)
    obs = Observation(bench, trained, budget)
    val, test, seconds = (bench.all_curves(m) for m in ("val_acc", "test_acc", "seconds"))
    y_star, worst = bench.best_val, bench.worst_final_val
    pending_tau = sorted(set(tau_budgets))
    result = ReplayResult([], {b: None for b in pending_tau})
    incumbent_val, incumbent_test, cum_seconds = float("-inf"), float("nan"), 0.0

    while obs.spent < budget and obs.candidates().size:
        raw = method.propose(obs)
        proposal = Proposal(int(raw.config), int(raw.epoch))  # numpy ints from a method are fine
        _check(proposal, trained, bench.max_epoch)
        start = int(trained[proposal.config])
        reached = min(proposal.epoch, start + budget - obs.spent)
        trained[proposal.config] = reached
        paid = slice(start + 1, reached + 1)
        cum_seconds += float(seconds[proposal.config, paid].sum())
        best = start + 1 + int(np.argmax(val[proposal.config, paid]))
        if val[proposal.config, best] > incumbent_val:
            incumbent_val = float(val[proposal.config, best])
            incumbent_test = float(test[proposal.config, best])
        record = StepRecord(
            step=len(result.steps) + 1,
            config=proposal.config,
            epoch=reached,
            cost=reached - start,
            cum_epochs=obs.spent,
            cum_seconds=cum_seconds,
            val_acc=float(val[proposal.config, reached]),
            incumbent_val=incumbent_val,
            incumbent_test=incumbent_test,
            regret=regret(y_star, incumbent_val),
            normalised_regret=normalised_regret(y_star, worst, incumbent_val),
            fit_seconds=method.fit_seconds,
        )
        if pending_tau and obs.spent >= pending_tau[0]:
            record.tau = _taus(method, obs, val)
            while pending_tau and obs.spent >= pending_tau[0]:
                result.tau[pending_tau.pop(0)] = record.tau
        result.steps.append(record)
        if on_step is not None:
            on_step(record)
    return result


def _check(proposal: Proposal, trained: np.ndarray, max_epoch: int) -> None:
    config, epoch = proposal.config, proposal.epoch
    if not 0 <= config < trained.size:
        raise ProposalError(f"proposed config {config} does not exist (the hub has configs 0..{trained.size - 1})")
    if trained[config] >= max_epoch:
        raise ProposalError(f"proposed config {config} is already trained to the max epoch {max_epoch}")
    if not trained[config] < epoch <= max_epoch:
        raise ProposalError(
            f"proposed epoch {epoch} for config {config} must be in {trained[config] + 1}..{max_epoch}"
        )


def _taus(method: Method, obs: Observation, val: np.ndarray) -> Taus | None:
    """The method's taus now, or None without a surrogate (or before it has one)."""
    if not method.has_surrogate:
        return None
    trained = obs.trained()
    final = method.forecast(obs, np.full(trained.size, obs.max_epoch))
    following = method.forecast(obs, np.minimum(trained + 1, obs.max_epoch))
    if final is None or following is None:
        return None
    return surrogate_taus(np.asarray(final, float), np.asarray(following, float), trained, val)
