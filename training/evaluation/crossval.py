"""Cross-validated predictions of a head over given folds, and the seed aggregation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .folds import Fold
from .heads import Head

__all__ = ["cross_val_predict", "aggregate_seeds", "method_name"]


def cross_val_predict(features: np.ndarray, labels: np.ndarray, folds: Sequence[Fold],
                      make_head: Callable[[], Head], groups: np.ndarray | None = None,
                      test_features: np.ndarray | None = None) -> np.ndarray:
    """Trains a fresh head per fold and predicts its test rows; a head that declares
    ``uses_groups`` also gets the training rows' ``groups`` (e.g. the kernel of each row).
    ``test_features`` (same rows as ``features``, e.g. the programs compiled another way) are
    what the test rows are predicted from; default: ``features``.

    Raises:
        ValueError: when the folds do not cover every row exactly once.
    """
    labels = np.asarray(labels)
    test_features = features if test_features is None else test_features
    if test_features.shape != features.shape:
        raise ValueError(f"test_features {test_features.shape} must match features "
                         f"{features.shape}")
    predicted = np.empty(len(labels), dtype=labels.dtype)
    covered = np.zeros(len(labels), dtype=int)
    for train, test in folds:
        head = make_head()
        if groups is not None and getattr(head, "uses_groups", False):
            head.fit(features[train], labels[train], groups=np.asarray(groups)[train])
        else:
            head.fit(features[train], labels[train])
        predicted[test] = head.predict(test_features[test])
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
