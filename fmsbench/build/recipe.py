"""Hub recipes: TOML files parsed with tomllib into frozen dataclasses; unknown keys are rejected by name.

A recipe is data, not code: it names the pretrained pool (PTM: architectures x sizes x seeds pretrained on one
dataset; Simple CNN: a zoo of one architecture trained with varied hyperparameters), the fine-tuning grid and
the fine-tuning tasks. `resolve_recipe` accepts a bundled name ("ptm", "simple-cnn-tiny", ...) or a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fmsbench.data.spec import DatasetSpec
from fmsbench.errors import RecipeError
from fmsbench.tomlconfig import build, read_toml, resolve_toml

RECIPES_DIR = Path(__file__).resolve().parents[2] / "recipes"
KINDS = ("ptm", "simple-cnn")


@dataclass(frozen=True)
class ArchitectureGroup:
    """Pretraining runs of one architecture: one per (size, seed); `lr` overrides the section's learning rate
    (small ViTs need a lower one than CNNs)."""

    arch: str
    sizes: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    lr: float | None = None


@dataclass(frozen=True)
class PretrainSection:
    """PTM pool: every (arch, size, seed) is pretrained on one dataset with these settings (`lr` per group).

    checkpoints: pretraining epochs whose weights become pool models (default: the last epoch only); several
    give each run models of graded quality, e.g. [12, 16, 20]."""

    dataset: DatasetSpec
    models: tuple[ArchitectureGroup, ...]
    epochs: int = 5
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    checkpoints: tuple[int, ...] = ()


@dataclass(frozen=True)
class ZooSection:
    """Simple CNN pool (Unterthiner et al. 2020 style): n_models runs of one architecture, each with
    hyperparameters drawn (seeded) from these lists.

    `source` names an imported zoo file (`fmsbench zoo import`, path relative to the working directory): the pool
    is then its first n_models models, only evaluated on `dataset`, and the training keys here are unused.
    checkpoints: epochs of each zoo run kept as pool models (default: the last only), as the Unterthiner et al. zoo
    keeps several epochs of every run: n_models runs give n_models x len(checkpoints) models."""

    dataset: DatasetSpec
    n_models: int
    source: str | None = None
    arch: str = "simple-cnn"
    size: str = "s"
    epochs: int = 10
    batch_size: int = 64
    optimizer: tuple[str, ...] = ("sgd", "adam")
    lr: tuple[float, ...] = (1e-3, 1e-2)
    weight_decay: tuple[float, ...] = (0.0, 1e-4, 1e-3)
    dropout: tuple[float, ...] = (0.0, 0.1)
    init: tuple[str, ...] = ("kaiming_normal", "xavier_uniform", "orthogonal")
    checkpoints: tuple[int, ...] = ()


@dataclass(frozen=True)
class GridSection:
    """The fine-tuning search space; n_configs are sampled from the full grid without replacement."""

    n_configs: int
    batch_size: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    lr: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1)
    momentum: tuple[float, ...] = (0.1, 0.5, 0.9)
    weight_decay: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    dropout: tuple[float, ...] = (0.0, 0.2)


@dataclass(frozen=True)
class TaskSection:
    name: str
    dataset: DatasetSpec


@dataclass(frozen=True)
class Recipe:
    name: str
    kind: str
    epochs: int
    grid: GridSection
    tasks: tuple[TaskSection, ...]
    pretrain: PretrainSection | None = None
    zoo: ZooSection | None = None
    seed: int = 0
    image_size: int = 16
    channels: int = 3
    weights_dtype: str = "float16"
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
    recipe = build(Recipe, data, str(path), text=text)
    _validate(recipe, str(path))
    return recipe


def _validate(recipe: Recipe, where: str) -> None:
    if recipe.kind not in KINDS:
        raise RecipeError(f"{where}: kind must be one of {', '.join(KINDS)}, got '{recipe.kind}'")
    if (recipe.kind == "ptm") != (recipe.pretrain is not None) or (recipe.kind == "simple-cnn") != (recipe.zoo is not None):
        raise RecipeError(f"{where}: a 'ptm' recipe needs a [pretrain] section, a 'simple-cnn' recipe a [zoo] section (not both)")
    if recipe.weights_dtype not in ("float16", "float32"):
        raise RecipeError(f"{where}: weights_dtype must be float16 or float32")
    if recipe.channels not in (1, 3):
        raise RecipeError(f"{where}: channels must be 1 or 3")
    if recipe.epochs < 1 or recipe.grid.n_configs < 1 or not recipe.tasks:
        raise RecipeError(f"{where}: epochs and grid.n_configs must be positive and at least one [[tasks]] given")
    if len({t.name for t in recipe.tasks}) != len(recipe.tasks):
        raise RecipeError(f"{where}: task names must be unique")
