"""Runs each featurizer once over a task's programs, timing it and collecting its failures."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from .features.base import Featurizer, failed_rows
from .programs import EvalProgram

__all__ = ["featurize_programs"]


def featurize_programs(data_programs: Sequence[EvalProgram], featurizers: Sequence[Featurizer],
                       progress: bool = True) -> tuple[dict[str, np.ndarray],
                                                      dict[str, dict[str, Any]]]:
    """Runs each featurizer once over the programs; returns features and per-featurizer info."""
    features: dict[str, np.ndarray] = {}
    info: dict[str, dict[str, Any]] = {}
    for featurizer in tqdm(featurizers, desc="feature sets", unit="set", disable=not progress):
        start = time.perf_counter()
        matrix = np.asarray(featurizer.featurize(list(data_programs)), dtype=np.float64)
        seconds = time.perf_counter() - start
        failures = dict(featurizer.errors)
        for index in np.flatnonzero(failed_rows(matrix)):
            failures.setdefault(data_programs[index].key, "non-finite features")
        features[featurizer.name] = matrix
        info[featurizer.name] = {"description": featurizer.description,
                                 "dimensions": int(matrix.shape[1]),
                                 "seconds": round(seconds, 3),
                                 "ms_per_program": round(1000 * seconds / max(1, len(matrix)), 3),
                                 "failures": failures}
    return features, info
