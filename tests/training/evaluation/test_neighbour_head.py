"""The neighbour-label head: label shares of the nearest training programs, own kernel left out."""

from __future__ import annotations

import numpy as np
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.crossval import cross_val_predict
from mirencoder.training.evaluation.devmap_eval import DevMapConfig
from mirencoder.training.evaluation.folds import kernel_grouped_folds
from mirencoder.training.evaluation.heads import XGBoostHead
from mirencoder.training.evaluation.neighbour_head import (
    NeighbourLabelHead,
    neighbour_label_head,
    neighbour_label_shares,
)


class _Recorder:
    """An inner head that keeps what it was given and predicts the first class."""

    deterministic = True

    def fit(self, features, labels):
        self.features, self.labels = features, labels
        return self

    def predict(self, features):
        self.predicted_from = features
        return np.full(len(features), self.labels[0])


def test_shares_average_the_k_nearest_usable_programs():
    programs = np.array([[0.0], [1.0], [10.0]])
    shares = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    queries = np.array([[0.1], [9.0]])
    assert np.allclose(neighbour_label_shares(queries, programs, shares, 1), [[1, 0], [.5, .5]])
    assert np.allclose(neighbour_label_shares(queries, programs, shares, 2), [[.5, .5],
                                                                              [.25, .75]])
    excluded = np.array([[True, False, False], [False, False, False]])
    assert np.allclose(neighbour_label_shares(queries, programs, shares, 1, excluded)[0], [0, 1])
    # Fewer usable programs than k: the usable ones only.
    only_one = np.array([[True, True, False], [False, False, False]])
    assert np.allclose(neighbour_label_shares(queries, programs, shares, 3, only_one)[0],
                       [.5, .5])
    with pytest.raises(ValueError, match="no training program outside its own group"):
        neighbour_label_shares(queries, programs, shares, 1, np.ones((2, 3), bool))


def test_a_training_row_never_sees_its_own_kernels_labels():
    # Kernels 0-3 at 0, 1, 10, 11 on one program column; two rows each (two input sizes),
    # a run-time column after the program column. Labels differ within kernel 0 only.
    program = np.repeat([0.0, 1.0, 10.0, 11.0], 2)
    runtime = np.tile([1.0, 2.0], 4)
    labels = np.array(["CPU", "GPU", "GPU", "GPU", "CPU", "CPU", "CPU", "CPU"])
    groups = np.repeat(["k0", "k1", "k2", "k3"], 2)
    inner = _Recorder()
    head = NeighbourLabelHead(inner, program_columns=1, k=1).fit(
        np.column_stack([program, runtime]), labels, groups=groups)
    # Columns: share of CPU, share of GPU, then the run-time input.
    expected = np.array([[0, 1], [0, 1], [.5, .5], [.5, .5], [1, 0], [1, 0], [1, 0], [1, 0]])
    assert np.allclose(inner.features[:, :2], expected)
    assert np.allclose(inner.features[:, 2], runtime)
    # A test row takes its neighbours among every training program.
    head.predict(np.array([[0.2, 5.0], [10.4, 5.0]]))
    assert np.allclose(inner.predicted_from, [[.5, .5, 5.0], [1, 0, 5.0]])
    # Without groups, identical program rows make one group.
    NeighbourLabelHead(inner, program_columns=1, k=1).fit(np.column_stack([program, runtime]),
                                                           labels)
    assert np.allclose(inner.features[:, :2], expected)


def test_unseen_kernels_get_the_label_of_their_neighbourhood():
    # Two clusters of kernels in a 16-dim space; a kernel's label is its cluster's, the
    # columns a random rotation of it (no single column says the cluster).
    rng = np.random.default_rng(0)
    kernels, rows_per_kernel = 40, 3
    cluster = np.arange(kernels) % 2
    centres = rng.normal(size=(2, 16)) * 3
    program = centres[cluster] + rng.normal(size=(kernels, 16))
    rows = np.repeat(np.arange(kernels), rows_per_kernel)
    features = np.column_stack([program[rows], rng.normal(size=len(rows))])
    labels = np.where(cluster[rows] == 1, "GPU", "CPU")
    groups = rows.astype(str)
    folds = kernel_grouped_folds(labels, groups, seed=0, n_splits=5)
    make = neighbour_label_head(lambda: XGBoostHead("devmap"), 16, 5)
    predicted = cross_val_predict(features, labels, folds, make, groups)
    assert (predicted == labels).mean() >= 0.95
    assert neighbour_label_head(XGBoostHead, 16, 0) is XGBoostHead  # 0: off
    assert neighbour_label_head(XGBoostHead, 0, 5) is XGBoostHead  # runtime-only: no program


def test_devmap_config_takes_one_program_diagnostic_at_a_time():
    assert DevMapConfig(program_neighbours=5).program_neighbours == 5
    with pytest.raises(ConfigError, match="program_neighbours must be >= 0"):
        DevMapConfig(program_neighbours=-1)
    with pytest.raises(ConfigError, match="separate diagnostics"):
        DevMapConfig(program_neighbours=5, program_dims=2)
