"""Which budgets a report shows: those asked for that some run reached, or by default those the runs reached."""

from __future__ import annotations

from fmsbench.replay.trajectory import Trajectory
from fmsbench.report.load import ResultsError


def spent(trajectory: Trajectory) -> int:
    return trajectory.steps[-1].cum_epochs if trajectory.steps else 0


def reached_budgets(trajectories: list[Trajectory]) -> list[int]:
    """The budgets the runs reached: each run's tau budgets up to the epochs it spent, and those epochs (its
    budget, or less when it trained every config to the end first)."""
    return sorted({b for t in trajectories for b in (*t.meta.tau_budgets, spent(t)) if 0 < b <= spent(t)})


def choose_budgets(trajectories: list[Trajectory], budgets: list[int] | None) -> tuple[list[int], list[str]]:
    """`budgets` without those beyond every run, and a note naming them; None: the budgets the runs reached."""
    if budgets is None:
        return reached_budgets(trajectories), []
    longest = max(spent(t) for t in trajectories)
    beyond = [b for b in budgets if b > longest]
    kept = [b for b in budgets if b <= longest]
    listed = ", ".join(map(str, beyond))
    if not kept:
        raise ResultsError(f"no run reached {listed} epochs (the longest spent {longest}); choose budgets up to "
                           f"{longest}, or leave them out for the ones the runs reached", parameters=("budgets",))
    notes = [f"budget {listed} left out: beyond every run (the longest spent {longest} epochs)"] if beyond else []
    return kept, notes
