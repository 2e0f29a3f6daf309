"""Where the evaluation data lives: named once, by the evaluation recipes in ``datasets/``.

Each evaluation recipe (``devmap-ir2vec-669-v1``, ``thread-coarsening-v1``,
``devmap-opencl-256-v1``) has one input, the kernels' archive, under :data:`DATA_ROOT`
(``../shared/data``, relative to the repository). The archive's folder also holds the task's
tables (CSV). ``mirencoder eval`` and the build's evaluation-kernel exclusion read the paths
from here; a data folder given by the user (``--data-dir``, ``evaluation_data_dir``) takes
the place of :data:`DATA_ROOT`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from ..infra.errors import ConfigError
from .config import REPO_ROOT, BuildConfig, load_recipe

__all__ = ["DATA_ROOT", "EVALUATION_RECIPES", "EvaluationInput", "default_data_dir",
           "evaluation_input", "evaluation_inputs", "with_data_dir"]

DATA_ROOT = "../shared/data"
"""The folder the recipes' real data paths start with (relative to the repository root)."""

EVALUATION_RECIPES = ("devmap-ir2vec-669-v1", "thread-coarsening-v1", "devmap-opencl-256-v1")
"""The evaluation recipes, in the order the build's exclusion reads them."""


@dataclass(frozen=True, slots=True)
class EvaluationInput:
    """The kernels' archive of one evaluation recipe."""

    recipe: str
    """The recipe's name (``datasets/<recipe>.yaml``)."""
    path: Path
    """The archive, under the data folder asked for."""
    corpus: str
    """The recipe's corpus label."""

    @property
    def folder(self) -> Path:
        """The folder holding the archive and the task's tables."""
        return self.path.parent


def default_data_dir() -> Path:
    """``<repo>/../shared/data``: where the public data lives beside the checkout."""
    return (REPO_ROOT / DATA_ROOT).resolve()


def _in_data_root(path: str) -> bool:
    """Whether a recipe path starts with :data:`DATA_ROOT`."""
    return PurePosixPath(path).parts[:3] == PurePosixPath(DATA_ROOT).parts


def _rebased(path: str, data_dir: Path | None) -> Path:
    """A recipe path, with a leading :data:`DATA_ROOT` replaced by ``data_dir``."""
    if data_dir is not None and _in_data_root(path):
        return Path(data_dir).expanduser().joinpath(*PurePosixPath(path).parts[3:])
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else (REPO_ROOT / resolved).resolve()


def with_data_dir(config: BuildConfig, data_dir: str | Path) -> BuildConfig:
    """``config`` reading its real data from ``data_dir`` instead of :data:`DATA_ROOT`: the
    inputs under it and the evaluation kernels its exclusion reads. The default folder
    itself changes nothing (the build keeps its identity)."""
    data_dir = Path(data_dir).expanduser().resolve()
    if data_dir == default_data_dir():
        return config
    inputs = [replace(spec, path=str(_rebased(spec.path, data_dir)))
              if _in_data_root(spec.path) else spec for spec in config.inputs]
    return replace(config, inputs=inputs, evaluation_data_dir=str(data_dir))


def evaluation_input(recipe: str, data_dir: Path | None = None) -> EvaluationInput:
    """The archive of one evaluation recipe.

    Args:
        recipe: one of :data:`EVALUATION_RECIPES`.
        data_dir: the data folder (default: the recipe's own, ``../shared/data``).

    Raises:
        ConfigError: the recipe is missing or does not have exactly one input.
    """
    config = load_recipe(recipe)
    if len(config.inputs) != 1:
        raise ConfigError(f"evaluation recipe {recipe} must have exactly one input (the "
                          f"kernels' archive), has {len(config.inputs)}")
    spec = config.inputs[0]
    return EvaluationInput(recipe=recipe, path=_rebased(spec.path, data_dir),
                           corpus=spec.corpus or recipe)


def evaluation_inputs(data_dir: Path | None = None) -> list[EvaluationInput]:
    """The archives of every evaluation recipe, in :data:`EVALUATION_RECIPES` order."""
    return [evaluation_input(recipe, data_dir) for recipe in EVALUATION_RECIPES]
