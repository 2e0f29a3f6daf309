"""The featurizer contract: a name and ``featurize(programs) -> [N, D]`` with per-program errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..programs import EvalProgram

__all__ = ["Featurizer", "failed_rows"]


@runtime_checkable
class Featurizer(Protocol):
    """Turns programs into one fixed-size vector each.

    Attributes:
        name: the method's name in reports (``opcode-histogram``, ``ir2vec-fa``, ``encoder``).
        description: one line for the report (what it is, which version).
        errors: after :meth:`featurize`, ``program key -> reason`` for each program that could
            not be featurized; those rows of the returned matrix are NaN.
    """

    name: str
    description: str
    errors: dict[str, str]

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        """Returns a float array [len(programs), D]; failed programs get NaN rows."""
        ...


def failed_rows(features: np.ndarray) -> np.ndarray:
    """Boolean mask of rows holding any NaN (programs a featurizer could not handle)."""
    return ~np.isfinite(features).all(axis=1)
