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


def _tiny_with(tmp_path: Path, old: str, new: str, base: str = "ptm-tiny") -> Path:
    text = (RECIPES_DIR / f"{base}.toml").read_text()
    assert old in text
    return _write(tmp_path, text.replace(old, new, 1))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("batch_size = [16, 64]", "batch_size = [-16, 64]", r"grid: batch_size\[0\] must be >= 1, got -16"),
    ("batch_size = [16, 64]", "batch_size = [0, 64]", r"grid: batch_size\[0\] must be >= 1, got 0"),
    ("batch_size = [16, 64]", "batch_size = [16, 16]", "grid: batch_size must not repeat values; repeated: 16"),
    ("batch_size = [16, 64]", "batch_size = []", "grid: batch_size must not be empty"),
    ("epochs = 3", "epochs = -1", "epochs must be >= 1, got -1"),
    ("epochs = 2", "epochs = -2", r"pretrain: epochs must be >= 0, got -2"),
    ("lr = [1e-3, 1e-2, 1e-1]", "lr = [-1e-3]", r"grid: lr\[0\] must be > 0, got -0.001"),
    ("lr = [1e-3, 1e-2, 1e-1]", "lr = [nan]", r"grid: lr\[0\] must be > 0, got nan"),
    ("momentum = [0.5, 0.9]", "momentum = [1.0]", r"grid: momentum\[0\] must be in \[0, 1\), got 1.0"),
    ("weight_decay = [1e-5, 1e-3]", "weight_decay = [-1e-5]", r"weight_decay\[0\] must be >= 0"),
    ("dropout = [0.0, 0.2]", "dropout = [1.5]", r"grid: dropout\[0\] must be in \[0, 1\), got 1.5"),
    ('n_train = 200, n_val = 50, n_test = 50 }\n\n[[tasks]]\nname = "shapes"',
     'n_train = 200, n_val = -50, n_test = 50 }\n\n[[tasks]]\nname = "shapes"', "n_val must be >= 1, got -50"),
    ("n_train = 200, n_val = 50", "n_train = 0, n_val = 50", "n_train must be >= 1, got 0"),
    ("image_size = 8", "image_size = 0", "image_size must be >= 1, got 0"),
    ("image_size = 8", "image_size = 10", "image_size must be a multiple of 4 for 'vit'"),
    ("n_configs = 8", "n_configs = 0", "grid: n_configs must be >= 1, got 0"),
    ("channels = 3", "channels = 2", "channels must be one of 1, 3, got 2"),
    ('sizes = ["s"] },\n  { arch = "resnet"', 'sizes = [] },\n  { arch = "resnet"', r"models\[0\]: sizes must not be empty"),
    ('sizes = ["s"] },\n  { arch = "resnet"', 'sizes = ["s", "s"] },\n  { arch = "resnet"', "sizes must not repeat"),
    ('sizes = ["s"] },\n  { arch = "resnet"', 'sizes = ["xl"] },\n  { arch = "resnet"', "'cnn' has no size 'xl'"),
    ('{ arch = "cnn", sizes = ["s"] }', '{ arch = "mlp", sizes = ["s"] }', "unknown architecture 'mlp'"),
    ('name = "fractals"', 'name = "fractal"', "pretrain.dataset.name: unknown dataset 'fractal'"),
    ('name = "ptm-tiny"', 'name = "../../x"', "name '../../x' cannot be a file or folder name"),
    ('name = "ptm-tiny"', 'name = "/tmp/x"', "name '/tmp/x' cannot be a file or folder name"),
    ('name = "ptm-tiny"', 'name = ""', "name '' cannot be a file or folder name"),
    ('name = "digits"', 'name = "a/b"', r"tasks\[0\].name 'a/b' cannot be a file or folder name"),
    ('name = "digits"', 'name = ".."', r"tasks\[0\].name '..' cannot be a file or folder name"),
])
def test_every_value_is_range_checked_at_parse_time(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(RecipeError, match=message) as error:
        load_recipe(_tiny_with(tmp_path, old, new))
    assert "\n" not in str(error.value)


def test_an_empty_model_list_is_named_not_blamed_on_the_grid(tmp_path: Path) -> None:
    text = (RECIPES_DIR / "ptm-tiny.toml").read_text()
    start, end = text.index("models = ["), text.index("]\n\n[grid]")
    with pytest.raises(RecipeError, match="pretrain: models must not be empty"):
        load_recipe(_write(tmp_path, text[:start] + "models = [" + text[end:]))


def test_zoo_values_are_range_checked(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"zoo: n_models must be >= 1, got 0"):
        load_recipe(_tiny_with(tmp_path, "n_models = 3", "n_models = 0", base="simple-cnn-tiny"))
    with pytest.raises(RecipeError, match="zoo.arch: unknown architecture"):
        load_recipe(_tiny_with(tmp_path, "[zoo]\n", '[zoo]\narch = "mlp"\n', base="simple-cnn-tiny"))


def test_an_imported_zoo_may_train_zero_epochs(tmp_path: Path) -> None:
    recipe = load_recipe(_tiny_with(tmp_path, "epochs = 2\n", "epochs = 0\n", base="simple-cnn-tiny"))
    assert recipe.zoo is not None and recipe.zoo.epochs == 0


def test_a_recipe_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(RecipeError, match="not UTF-8 text"):
        load_recipe(path)
