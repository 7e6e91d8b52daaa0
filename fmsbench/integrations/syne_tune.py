"""An existing Syne Tune scheduler tunes one task of a hub as a tabular benchmark (the `syne-tune` extra).

    from syne_tune.optimizer.baselines import ASHA
    from fmsbench.integrations.syne_tune import config_space, tune

    scheduler = ASHA(config_space("hubs/ptm.h5"), metric="metric_valid_error", time_attr="epoch", max_t=12,
                     random_seed=0)
    result = tune(scheduler, "hubs/ptm.h5", task="digits", budget=100)

The scheduler is driven as the `syne-tune-*` methods drive theirs (`fmsbench.methods.syne_tune_schedulers`): it
sees `metric_valid_error` (1 - validation accuracy) and `epoch` after every paid epoch, over a config space of
the hub's config ids, and every epoch is charged by the replay loop. To simulate a hub in Syne Tune itself
instead, export it (`fmsbench hub export --format syne-tune`) and use Syne Tune's `UserBlackboxBackend`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fmsbench.extras import require
from fmsbench.hub.benchmark import Benchmark
from fmsbench.hub.store import HubFile
from fmsbench.methods import syne_tune_schedulers
from fmsbench.replay.loop import ReplayResult, replay

if TYPE_CHECKING:
    from syne_tune.optimizer.scheduler import TrialScheduler

METRIC = syne_tune_schedulers.METRIC
RESOURCE = syne_tune_schedulers.RESOURCE


def config_space(hub: Path | str) -> dict[str, Any]:
    """The config space a scheduler for `hub` is built on: one choice over the hub's config ids."""
    require(("syne_tune",), "syne-tune", "fmsbench.integrations.syne_tune")
    with HubFile(hub) as opened:
        return syne_tune_schedulers.config_space(len(opened.configs))


def tune(scheduler: TrialScheduler, hub: Path | str, task: str | None = None, budget: int = 100, *,
         seed: int = 0) -> ReplayResult:
    """Run `scheduler` (built on `config_space(hub)`) on `task` of `hub` for `budget` epochs; `seed` seeds the
    numpy draws Syne Tune makes from the global generator."""
    require(("syne_tune",), "syne-tune", "fmsbench.integrations.syne_tune")
    settings = {"scheduler": type(scheduler).__name__}
    method = syne_tune_schedulers.SyneTuneMethod(lambda space, max_epoch: scheduler, seed, settings)
    with Benchmark(hub, task) as bench:
        return replay(method, bench, budget)
