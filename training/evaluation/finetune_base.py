"""A fine-tuning head stacked on the run-time inputs' trees (``finetune.runtime_base``).

On DevMap the protocol's XGBoost reads ``transfer`` and ``wgsize`` far better than any MLP
does (leakage-free, run-time inputs alone: 91.5 / 84.5 % under XGBoost, 75.1 / 67.2 % under
the MLP on the 669 rows), so a fine-tuned MLP head starts several points below the protocol's
simplest control whatever the encoder. Stacking (Wolpert, 1992) removes that handicap: the
head's logits are ``MLP([embedding ; run-time inputs]) + scale * margin``, where ``margin`` is
the published XGBoost on the run-time inputs alone, and the encoder and MLP learn what the
run-time inputs leave unexplained.

The margins of the training rows come from inner folds grouped by program (each program's
margin from trees that never saw it: in-sample margins of depth-10 trees are near perfect and
would leave nothing for the encoder to learn); the test rows' margins from trees fitted on all
training rows.
"""

from __future__ import annotations

import numpy as np

from .heads import XGBoostHead

__all__ = ["RuntimeBase"]


class RuntimeBase:
    """The published XGBoost on the run-time inputs alone, as logits for a stacked head.

    Args:
        classes: number of classes of the head (labels encoded ``0..classes-1``).
        folds: inner folds, grouped by program, for the training rows' margins.
        seed: XGBoost's ``random_state`` (the trees are deterministic at these settings).
        task: picks the published settings (:data:`~.heads.PUBLISHED_XGBOOST`).

    Attributes (after :meth:`fit`):
        train_margins: ``[N, classes]`` out-of-fold logits of the training rows.
    """

    def __init__(self, classes: int, folds: int = 5, seed: int = 0, task: str = "devmap"):
        if classes < 2:
            raise ValueError(f"a stacked head needs at least 2 classes, got {classes}")
        if folds < 2:
            raise ValueError(f"runtime_base_folds must be >= 2, got {folds}")
        self.classes, self.folds, self.seed, self.task = classes, folds, seed, task
        self.trees: XGBoostHead | None = None
        self.train_margins: np.ndarray | None = None

    def _fit_trees(self, runtime: np.ndarray, encoded: np.ndarray) -> XGBoostHead:
        return XGBoostHead(self.task, seed=self.seed).fit(runtime, encoded)

    def _margins(self, trees: XGBoostHead, runtime: np.ndarray) -> np.ndarray:
        """``[N, classes]`` logits: a class the trees never saw keeps 0; one class seen
        alone keeps 0 everywhere (no preference the MLP must undo)."""
        out = np.zeros((len(runtime), self.classes))
        if trees.model is None or not len(runtime):
            return out
        margin = trees.model.predict(trees.scaler.transform(runtime), output_margin=True)
        present = trees.classes_.astype(np.int64)
        if margin.ndim == 1:  # binary: the logit of the second class against the first
            out[:, present[1]] = margin
        else:
            out[:, present] = margin
        return out

    def fit(self, runtime: np.ndarray, encoded: np.ndarray, groups: np.ndarray) -> RuntimeBase:
        """Fits the trees on all rows and the out-of-fold margins of the rows.

        Args:
            runtime: ``[N, R]`` run-time inputs (as the protocol's head reads them).
            encoded: ``[N]`` labels encoded ``0..classes-1``.
            groups: ``[N]`` program of each row (a program's rows share an inner fold).
        """
        from sklearn.model_selection import GroupKFold

        runtime = np.asarray(runtime, dtype=np.float64)
        encoded = np.asarray(encoded, dtype=np.int64)
        self.trees = self._fit_trees(runtime, encoded)
        self.train_margins = np.zeros((len(runtime), self.classes))
        distinct = len(np.unique(groups))
        if distinct < 2:
            return self
        for inner_train, inner_test in GroupKFold(n_splits=min(self.folds, distinct)).split(
                runtime, encoded, groups):
            trees = self._fit_trees(runtime[inner_train], encoded[inner_train])
            self.train_margins[inner_test] = self._margins(trees, runtime[inner_test])
        return self

    def margins(self, runtime: np.ndarray) -> np.ndarray:
        """``[N, classes]`` logits of new rows by the trees fitted on all training rows."""
        if self.trees is None:
            raise ValueError("margins() before fit()")
        return self._margins(self.trees, np.asarray(runtime, dtype=np.float64))
