"""Hub recipes: TOML files parsed with tomllib into frozen dataclasses; unknown keys are rejected by name.

A recipe is data, not code: it names the pretrained pool (PTM: architectures x sizes x seeds pretrained on one
dataset; Simple CNN: a zoo of one architecture trained with varied hyperparameters), the fine-tuning grid and
the fine-tuning tasks. `resolve_recipe` accepts a bundled name ("ptm", "simple-cnn-tiny", ...) or a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fmsbench.data import DATASETS
from fmsbench.data.spec import DatasetSpec
from fmsbench.errors import RecipeError
from fmsbench.models import MODELS, sizes_of
from fmsbench.paths import unsafe_reason
from fmsbench.tomlconfig import build, checked, read_toml, resolve_toml

RECIPES_DIR = Path(__file__).resolve().parents[2] / "recipes"
KINDS = ("ptm", "simple-cnn")


POSITIVE = {"low": 0, "low_open": True}  # > 0
AT_LEAST_0 = {"low": 0}
AT_LEAST_1 = {"low": 1}
FRACTION = {"low": 0, "high": 1, "high_open": True}  # in [0, 1)
LIST = {"nonempty": True, "unique": True}


@dataclass(frozen=True)
class ArchitectureGroup:
    """Pretraining runs of one architecture: one per (size, seed); `lr` overrides the section's learning rate
    (small ViTs need a lower one than CNNs)."""

    arch: str
    sizes: tuple[str, ...] = checked(**LIST)
    seeds: tuple[int, ...] = checked((0,), **AT_LEAST_0, **LIST)
    lr: float | None = checked(None, **POSITIVE)


@dataclass(frozen=True)
class PretrainSection:
    """PTM pool: every (arch, size, seed) is pretrained on one dataset with these settings (`lr` per group; epochs
    = 0: the models keep their random initialisation and are only evaluated).

    checkpoints: pretraining epochs whose weights become pool models (default: the last epoch only); several
    give each run models of graded quality, e.g. [12, 16, 20]."""

    dataset: DatasetSpec
    models: tuple[ArchitectureGroup, ...] = checked(nonempty=True)
    epochs: int = checked(5, **AT_LEAST_0)
    batch_size: int = checked(128, **AT_LEAST_1)
    optimizer: str = "sgd"
    lr: float = checked(0.05, **POSITIVE)
    momentum: float = checked(0.9, **FRACTION)
    weight_decay: float = checked(5e-4, **AT_LEAST_0)
    checkpoints: tuple[int, ...] = checked((), **AT_LEAST_1, unique=True)


@dataclass(frozen=True)
class ZooSection:
    """Simple CNN pool (Unterthiner et al. 2020 style): n_models runs of one architecture, each with
    hyperparameters drawn (seeded) from these lists.

    `source` names an imported zoo file (`fmsbench zoo import`, path relative to the working directory): the pool
    is then its first n_models models, only evaluated on `dataset`, and the training keys here are unused.
    checkpoints: epochs of each zoo run kept as pool models (default: the last only), as the Unterthiner et al. zoo
    keeps several epochs of every run: n_models runs give n_models x len(checkpoints) models."""

    dataset: DatasetSpec
    n_models: int = checked(**AT_LEAST_1)
    source: str | None = None
    arch: str = "simple-cnn"
    size: str = "s"
    epochs: int = checked(10, **AT_LEAST_0)
    batch_size: int = checked(64, **AT_LEAST_1)
    optimizer: tuple[str, ...] = checked(("sgd", "adam"), **LIST)
    lr: tuple[float, ...] = checked((1e-3, 1e-2), **POSITIVE, **LIST)
    weight_decay: tuple[float, ...] = checked((0.0, 1e-4, 1e-3), **AT_LEAST_0, **LIST)
    dropout: tuple[float, ...] = checked((0.0, 0.1), **FRACTION, **LIST)
    init: tuple[str, ...] = checked(("kaiming_normal", "xavier_uniform", "orthogonal"), **LIST)
    checkpoints: tuple[int, ...] = checked((), **AT_LEAST_1, unique=True)


@dataclass(frozen=True)
class GridSection:
    """The fine-tuning search space; n_configs are sampled from the full grid without replacement."""

    n_configs: int = checked(**AT_LEAST_1)
    batch_size: tuple[int, ...] = checked((16, 32, 64, 128, 256, 512), **AT_LEAST_1, **LIST)
    lr: tuple[float, ...] = checked((1e-4, 1e-3, 1e-2, 1e-1), **POSITIVE, **LIST)
    momentum: tuple[float, ...] = checked((0.1, 0.5, 0.9), **FRACTION, **LIST)
    weight_decay: tuple[float, ...] = checked((1e-5, 1e-4, 1e-3, 1e-2, 1e-1), **AT_LEAST_0, **LIST)
    dropout: tuple[float, ...] = checked((0.0, 0.2), **FRACTION, **LIST)


@dataclass(frozen=True)
class TaskSection:
    name: str
    dataset: DatasetSpec


@dataclass(frozen=True)
class Recipe:
    name: str
    kind: str = checked(choices=KINDS)
    epochs: int = checked(**AT_LEAST_1)
    grid: GridSection
    tasks: tuple[TaskSection, ...] = checked(nonempty=True)
    pretrain: PretrainSection | None = None
    zoo: ZooSection | None = None
    seed: int = checked(0, **AT_LEAST_0)
    image_size: int = checked(16, **AT_LEAST_1)
    channels: int = checked(3, choices=(1, 3))
    weights_dtype: str = checked("float16", choices=("float16", "float32"))
    text: str = field(default="", compare=False, repr=False, metadata={"toml": False})


def resolve_recipe(name_or_path: str | Path) -> Path:
    """A bundled recipe name (see recipes/) or a path to a .toml file."""
    return resolve_toml(name_or_path, RECIPES_DIR, "recipe")


def choose_recipe(argument: str, override: str | None = None) -> Recipe:
    """The recipe a command names: `argument` (bundled name or path), or `override` instead when given; if
    `argument` is then a hub kind ("ptm", "simple-cnn"), `override` must be a recipe of that kind."""
    recipe = load_recipe(override or argument)
    if override and argument in KINDS and recipe.kind != argument:
        raise RecipeError(f"{override} is a '{recipe.kind}' recipe, not a '{argument}' one")
    return recipe


def load_recipe(name_or_path: str | Path) -> Recipe:
    path = resolve_recipe(name_or_path)
    data, text = read_toml(path)
    return parse_recipe(data, str(path), text)


def parse_recipe(data: dict, where: str, text: str = "") -> Recipe:
    """A recipe from its TOML table, every key checked (type, range, names); `where` names it in errors."""
    recipe = build(Recipe, data, where, text=text)
    _validate(recipe, where)
    return recipe


def _validate(recipe: Recipe, where: str) -> None:
    """What no single key can check: sections that go together, names that become files, registered names."""
    if (recipe.kind == "ptm") != (recipe.pretrain is not None) or (recipe.kind == "simple-cnn") != (recipe.zoo is not None):
        raise RecipeError(f"{where}: a 'ptm' recipe needs a [pretrain] section, a 'simple-cnn' recipe a [zoo] section (not both)")
    for key, name in (("name", recipe.name), *((f"tasks[{i}].name", t.name) for i, t in enumerate(recipe.tasks))):
        if (reason := unsafe_reason(name)) is not None:
            raise RecipeError(f"{where}: {key} {name!r} cannot be a file or folder name ({reason}); use a plain name")
    if len({t.name for t in recipe.tasks}) != len(recipe.tasks):
        raise RecipeError(f"{where}: task names must be unique")
    pool = recipe.pretrain or recipe.zoo
    datasets = [("pretrain.dataset" if recipe.pretrain else "zoo.dataset", pool.dataset)]  # type: ignore[union-attr]
    for key, spec in [*datasets, *((f"tasks[{i}].dataset", t.dataset) for i, t in enumerate(recipe.tasks))]:
        if spec.name not in DATASETS.names():
            raise RecipeError(f"{where}: {key}.name: unknown dataset '{spec.name}'; choose one of: "
                              f"{', '.join(DATASETS.names())}")
    if recipe.pretrain is not None:
        architectures = [(f"pretrain.models[{i}]", g.arch, g.sizes) for i, g in enumerate(recipe.pretrain.models)]
    else:
        architectures = [("zoo", recipe.zoo.arch, (recipe.zoo.size,))]  # type: ignore[union-attr]
    for key, arch, sizes in architectures:
        _check_architecture(recipe, where, key, arch, sizes)


def _check_architecture(recipe: Recipe, where: str, key: str, arch: str, sizes: tuple[str, ...]) -> None:
    if arch not in MODELS.names():
        raise RecipeError(f"{where}: {key}.arch: unknown architecture '{arch}'; choose one of: {', '.join(MODELS.names())}")
    unknown = [size for size in sizes if size not in sizes_of(arch)]
    if unknown:
        raise RecipeError(f"{where}: {key}: '{arch}' has no size '{unknown[0]}'; choose from: {', '.join(sizes_of(arch))}")
    multiple = MODELS.meta(arch).get("image_size_multiple", 1)
    if recipe.image_size % multiple:
        raise RecipeError(f"{where}: image_size must be a multiple of {multiple} for '{arch}' "
                          f"({MODELS.meta(arch)['image_size_why']}), got {recipe.image_size}")
