from pathlib import Path

import pytest

from fmsbench.build.recipe import RECIPES_DIR, load_recipe
from fmsbench.errors import RecipeError

BUNDLED = sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_recipe_parses(name: str) -> None:
    recipe = load_recipe(name)
    assert recipe.name == name
    assert recipe.tasks


@pytest.mark.parametrize("name", ["simple-cnn-paper", "ptm-paper"])
def test_paper_recipes_use_the_papers_search_space_on_real_data(name: str) -> None:
    recipe = load_recipe(name)
    assert recipe.grid.batch_size == (16, 32, 64, 128, 256, 512)
    assert recipe.grid.lr == (1e-4, 1e-3, 1e-2, 1e-1)
    assert recipe.grid.momentum == (0.1, 0.5, 0.9)
    assert len(recipe.grid.weight_decay) == 5
    assert {t.dataset.name for t in recipe.tasks} <= {"mnist", "cifar10", "svhn"}


def test_paper_scale_simple_cnn() -> None:
    recipe = load_recipe("simple-cnn-paper")
    assert recipe.grid.n_configs >= 2000 and recipe.epochs == 50


def test_ptm_paper_pretrains_on_imagenet_and_finetunes_on_three_tasks() -> None:
    recipe = load_recipe("ptm-paper")
    assert recipe.pretrain is not None and recipe.pretrain.dataset.name == "imagenet"
    assert {t.dataset.name for t in recipe.tasks} == {"mnist", "cifar10", "svhn"}
    assert {g.arch for g in recipe.pretrain.models} == {"cnn", "resnet", "vit", "deepsets"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(text)
    return path


def test_unknown_key_is_named(tmp_path: Path) -> None:
    text = (RECIPES_DIR / "ptm-tiny.toml").read_text().replace("[grid]\n", "[grid]\nlearning_rate = [0.1]\n")
    with pytest.raises(RecipeError, match="grid: unknown key.*learning_rate"):
        load_recipe(_write(tmp_path, text))


def test_wrong_type_is_named(tmp_path: Path) -> None:
    text = (RECIPES_DIR / "ptm-tiny.toml").read_text().replace("epochs = 3", 'epochs = "three"')
    with pytest.raises(RecipeError, match="epochs: expected int"):
        load_recipe(_write(tmp_path, text))


def test_unknown_bundled_name_lists_choices() -> None:
    with pytest.raises(RecipeError, match="bundled recipes: .*ptm-tiny"):
        load_recipe("no-such-recipe")


def test_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(_write(tmp_path, "name = "))
