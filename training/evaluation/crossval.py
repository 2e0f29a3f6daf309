"""Cross-validated predictions of a head over given folds, and the seed aggregation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .folds import Fold
from .heads import Head

__all__ = ["cross_val_predict", "aggregate_seeds", "method_name"]


def cross_val_predict(features: np.ndarray, labels: np.ndarray, folds: Sequence[Fold],
                      make_head: Callable[[], Head], groups: np.ndarray | None = None,
                      test_features: np.ndarray | None = None, workers: int = 1) -> np.ndarray:
    """Trains a fresh head per fold and predicts its test rows; a head that declares
    ``uses_groups`` also gets the training rows' ``groups`` (e.g. the kernel of each row).
    ``test_features`` (same rows as ``features``, e.g. the programs compiled another way) are
    what the test rows are predicted from; default: ``features``.

    ``workers`` folds are trained at once, in threads, when the head declares
    ``thread_safe`` (it keeps no global state and releases the GIL while it fits: XGBoost);
    each fold's head is the same fresh head as in one thread, so the predictions do not
    depend on ``workers``. Other heads (torch's global seed; the MLP head's warning filter)
    train one fold at a time.

    Raises:
        ValueError: when the folds do not cover every row exactly once.
    """
    labels = np.asarray(labels)
    test_features = features if test_features is None else test_features
    if test_features.shape != features.shape:
        raise ValueError(f"test_features {test_features.shape} must match features "
                         f"{features.shape}")
    train_groups = None if groups is None else np.asarray(groups)

    def fit_predict(fold: Fold) -> np.ndarray:
        train, test = fold
        head = make_head()
        if train_groups is not None and getattr(head, "uses_groups", False):
            head.fit(features[train], labels[train], groups=train_groups[train])
        else:
            head.fit(features[train], labels[train])
        return head.predict(test_features[test])

    folds = list(folds)
    workers = min(workers, len(folds))
    if workers > 1 and getattr(make_head(), "thread_safe", False):
        with ThreadPoolExecutor(workers, thread_name_prefix="mirencoder-fold") as pool:
            per_fold = list(pool.map(fit_predict, folds))
    else:
        per_fold = [fit_predict(fold) for fold in folds]
    predicted = np.empty(len(labels), dtype=labels.dtype)
    covered = np.zeros(len(labels), dtype=int)
    for (_, test), values in zip(folds, per_fold, strict=True):
        predicted[test] = values
        covered[test] += 1
    if not (covered == 1).all():
        raise ValueError("folds must cover every row exactly once")
    return predicted


def _std(values: np.ndarray) -> float:
    # identical values (a deterministic head) give exactly 0, not a rounding residue
    if len(values) < 2 or np.ptp(values) == 0:
        return 0.0
    return float(values.std(ddof=1))


def aggregate_seeds(per_seed: Sequence[dict[str, float]]) -> dict[str, object]:
    """Mean and sample standard deviation (ddof=1; 0 for one seed) of each metric over seeds.

    Returns:
        ``accuracy_mean``, ``accuracy_std``, ``speedup_mean``, ``speedup_std``,
        ``geomean_mean``, ``geomean_std``, ``n_rows``, ``n_seeds`` and ``per_seed``.
    """
    out: dict[str, object] = {}
    for key, label in (("accuracy", "accuracy"), ("speedup_mean", "speedup"),
                       ("speedup_geomean", "geomean")):
        values = np.array([s[key] for s in per_seed], dtype=float)
        out[f"{label}_mean"] = float(values.mean())
        out[f"{label}_std"] = _std(values)
    out["n_rows"] = int(per_seed[0]["n_rows"])
    out["n_seeds"] = len(per_seed)
    out["per_seed"] = [{k: v for k, v in s.items() if k != "n_rows"} for s in per_seed]
    return out


def method_name(featurizer: str, head: str) -> str:
    """``opcode-histogram`` for the default XGBoost head, ``opcode-histogram+mlp`` otherwise."""
    return featurizer if head == "xgboost" else f"{featurizer}+{head}"
