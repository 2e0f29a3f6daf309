"""Control: no program features at all, only the run-time inputs every row carries."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..programs import EvalProgram

__all__ = ["RuntimeOnlyFeaturizer"]


class RuntimeOnlyFeaturizer:
    """An empty program vector: the head sees only ``transfer`` and ``wgsize`` (device mapping)
    or the platform one-hot (thread coarsening).

    It measures how much of a score the run-time inputs explain before any program
    representation is added; under kernel-grouped folds it is the floor every feature set must
    beat.
    """

    name = "runtime-only"
    description = ("no program features: only transfer + wgsize (device mapping) or the platform "
                   "one-hot (thread coarsening)")

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        self.errors = {}
        return np.zeros((len(programs), 0), dtype=np.float32)
