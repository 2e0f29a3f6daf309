"""Recipes and build configuration: every recipe loads, overrides and errors are clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.pipelines.config import config_hash, load_recipe

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO_ROOT / "datasets").glob("*.yaml"))


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_loads_and_is_named_after_its_file(recipe: Path):
    config = load_recipe(recipe)
    assert config.name == recipe.stem
    assert config.inputs, "a recipe names its inputs"
    assert len(config_hash(config)) == 64


def test_default_pretraining_recipe_leaves_out_the_gpgpu_suites():
    config = load_recipe("pretrain-c-cpp-v1")
    assert config.exclude_evaluation_kernels
    assert not any("gpgpu" in spec.path for spec in config.inputs)
    assert any("gpgpu" in spec.path for spec in load_recipe("gpgpu-ablation-v1").inputs)


def test_overrides_change_the_hash_and_are_checked():
    config = load_recipe("demo-v1")
    changed = load_recipe("demo-v1", ["compile.opt_level=O0", "shards.max_records=3"])
    assert changed.compile.opt_level == "O0" and changed.shards.max_records == 3
    assert config_hash(changed) != config_hash(config)
    with pytest.raises(ConfigError) as error:
        load_recipe("demo-v1", ["compile.nope=1", "shards.max_records", "vocab.x.y=2"])
    assert len(error.value.problems) == 3


def test_unknown_recipe_lists_the_known_ones():
    with pytest.raises(ConfigError, match="demo-v1"):
        load_recipe("no-such-recipe")


def test_bad_values_are_rejected(tmp_path: Path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("name: bad\nsplit: {validation_fraction: 0.6, test_fraction: 0.6}\n")
    with pytest.raises(ConfigError, match="fractions"):
        load_recipe(recipe)
    recipe.write_text("name: bad\nunknown_key: 1\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_recipe(recipe)


def test_override_of_an_integral_float_keeps_the_recipe_hash():
    # "60" and YAML's 60 are the same int, so a recipe hash does not depend on the spelling.
    recipe = load_recipe("pretrain-c-cpp-v1")
    assert recipe.compile.timeout_s == 60 and isinstance(recipe.compile.timeout_s, int)
    again = load_recipe("pretrain-c-cpp-v1", ["compile.timeout_s=60"])
    assert config_hash(again) == config_hash(recipe)


def test_a_bare_string_input_is_its_path(tmp_path: Path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\ninputs: [datasets/demo-corpus]\n")
    assert load_recipe(recipe).inputs[0].path == "datasets/demo-corpus"


def test_a_build_made_before_a_setting_existed_keeps_its_hash(tmp_path: Path):
    """An older build stored its settings without ``newer_ir`` or ``archives``: with those at
    their defaults the plan is the same and the build resumes; set otherwise it is not."""
    import json

    from mirencoder.pipelines import build
    from mirencoder.pipelines.config import config_to_dict

    config = load_recipe("demo-v1")
    old = config_to_dict(config)
    del old["newer_ir"], old["archives"], old["compile"]["timeout_s"]
    older_hash = config_hash(config, like=old)
    assert older_hash != config_hash(config)
    changed = load_recipe("demo-v1", ["newer_ir=reject"])
    assert config_hash(changed, like=old) != older_hash  # a non-default new setting counts

    planned = build._plan(config, tmp_path / "_work")
    (tmp_path / "_work").mkdir(exist_ok=True)
    (tmp_path / "_work" / "plan.json").write_text(json.dumps(
        {"plan_hash": build._plan_hash(config, planned, like=old)}))
    (tmp_path / "index.json").write_text(json.dumps({"config": old}))
    assert build._check_plan(tmp_path, build._plan_hash(config, planned), config, planned,
                             overwrite=False)
    with pytest.raises(ConfigError, match="other inputs or settings"):
        build._check_plan(tmp_path, build._plan_hash(changed, planned), changed, planned,
                          overwrite=False)
