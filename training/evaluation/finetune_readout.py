"""Rows that read a fine-tuning's fold fits besides its MLP row.

``finetune.xgboost_readout``: the protocol's XGBoost head on fine-tuned encoders.

Row ``<name>+xgboost`` reads each fold's fine-tuned encoder of a
:class:`~.finetune.FineTuneMethod` with XGBoost (published settings) on ``[fine-tuned
embedding ; transfer, wgsize]``, as the frozen rows read the frozen embedding. The MLP row and
this row share one fine-tuning per fold and seed (:meth:`FineTuneMethod.fitted_head`): does a
fine-tuned encoder serve the protocol's own head better than the frozen one, and better than
its untrained twin fine-tuned alike?

``finetune.head_only_readout``: row ``<name>+head-only``, the same MLP head as it stood after
the head-only epochs, on the frozen embeddings: what the end-to-end epochs add, per fold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...infra.errors import ConfigError
from .finetune import (
    HEAD_ONLY_READOUT_SUFFIX,
    XGBOOST_READOUT_SUFFIX,
    FineTuneHead,
    FineTuneMethod,
)
from .programs import EvalProgram

__all__ = ["FineTunedReadout", "FineTunedXGBoostHead", "HeadOnlyReadout", "HeadOnlyHead"]


class FineTunedXGBoostHead:
    """The protocol's XGBoost head on a fold's fine-tuned encoder: fits the trees on
    ``[fine-tuned embedding ; run-time inputs]`` of the training rows (the run-time inputs as
    given, min-max scaled by the head, as the frozen rows), predicts the test rows the same way.

    Args:
        method: the fine-tuning it reads (:meth:`FineTuneMethod.fitted_head`).
        seed: the run seed (the fine-tuning's and the trees').
        make_trees: a fresh XGBoost head.
    """

    deterministic = False

    def __init__(self, method: FineTuneMethod, seed: int, make_trees: Callable[[], Any]):
        self.method, self.seed, self.make_trees = method, seed, make_trees
        self.tuned: FineTuneHead | None = None
        self.trees: Any = None

    def _features(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=np.float64)
        return np.hstack([self.tuned.embeddings(features), features[:, 1:]])

    def fit(self, features: np.ndarray, labels: np.ndarray) -> FineTunedXGBoostHead:
        self.tuned = self.method.fitted_head(self.seed, features, labels)
        self.trees = None
        if self.tuned.encoder is not None:
            self.trees = self.make_trees().fit(self._features(features), np.asarray(labels))
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.tuned is None:
            raise ValueError("predict() before fit()")
        if self.trees is None:  # the training rows held one class
            return np.full(len(features), self.tuned.classes_[0])
        return self.trees.predict(self._features(features))


class FineTunedReadout:
    """The row ``<method>+xgboost``: a :class:`FineTuneMethod`'s fine-tuned encoders read by the
    protocol's XGBoost head (:class:`FineTunedXGBoostHead`), sharing its fine-tuning.

    Args:
        method: the fine-tuning (``config.xgboost_readout`` on, so it keeps each fold's
            fine-tuned encoder for this row).
        make_trees: ``seed -> fresh XGBoost head`` (the evaluation's own settings).
    """

    def __init__(self, method: FineTuneMethod, make_trees: Callable[[int], Any]):
        if not method.config.xgboost_readout:
            raise ConfigError(f"{method.name}: the XGBoost readout needs "
                              "finetune.xgboost_readout: true")
        self.method, self.make_trees = method, make_trees
        self.name = method.name + XGBOOST_READOUT_SUFFIX
        self.description = f"{method.description}; read by the protocol's XGBoost head"
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        """The fine-tuning's program-index column (prepared once for both rows)."""
        column = self.method.program_column(programs)
        self.errors = dict(self.method.errors)
        return column

    def make_head(self, seed: int = 0) -> FineTunedXGBoostHead:
        return FineTunedXGBoostHead(self.method, int(seed),
                                    lambda: self.make_trees(int(seed)))

    def settings(self) -> dict[str, Any]:
        return {**self.method.settings(), "readout": "xgboost"}


class HeadOnlyHead:
    """A fold's MLP head as it stood after the head-only epochs, on the frozen embeddings
    (:meth:`FineTuneHead.predict_head_only`), sharing the fold's fitting."""

    deterministic = False

    def __init__(self, method: FineTuneMethod, seed: int):
        self.method, self.seed = method, seed
        self.tuned: FineTuneHead | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray) -> HeadOnlyHead:
        self.tuned = self.method.fitted_head(self.seed, features, labels)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.tuned is None:
            raise ValueError("predict() before fit()")
        return self.tuned.predict_head_only(features)


class HeadOnlyReadout:
    """The row ``<method>+head-only``: each fold's head before the end-to-end epochs.

    Args:
        method: the fine-tuning (``config.head_only_readout`` on, so each fold keeps a copy
            of its head after the head-only epochs).
    """

    def __init__(self, method: FineTuneMethod):
        if not method.config.head_only_readout:
            raise ConfigError(f"{method.name}: the head-only readout needs "
                              "finetune.head_only_readout: true")
        self.method = method
        self.name = method.name + HEAD_ONLY_READOUT_SUFFIX
        self.description = (f"{method.description}; the head before the end-to-end epochs, on "
                            "the frozen embeddings")
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        """The fine-tuning's program-index column (prepared once for every row)."""
        column = self.method.program_column(programs)
        self.errors = dict(self.method.errors)
        return column

    def make_head(self, seed: int = 0) -> HeadOnlyHead:
        return HeadOnlyHead(self.method, int(seed))

    def settings(self) -> dict[str, Any]:
        return {**self.method.settings(), "readout": "head-only"}
