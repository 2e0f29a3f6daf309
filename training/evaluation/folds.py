"""Cross-validation folds of the published and the leakage-free protocols (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

__all__ = ["Fold", "literature_folds", "kernel_grouped_folds", "leave_one_row_out",
           "leave_group_out", "subsample_training_groups", "LITERATURE_SPLIT_SEEDS"]

Fold = tuple[np.ndarray, np.ndarray]
"""(train row indices, test row indices)."""

LITERATURE_SPLIT_SEEDS = (104, 204)
"""``random_state`` of the published runs: 104 in IR2Vec's notebook, 204 in DeepTune/NCC."""


def literature_folds(labels: Sequence, random_state: int, n_splits: int = 10) -> list[Fold]:
    """The literature's device-mapping folds: ``StratifiedKFold(10, shuffle=True, random_state)``.

    Rows of one kernel (several data sizes) land in training and test alike.
    """
    labels = np.asarray(labels)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return [(train, test) for train, test in splitter.split(np.zeros(len(labels)), labels)]


def kernel_grouped_folds(labels: Sequence, groups: Sequence, seed: int,
                         n_splits: int = 10) -> list[Fold]:
    """Leakage-free folds: stratified by label, grouped by kernel (a kernel is never in both).

    Uses ``StratifiedGroupKFold(shuffle=True, random_state=seed)``; with fewer kernels than
    ``n_splits`` there is one fold per kernel.
    """
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    n_splits = min(n_splits, len(np.unique(groups)))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(train, test) for train, test in splitter.split(np.zeros(len(labels)), labels, groups)]


def leave_one_row_out(n_rows: int) -> list[Fold]:
    """One fold per row (thread coarsening as published: the other platforms' rows of the
    held-out kernel stay in training)."""
    every = np.arange(n_rows)
    return [(np.delete(every, i), np.array([i])) for i in range(n_rows)]


def leave_group_out(groups: Sequence) -> list[Fold]:
    """One fold per group, in sorted group order (thread coarsening, leakage-free: the kernel
    is held out on all platforms)."""
    groups = np.asarray(groups)
    return [(np.flatnonzero(groups != g), np.flatnonzero(groups == g))
            for g in sorted(np.unique(groups))]


def subsample_training_groups(folds: Sequence[Fold], labels: Sequence, groups: Sequence,
                              fraction: float, seed: int, max_draws: int = 100) -> list[Fold]:
    """Label efficiency: each fold keeps a random ``fraction`` of its training groups (kernels;
    at least 2) and all of its test rows.

    A draw is repeated (up to ``max_draws`` times) until the kept rows hold every label of the
    fold's training rows, so a head always sees both devices. ``fraction`` 1 returns the folds.

    Raises:
        ValueError: ``fraction`` outside (0, 1].
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return list(folds)
    labels, groups = np.asarray(labels), np.asarray(groups)
    rng = np.random.default_rng([seed, round(fraction * 1_000_000)])
    out = []
    for train, test in folds:
        names = np.unique(groups[train])
        size = min(len(names), max(2, round(fraction * len(names))))
        wanted = set(labels[train])
        for _ in range(max_draws):
            kept = train[np.isin(groups[train], rng.choice(names, size, replace=False))]
            if set(labels[kept]) == wanted:
                break
        out.append((kept, test))
    return out
