"""Control: the kernel's identity only (a one-hot of its name), no program content at all."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..programs import EvalProgram

__all__ = ["KernelIdentityFeaturizer"]


class KernelIdentityFeaturizer:
    """One-hot of ``program.kernel`` over the kernels of the task.

    Under shuffled folds the same kernel sits in training and test (other data sizes or other
    platforms), so this control measures how far memorising kernels goes; under kernel-grouped
    folds an unseen kernel gets an all-zero vector.
    """

    name = "kernel-identity"
    description = "one-hot of the kernel name (no program content)"

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        kernels = sorted({p.kernel for p in programs})
        column = {k: i for i, k in enumerate(kernels)}
        out = np.zeros((len(programs), len(kernels)), dtype=np.float32)
        for row, program in enumerate(programs):
            out[row, column[program.kernel]] = 1.0
        self.errors = {}
        return out
