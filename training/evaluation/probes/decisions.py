"""Compiler-decision prediction: a logistic-regression probe over frozen features.

Folds are grouped (no source, or template, on both sides) and stratified
(``StratifiedGroupKFold``, shuffled, seeded); the same folds serve every method and the
majority-class baseline. Predictions are pooled over folds before scoring.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["grouped_folds", "rare_classes", "probe_predictions", "majority_predictions",
           "classification_scores"]


def rare_classes(labels: Sequence[str], min_count: int) -> dict[str, int]:
    """Classes with fewer than ``min_count`` members, with their counts."""
    return {c: n for c, n in sorted(Counter(labels).items()) if n < min_count}


def grouped_folds(labels: Sequence[str], groups: Sequence[str], n_splits: int, seed: int
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index pairs of a seeded ``StratifiedGroupKFold``.

    ``n_splits`` is lowered to the number of groups when there are fewer (at least 2).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(set(groups))
    if n_groups < 2:
        raise ValueError(f"need at least 2 groups for grouped folds, got {n_groups}")
    splitter = StratifiedGroupKFold(n_splits=min(n_splits, n_groups), shuffle=True,
                                    random_state=seed)
    y = np.asarray(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" notices
        return list(splitter.split(np.zeros(len(y)), y, np.asarray(groups)))


def probe_predictions(features: np.ndarray, labels: Sequence[str],
                      folds: Sequence[tuple[np.ndarray, np.ndarray]], *, c: float = 1.0,
                      max_iter: int = 2000, seed: int = 0,
                      test_features: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold predictions of a standardised logistic regression (object array; rows
    whose features are not finite are left out of training and predicted as None).
    ``test_features`` (the same rows featurized otherwise, e.g. at another optimisation
    level) are what the held-out rows are predicted from; default: ``features``.

    BLAS runs on one thread: these fits are tiny, and on a busy 2-core machine threaded
    BLAS made them about 10x slower.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    x = np.asarray(features, dtype=np.float64)
    x_test = x if test_features is None else np.asarray(test_features, dtype=np.float64)
    if x_test.shape != x.shape:
        raise ValueError(f"test_features {x_test.shape} must match features {x.shape}")
    y = np.asarray(labels, dtype=object)
    usable = np.isfinite(x).all(axis=1) & np.isfinite(x_test).all(axis=1)
    predictions = np.full(len(y), None, dtype=object)
    for train, test in folds:
        train, test = train[usable[train]], test[usable[test]]
        if len(test) == 0 or len(train) == 0:
            continue
        classes = np.unique(y[train].astype(str))
        if len(classes) < 2:
            predictions[test] = classes[0]
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(
            C=c, max_iter=max_iter, random_state=seed))
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x[train], y[train].astype(str))
        predictions[test] = model.predict(x_test[test])
    return predictions


def majority_predictions(labels: Sequence[str],
                         folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Out-of-fold predictions of the training fold's most frequent class (ties: smallest)."""
    y = np.asarray(labels, dtype=object)
    predictions = np.full(len(y), None, dtype=object)
    for train, test in folds:
        counts = Counter(y[train])
        best = max(counts.values())
        predictions[test] = min(c for c, n in counts.items() if n == best)
    return predictions


def classification_scores(labels: Sequence[str], predictions: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (over the classes present in ``labels``) of the predicted rows."""
    from sklearn.metrics import accuracy_score, f1_score

    y = np.asarray(labels, dtype=object)
    done = np.asarray([p is not None for p in predictions])
    if not done.any():
        return {"accuracy": float("nan"), "macro_f1": float("nan"), "n": 0}
    truth, guess = y[done].astype(str), predictions[done].astype(str)
    classes = sorted(set(truth))
    return {"accuracy": float(accuracy_score(truth, guess)),
            "macro_f1": float(f1_score(truth, guess, labels=classes, average="macro",
                                       zero_division=0)),
            "n": int(done.sum())}
