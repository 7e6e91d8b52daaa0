"""An existing Optuna study tunes one task of a hub as a tabular benchmark (the `optuna` extra).

    import optuna
    from fmsbench.integrations.optuna import tune

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.HyperbandPruner(), study_name="my-study")
    result = tune(study, "hubs/ptm.h5", task="digits", budget=100)
    result.steps[-1].regret, study.best_trial.user_attrs["fmsbench_config"]

The study's sampler picks configs of the hub and its pruner stops them, exactly as the `optuna-*` methods do
(`fmsbench.methods.optuna_samplers`: a sampled point becomes the nearest untrained config, trials report each
paid epoch's validation accuracy when the study has a pruner), and every epoch is charged by the replay loop:
the run ends when `budget` epochs are spent, and its steps carry the regret an fmsbench method's would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fmsbench.errors import FmsbenchError
from fmsbench.extras import require
from fmsbench.hub.benchmark import Benchmark
from fmsbench.methods.optuna_samplers import OptunaSearch
from fmsbench.replay.loop import ReplayResult, replay

if TYPE_CHECKING:
    import optuna


def tune(study: optuna.Study, hub: Path | str, task: str | None = None, budget: int = 100, *,
         tau_budgets: Sequence[int] = ()) -> ReplayResult:
    """Run `study` (maximising validation accuracy, no enqueued trials) on `task` of `hub` for `budget` epochs."""
    require(("optuna",), "optuna", "fmsbench.integrations.optuna")
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    if study.directions != [StudyDirection.MAXIMIZE]:
        raise FmsbenchError("the study must maximise one objective (the validation accuracy); create it with "
                            "direction='maximize'", parameters=("study",))
    if study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        raise FmsbenchError("the study has enqueued trials; a hub decides which configs exist, so give a study "
                            "without them", parameters=("study",))
    settings = {"study": study.study_name, "sampler": type(study.sampler).__name__,
                "pruner": type(study.pruner).__name__}
    method = OptunaSearch(lambda max_epoch: study, settings)
    with Benchmark(hub, task) as bench:
        return replay(method, bench, budget, tau_budgets=tau_budgets)
