"""Folds trained in threads: the same predictions as one at a time, and only for heads that
declare themselves thread-safe."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.coarsening_eval import CoarseningConfig
from mirencoder.training.evaluation.crossval import cross_val_predict
from mirencoder.training.evaluation.devmap_eval import DevMapConfig
from mirencoder.training.evaluation.folds import kernel_grouped_folds
from mirencoder.training.evaluation.heads import XGBoostHead, program_basis_head
from mirencoder.training.evaluation.neighbour_head import neighbour_label_head


def _rows(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 12))
    labels = np.where(features[:, 0] + 0.5 * rng.normal(size=n) > 0, "GPU", "CPU")
    groups = np.arange(n) // 4
    return features, labels, groups


@pytest.mark.parametrize("wrap", ["plain", "rotated", "neighbours"])
def test_parallel_folds_predict_what_one_thread_does(wrap: str) -> None:
    features, labels, groups = _rows()
    folds = kernel_grouped_folds(labels, groups, seed=3, n_splits=10)

    def factory():
        return XGBoostHead("devmap", seed=0)
    if wrap == "rotated":
        factory = program_basis_head(factory, 10, seed=1, rotation=True)
    elif wrap == "neighbours":
        factory = neighbour_label_head(factory, 10, 3)
    assert factory().thread_safe
    serial = cross_val_predict(features, labels, folds, factory, groups, workers=1)
    parallel = cross_val_predict(features, labels, folds, factory, groups, workers=4)
    assert (serial == parallel).all()
    assert (serial == labels).mean() > 0.6  # the head learned the signal (chance: 0.5)


class _CountingHead:
    """A head that records how many of its kind fit at the same moment."""

    deterministic = True
    active = 0
    most = 0
    lock = threading.Lock()

    def __init__(self, thread_safe: bool):
        self.thread_safe = thread_safe

    def fit(self, features: np.ndarray, labels: np.ndarray) -> _CountingHead:
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.most = max(cls.most, cls.active)
        time.sleep(0.02)
        with cls.lock:
            cls.active -= 1
        self.label = labels[0]
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.full(len(features), self.label)


@pytest.mark.parametrize("thread_safe", [False, True])
def test_only_thread_safe_heads_fit_at_once(thread_safe: bool) -> None:
    features, labels, groups = _rows(n=80)
    folds = kernel_grouped_folds(labels, groups, seed=0, n_splits=8)
    _CountingHead.active = _CountingHead.most = 0
    cross_val_predict(features, labels, folds, lambda: _CountingHead(thread_safe), workers=4)
    assert _CountingHead.most == (4 if thread_safe else 1)


def test_fold_errors_surface_and_uncovered_rows_are_refused() -> None:
    features, labels, groups = _rows(n=40)
    folds = kernel_grouped_folds(labels, groups, seed=0, n_splits=4)

    class Broken(_CountingHead):
        def fit(self, features, labels):
            raise RuntimeError("head failed")
    with pytest.raises(RuntimeError, match="head failed"):
        cross_val_predict(features, labels, folds, lambda: Broken(True), workers=2)
    with pytest.raises(ValueError, match="exactly once"):
        cross_val_predict(features, labels, folds[:-1], lambda: _CountingHead(True), workers=2)


def test_n_jobs_zero_means_every_cpu_and_negative_is_refused() -> None:
    assert DevMapConfig(data_dir=Path("."), cache_dir=Path(".")).n_jobs == 0
    assert CoarseningConfig(data_dir=Path("."), cache_dir=Path(".")).n_jobs == 0
    with pytest.raises(ConfigError, match="n_jobs must be >= 0"):
        DevMapConfig(data_dir=Path("."), cache_dir=Path("."), n_jobs=-1)
    with pytest.raises(ConfigError, match="n_jobs must be >= 0"):
        CoarseningConfig(data_dir=Path("."), cache_dir=Path("."), n_jobs=-1)
