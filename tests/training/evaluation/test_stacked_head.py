"""The stacked head on frozen features (``--heads stacked``, device mapping)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.coarsening_eval import CoarseningConfig
from mirencoder.training.evaluation.crossval import cross_val_predict
from mirencoder.training.evaluation.devmap_data import DevMapData
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.head_factory import make_head
from mirencoder.training.evaluation.programs import EvalProgram
from mirencoder.training.evaluation.stacked_head import StackedMLPHead

KERNELS, SIZES = 24, 8


def _rows(seed: int = 0):
    """Rows of 24 kernels (16 program features) at 8 data sizes: GPU when ``transfer`` is
    above a threshold that depends on the kernel's first program feature (a property of the
    program the run-time trees cannot see)."""
    rng = np.random.default_rng(seed)
    kernel = np.repeat(np.arange(KERNELS), SIZES)
    program = rng.normal(size=(KERNELS, 16))
    program[:, 0] = np.where(np.arange(KERNELS) % 3 == 0, 3.0, -1.0)
    transfer = 10 ** rng.uniform(2, 7, len(kernel))
    wgsize = rng.choice([64, 128, 256], len(kernel)).astype(float)
    gpu = transfer > np.where(program[kernel, 0] > 0, 10 ** 6.5, 10 ** 3.5)
    features = np.column_stack([program[kernel], transfer, wgsize])
    return features, np.where(gpu, "GPU", "CPU"), kernel


def _kernel_folds(kernel: np.ndarray, splits: int = 4):
    held = np.arange(KERNELS) % splits
    return [(np.flatnonzero(held[kernel] != f), np.flatnonzero(held[kernel] == f))
            for f in range(splits)]


def test_stacked_head_uses_the_program_where_the_trees_cannot() -> None:
    features, labels, kernel = _rows()
    folds = _kernel_folds(kernel)
    stacked = cross_val_predict(features, labels, folds, lambda: StackedMLPHead(seed=0), kernel)
    runtime_trees = cross_val_predict(features[:, -2:], labels, folds,
                                      lambda: make_head("xgboost", "devmap", 0))
    accuracy = (stacked == labels).mean()
    assert accuracy > 0.8 and accuracy > (runtime_trees == labels).mean() + 0.1
    head = StackedMLPHead(seed=0).fit(features[:64], labels[:64], groups=kernel[:64])
    assert head.base.train_margins.shape == (64, 2)
    again = StackedMLPHead(seed=0).fit(features[:64], labels[:64], groups=kernel[:64])
    np.testing.assert_array_equal(head.predict(features), again.predict(features))


def test_no_program_columns_one_class_and_bad_input() -> None:
    features, labels, kernel = _rows()
    runtime_only = StackedMLPHead().fit(features[:, -2:], labels, groups=kernel)
    assert set(runtime_only.predict(features[:5, -2:])) <= {"CPU", "GPU"}
    constant = StackedMLPHead().fit(features[:8], np.array(["GPU"] * 8))
    assert list(constant.predict(features[:3])) == ["GPU"] * 3
    with pytest.raises(ValueError, match="program columns"):
        StackedMLPHead().fit(features[:, :1].ravel(), labels)
    with pytest.raises(ValueError, match="run-time inputs"):
        make_head("stacked", "coarsening", 0)


def test_devmap_accepts_the_stacked_head_and_names_its_rows(tmp_path: Path) -> None:
    features, labels, kernel = _rows()
    programs = [EvalProgram(key=f"k{k}", kernel=f"k{k}", path=tmp_path / f"k{k}.ll")
                for k in range(KERNELS)]
    table = pd.DataFrame({
        "benchmark": [f"k{k}" for k in kernel], "dataset": np.tile(np.arange(SIZES), KERNELS),
        "transfer": features[:, -2], "wgsize": features[:, -1], "oracle": labels,
        "runtime_cpu": np.where(labels == "CPU", 1.0, 2.0),
        "runtime_gpu": np.where(labels == "GPU", 1.0, 2.0), "program": kernel})
    data = DevMapData(name="devmap-test", programs=programs, tables={"amd": table})
    program_features = {"prog": features[::SIZES, :-2],
                        "runtime-only": np.zeros((KERNELS, 0))}
    config = DevMapConfig(data_dir=tmp_path, cache_dir=tmp_path, platforms=("amd",),
                          protocols=("leakage-free",), seeds=1, n_splits=4,
                          heads=("xgboost", "stacked"))
    rows = evaluate_devmap_rows(data, program_features, config, progress=False)
    slot = rows["leakage-free"]["amd"]
    assert {"prog", "prog+stacked", "runtime-only", "runtime-only+stacked"} <= set(slot)
    assert slot["prog+stacked"]["accuracy_mean"] > 80
    assert slot["prog+stacked"]["accuracy_mean"] > slot["runtime-only+stacked"]["accuracy_mean"]
    with pytest.raises(ConfigError, match="heads"):
        CoarseningConfig(data_dir=tmp_path, cache_dir=tmp_path, heads=("stacked",))
