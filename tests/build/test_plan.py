from fmsbench.build.plan import make_plan
from fmsbench.build.recipe import load_recipe


def test_configs_are_sampled_without_replacement_and_seeded() -> None:
    recipe = load_recipe("ptm-tiny")
    first, second = make_plan(recipe).configs, make_plan(recipe).configs
    assert first.equals(second)
    hyper = ["model", "batch_size", "lr", "momentum", "weight_decay", "dropout"]
    assert not first.duplicated(subset=hyper).any()
    assert len(first) == recipe.grid.n_configs


def test_every_hyperparameter_reaches_the_job_key() -> None:
    plan = make_plan(load_recipe("ptm-tiny"))
    keys = {job.key for job in plan.finetune_jobs}
    assert len(keys) == len(plan.finetune_jobs)
    job = plan.finetune_jobs[0]
    import dataclasses

    for field in ("batch_size", "lr", "momentum", "weight_decay", "dropout", "seed"):
        value = getattr(job.settings, field)
        changed = dataclasses.replace(job, settings=dataclasses.replace(job.settings, **{field: value * 2 + 1}))
        assert changed.key != job.key, field


def test_zoo_models_vary_their_training_hyperparameters() -> None:
    plan = make_plan(load_recipe("simple-cnn-tiny"))
    settings = {(m.settings.optimizer, m.settings.lr, m.settings.weight_decay, m.settings.init) for m in plan.models}
    assert len(plan.models) == 3 and len(settings) > 1
    assert len({m.seed for m in plan.models}) == 3
