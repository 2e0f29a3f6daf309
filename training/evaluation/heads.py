"""Prediction heads on frozen features: XGBoost with the published settings, or a small MLP."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Protocol

import numpy as np

__all__ = ["HEADS", "DEVMAP_HEADS", "PUBLISHED_XGBOOST", "Head", "XGBoostHead", "MLPHead", "ReducedProgramHead",
           "RotatedProgramHead", "program_basis_head", "random_rotation",
           "signed_log1p"]

PUBLISHED_XGBOOST = {
    "devmap": {"max_depth": 10, "learning_rate": 0.5, "n_estimators": 70},
    "coarsening": {"max_depth": 1, "learning_rate": 0.05, "n_estimators": 140},
}
"""IR2Vec's published head settings (DevMap.ipynb, ThreadCoarsening.ipynb)."""
HEADS = ("xgboost", "mlp")
DEVMAP_HEADS = (*HEADS, "stacked")
"""Device mapping's heads: also ``stacked`` (:mod:`~.stacked_head`), which needs its run-time
inputs."""


class Head(Protocol):
    """A classifier trained per fold."""

    deterministic: bool
    """True when the seed cannot change the predictions (same folds, same predictions)."""
    # Optional ``thread_safe: bool``: True when several instances may fit at once in threads
    # (no global state; :func:`~.crossval.cross_val_predict` then trains folds in parallel).

    def fit(self, features: np.ndarray, labels: np.ndarray) -> Head: ...

    def predict(self, features: np.ndarray) -> np.ndarray: ...


class _MinMax:
    """Min-max scaling fitted on the training fold (constant columns map to 0)."""

    def fit(self, features: np.ndarray) -> _MinMax:
        self.low = features.min(axis=0)
        span = features.max(axis=0) - self.low
        self.span = np.where(span > 0, span, 1.0)
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        return (features - self.low) / self.span


class XGBoostHead:
    """XGBoost classifier on min-max-scaled features (labels may be any sortable values).

    Deterministic: with no row or column subsampling the seed does not change the trees, so
    runs that share folds share predictions (the runners compute them once).

    Args:
        task: ``devmap`` or ``coarsening`` (picks :data:`PUBLISHED_XGBOOST`).
        seed: ``random_state`` (XGBoost is deterministic at these settings: no subsampling).
        n_jobs: threads.
        tree_method: ``hist`` (the current default; several times faster here) or ``exact``
            (the XGBoost < 2.0 default the published runs used on data this small; on DevMap the
            two differ by under 0.5 accuracy points).
    """

    deterministic = True
    thread_safe = True  # its own booster per instance; fitting releases the GIL

    def __init__(self, task: str, seed: int = 0, n_jobs: int = 1, tree_method: str = "hist"):
        self.params = dict(PUBLISHED_XGBOOST[task], random_state=seed, n_jobs=n_jobs,
                           tree_method=tree_method)

    def fit(self, features: np.ndarray, labels: np.ndarray) -> XGBoostHead:
        from xgboost import XGBClassifier

        self.scaler = _MinMax().fit(features)
        self.classes_, encoded = np.unique(labels, return_inverse=True)
        if len(self.classes_) == 1:
            self.model = None
            return self
        self.model = XGBClassifier(**self.params)
        self.model.fit(self.scaler.transform(features), encoded)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.model is None:
            return np.full(len(features), self.classes_[0])
        return self.classes_[self.model.predict(self.scaler.transform(features)).astype(int)]


def signed_log1p(features: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)`` per value: monotone, so a tree would not see it, but it
    brings the run-time inputs (DevMap's ``transfer`` spans seven orders of magnitude) to the
    scale of the program features before an MLP standardises them."""
    return np.sign(features) * np.log1p(np.abs(features))


class MLPHead:
    """A one-hidden-layer MLP (scikit-learn) on standardised :func:`signed_log1p` features.

    Without the log the standardised ``transfer`` column is a few huge values and a flat
    rest, and the MLP cannot use the run-time inputs at all (DevMap leakage-free, run-time
    inputs only: 73.4 / 60.4 % on the 669 rows AMD / NVIDIA against XGBoost's 91.8 / 84.2).
    """

    deterministic = False

    def __init__(self, task: str, seed: int = 0, n_jobs: int = 1, hidden: int = 64,
                 tree_method: str = "hist"):
        del task, n_jobs, tree_method
        self.seed = seed
        self.hidden = hidden

    def fit(self, features: np.ndarray, labels: np.ndarray) -> MLPHead:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        from sklearn.preprocessing import StandardScaler

        features = signed_log1p(features)
        self.scaler = StandardScaler().fit(features)
        self.model = MLPClassifier(hidden_layer_sizes=(self.hidden,), alpha=1e-3, max_iter=400,
                                   random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self.scaler.transform(features), labels)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.model.predict(self.scaler.transform(signed_log1p(features)))


class _ProgramBasisHead:
    """A head on ``[the program columns, standardised on the training fold and projected on a
    basis ; the other columns]``; subclasses choose the basis (``[program_columns, out]``)."""

    def __init__(self, inner: Head, program_columns: int):
        self.inner, self.program_columns = inner, program_columns
        self.thread_safe = getattr(inner, "thread_safe", False)

    def _basis(self, standardised: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _project(self, features: np.ndarray) -> np.ndarray:
        program = (features[:, :self.program_columns] - self.mean) / self.std
        return np.hstack([program @ self.basis, features[:, self.program_columns:]])

    def fit(self, features: np.ndarray, labels: np.ndarray) -> _ProgramBasisHead:
        program = features[:, :self.program_columns]
        self.mean = program.mean(axis=0)
        std = program.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        self.basis = self._basis((program - self.mean) / self.std)
        self.inner.fit(self._project(features), labels)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.inner.predict(self._project(features))


class ReducedProgramHead(_ProgramBasisHead):
    """A head on ``[first K principal components of the program columns ; the other columns]``.

    The program columns are standardised and their principal components found on the training
    fold only (no test row shapes them). A diagnostic, not a protocol: how the scores of a
    program representation change when the head may use only its K main directions.

    Args:
        inner: the head trained on the reduced features.
        program_columns: the first ``program_columns`` columns are the program representation.
        dims: K (at most the training rows and program columns).
    """

    def __init__(self, inner: Head, program_columns: int, dims: int):
        super().__init__(inner, program_columns)
        self.dims = dims
        self.deterministic = inner.deterministic

    @property
    def components(self) -> np.ndarray:
        """The K principal directions ``[K, program_columns]`` fitted on the training fold."""
        return self.basis.T

    def _basis(self, standardised: np.ndarray) -> np.ndarray:
        _, _, directions = np.linalg.svd(standardised, full_matrices=False)
        return directions[:self.dims].T


def random_rotation(size: int, seed: int) -> np.ndarray:
    """A ``[size, size]`` orthogonal matrix drawn uniformly (Haar: QR of a Gaussian matrix with
    the signs of R's diagonal folded into Q)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(size, size)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


class RotatedProgramHead(_ProgramBasisHead):
    """A head on ``[the program columns, standardised and turned by a random rotation ; the
    other columns]``.

    The same information in another orthonormal basis: a diagnostic of how much a head that
    splits on one column at a time (trees) depends on the basis a representation comes in.
    Every pre-training objective here (cosine, InfoNCE, linear heads) is unchanged by a
    rotation of the embedding, so a trained encoder's basis is arbitrary to the head. The
    standardisation is fitted on the training fold; the rotation depends on ``seed`` only.

    Args:
        inner: the head trained on the rotated features.
        program_columns: the first ``program_columns`` columns are the program representation.
        seed: draws the rotation (the runners pass the head seed: one rotation per seed).
    """

    deterministic = False  # another seed, another rotation, other predictions

    def __init__(self, inner: Head, program_columns: int, seed: int):
        super().__init__(inner, program_columns)
        self.rotation = random_rotation(program_columns, seed)

    def _basis(self, standardised: np.ndarray) -> np.ndarray:
        return self.rotation


def program_basis_head(factory: Callable[[], Head], program_columns: int, seed: int, *,
                       dims: int = 0, rotation: bool = False) -> Callable[[], Head]:
    """``factory``, wrapped for the program-basis diagnostics: the first ``dims`` principal
    components (when fewer than the columns) or a random rotation drawn from ``seed`` (for more
    than one column); ``factory`` itself when neither applies."""
    if 0 < dims < program_columns:
        return lambda: ReducedProgramHead(factory(), program_columns, dims)
    if rotation and program_columns > 1:
        return lambda: RotatedProgramHead(factory(), program_columns, seed)
    return factory
