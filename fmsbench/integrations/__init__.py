"""Other optimisers on fmsbench hubs: an Optuna study (`fmsbench.integrations.optuna`) or a Syne Tune scheduler
(`fmsbench.integrations.syne_tune`) tunes a hub as a tabular benchmark, every epoch paid through the replay loop.

The other way round, `fmsbench hub export --format syne-tune` writes a hub as a Syne Tune blackbox, and the
methods `optuna-*` and `syne-tune-*` run these libraries' optimisers from `fmsbench run`.
"""
