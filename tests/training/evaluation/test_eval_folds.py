"""Folds of the literature's and the leakage-free protocols."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from mirencoder.training.evaluation.folds import (
    kernel_grouped_folds,
    leave_group_out,
    leave_one_row_out,
    literature_folds,
)


def _table(n_kernels: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, n_kernels)
    groups = np.repeat([f"k{i}" for i in range(n_kernels)], sizes)
    labels = np.where(rng.random(len(groups)) < 0.4, "GPU", "CPU")
    return labels, groups


@pytest.mark.parametrize("random_state", [104, 204])
def test_literature_folds_reproduce_sklearn(random_state: int) -> None:
    labels, _ = _table()
    ours = literature_folds(labels, random_state)
    theirs = list(StratifiedKFold(n_splits=10, shuffle=True, random_state=random_state)
                  .split(np.zeros(len(labels)), labels))
    assert len(ours) == 10
    for (train, test), (train2, test2) in zip(ours, theirs, strict=True):
        assert np.array_equal(train, train2) and np.array_equal(test, test2)


def test_literature_folds_share_kernels() -> None:
    """The published folds do leak: some kernel sits in training and test of one fold."""
    labels, groups = _table()
    assert any(set(groups[train]) & set(groups[test])
               for train, test in literature_folds(labels, 204))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_folds_never_share_a_kernel(seed: int) -> None:
    labels, groups = _table(seed=seed)
    folds = kernel_grouped_folds(labels, groups, seed)
    assert len(folds) == 10
    covered = np.concatenate([test for _, test in folds])
    assert sorted(covered) == list(range(len(labels)))
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        assert len(train) + len(test) == len(labels)


def test_grouped_folds_depend_on_seed_and_cap_splits() -> None:
    labels, groups = _table()
    a = [tuple(t) for _, t in kernel_grouped_folds(labels, groups, 0)]
    b = [tuple(t) for _, t in kernel_grouped_folds(labels, groups, 1)]
    assert a != b
    few = kernel_grouped_folds(labels[:8], np.array(list("aabbccdd")), 0)
    assert len(few) == 4


def test_leave_one_row_out_and_leave_group_out() -> None:
    folds = leave_one_row_out(5)
    assert [list(t) for _, t in folds] == [[0], [1], [2], [3], [4]]
    assert all(len(train) == 4 and i not in train for i, (train, _) in enumerate(folds))
    groups = np.array(["b", "a", "b", "c", "a"])
    by_group = leave_group_out(groups)
    assert [list(t) for _, t in by_group] == [[1, 4], [0, 2], [3]]
    for train, test in by_group:
        assert not set(groups[train]) & set(groups[test])


def test_devmap_protocol_keys_and_config_checks() -> None:
    from pathlib import Path

    from mirencoder.infra.errors import ConfigError
    from mirencoder.training.evaluation.devmap_eval import DevMapConfig, devmap_protocol_keys

    config = DevMapConfig(data_dir=Path("."), cache_dir=Path("."))
    assert devmap_protocol_keys(config) == ["literature-rs104", "literature-rs204",
                                            "leakage-free"]
    with pytest.raises(ConfigError) as error:
        DevMapConfig(data_dir=Path("."), cache_dir=Path("."), row_sets=("700",),
                     platforms=("intel",), heads=("svm",), seeds=0)
    assert len(error.value.problems) == 4
