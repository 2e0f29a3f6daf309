"""One place that builds a head by name (``--heads``): the protocol's heads of
:mod:`~.heads` and the stacked head of :mod:`~.stacked_head`."""

from __future__ import annotations

from .heads import DEVMAP_HEADS, Head, MLPHead, XGBoostHead
from .stacked_head import StackedMLPHead

__all__ = ["make_head"]


def make_head(kind: str, task: str, seed: int, tree_method: str = "hist") -> Head:
    """Builds a fresh head: ``xgboost`` (published settings, one thread: evaluations train
    folds in parallel instead, ``crossval.cross_val_predict``), ``mlp`` or (device mapping)
    ``stacked``."""
    if kind == "xgboost":
        return XGBoostHead(task, seed=seed, tree_method=tree_method)
    if kind == "mlp":
        return MLPHead(task, seed=seed)
    if kind == "stacked":
        return StackedMLPHead(task, seed=seed)
    raise ValueError(f"unknown head {kind!r}; choose one of {DEVMAP_HEADS}")
