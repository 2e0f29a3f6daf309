"""The neighbour-label head (``devmap.program_neighbours=K``): a program representation reaches
the head only through the labels of its K nearest training programs.

Why: a tree head splits on one column at a time, so a dense embedding, whose basis every
pre-training objective here leaves arbitrary (cosine, InfoNCE, linear heads are unchanged by a
rotation), reaches it as a rotated mixture (studies/program-dims.md). What pre-training does
organise is the geometry: which programs lie near which. This head turns that geometry into
columns that mean something: for each row, the share of each label among the training rows of
its K nearest training programs (a k-nearest-neighbour estimate of the label, target encoding
through neighbours), beside the row's other columns (DevMap's run-time inputs), for the inner
head (the protocol's XGBoost) to split on.

Choices, fixed before any score was seen (a diagnostic, not a published protocol):
- distance: Euclidean over the program columns standardised on the training fold (the
  scale-free choice that also works for a one-column representation such as program size);
- neighbours are distinct training programs, each weighted equally; a program's label shares
  are over its rows (DevMap: one row per input size);
- a training row's neighbours leave out every program of its own group (the fold grouping:
  the kernel), so its label columns are what a test row of an unseen kernel would get; no
  row's own labels reach its columns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .heads import Head

__all__ = ["NeighbourLabelHead", "neighbour_label_head", "neighbour_label_shares"]

_QUERY_BLOCK = 64


def neighbour_label_shares(queries: np.ndarray, programs: np.ndarray, shares: np.ndarray,
                           k: int, excluded: np.ndarray | None = None) -> np.ndarray:
    """Mean label shares of each query's ``k`` nearest programs (Euclidean).

    Args:
        queries: ``[Q, D]``.
        programs: ``[P, D]`` the distinct training programs.
        shares: ``[P, C]`` each program's share of each label over its rows.
        k: neighbours (at most the programs a query may use).
        excluded: ``[Q, P]`` True where a query may not use a program (its own group).

    Returns:
        ``[Q, C]``.
    """
    # Squared differences summed per pair, a block of queries at a time (the [Q, P, D]
    # differences of a whole DevMap fold would take ~300 MB).
    distances = np.concatenate([
        ((block[:, None, :] - programs[None, :, :]) ** 2).sum(axis=-1)
        for block in np.array_split(queries, max(1, -(-len(queries) // _QUERY_BLOCK)))
    ]) if len(queries) else np.zeros((0, len(programs)))
    if excluded is not None:
        distances = np.where(excluded, np.inf, distances)
    usable = np.isfinite(distances).sum(axis=1)
    if (usable == 0).any():
        raise ValueError("a query has no training program outside its own group")
    k = min(k, distances.shape[1])
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
    # Fewer usable programs than k: average the usable ones only.
    weights = np.isfinite(np.take_along_axis(distances, nearest, axis=1)).astype(float)
    picked = shares[nearest] * weights[..., None]
    return picked.sum(axis=1) / weights.sum(axis=1, keepdims=True)


class NeighbourLabelHead:
    """``inner`` on ``[label shares of the K nearest training programs ; the other columns]``.

    Args:
        inner: the head trained on the new columns (the protocol's XGBoost).
        program_columns: the first ``program_columns`` columns are the program representation.
        k: neighbours.
    """

    uses_groups = True

    def __init__(self, inner: Head, program_columns: int, k: int):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.inner, self.program_columns, self.k = inner, program_columns, k
        self.deterministic = inner.deterministic
        self.thread_safe = getattr(inner, "thread_safe", False)

    def _standardised(self, features: np.ndarray) -> np.ndarray:
        return (features[:, :self.program_columns] - self.mean) / self.std

    def fit(self, features: np.ndarray, labels: np.ndarray,
            groups: np.ndarray | None = None) -> NeighbourLabelHead:
        program = features[:, :self.program_columns]
        self.mean = program.mean(axis=0)
        std = program.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        standardised = self._standardised(features)
        self.programs, row_program = np.unique(standardised, axis=0, return_inverse=True)
        row_program = row_program.reshape(-1)
        self.classes_, encoded = np.unique(np.asarray(labels), return_inverse=True)
        counts = np.zeros((len(self.programs), len(self.classes_)))
        np.add.at(counts, (row_program, encoded.reshape(-1)), 1.0)
        self.shares = counts / counts.sum(axis=1, keepdims=True)
        groups = row_program if groups is None else np.asarray(groups)
        # A program's groups (a program may, rarely, occur in two kernels): exclude any shared.
        program_groups = [set() for _ in self.programs]
        for program_index, group in zip(row_program, groups, strict=True):
            program_groups[program_index].add(group)
        excluded = np.array([[g in program_groups[p] for p in range(len(self.programs))]
                             for g in groups])
        columns = neighbour_label_shares(standardised, self.programs, self.shares, self.k,
                                         excluded)
        self.inner.fit(np.hstack([columns, features[:, self.program_columns:]]), labels)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        columns = neighbour_label_shares(self._standardised(features), self.programs,
                                         self.shares, self.k)
        return self.inner.predict(np.hstack([columns, features[:, self.program_columns:]]))


def neighbour_label_head(factory: Callable[[], Head], program_columns: int,
                         k: int) -> Callable[[], Head]:
    """``factory`` wrapped in :class:`NeighbourLabelHead` with ``k`` neighbours; ``factory``
    itself when ``k`` is 0 (off) or there is no program column (``runtime-only``)."""
    if not k or not program_columns:
        return factory
    return lambda: NeighbourLabelHead(factory(), program_columns, k)
