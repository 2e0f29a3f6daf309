"""The decision probe's logistic regressions, several at once in worker processes.

Each cross-validation (one method, task, grouping and fold seed) is independent and runs
single-threaded (``decisions.probe_predictions``), so results do not depend on where it runs.
scikit-learn's solver spends most of its time in Python between small BLAS calls, so threads
would wait on each other; processes do not. Starting them (spawn: a forked child would inherit
torch's thread pool) costs about two seconds, so small probes stay in this process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from ....infra.cpus import resolve_workers
from .decisions import probe_predictions

__all__ = ["FitJob", "MIN_PROCESS_WORK", "run_fit_jobs"]

MIN_PROCESS_WORK = 100_000
"""Rows x cross-validations below which the fits stay in this process (the CLI's probe on
``pretrain-variants-2cpu-v1``: about 1,100 rows x 330 cross-validations; the tests' probes:
a few thousand)."""

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class FitJob:
    """One cross-validation: ``method``'s features on the ``rows`` kept for a task."""

    method: str
    rows: np.ndarray
    labels: np.ndarray
    folds: Folds


_FEATURES: dict[str, np.ndarray] = {}
_TEST: dict[str, np.ndarray] | None = None
_SETTINGS: dict[str, float | int] = {}


def _start(features: dict[str, np.ndarray], test: dict[str, np.ndarray] | None,
           settings: dict[str, float | int]) -> None:
    """Worker initialiser: the feature matrices arrive once per process, not once per job."""
    global _FEATURES, _TEST, _SETTINGS
    _FEATURES, _TEST, _SETTINGS = features, test, settings


def _run(job: FitJob) -> np.ndarray:
    moved = None if _TEST is None else _TEST[job.method][job.rows]
    return probe_predictions(_FEATURES[job.method][job.rows], job.labels, job.folds,
                             c=_SETTINGS["c"], max_iter=_SETTINGS["max_iter"],
                             seed=_SETTINGS["seed"], test_features=moved)


def run_fit_jobs(jobs: Sequence[FitJob], features: dict[str, np.ndarray],
                 test_features: dict[str, np.ndarray] | None, *, c: float, max_iter: int,
                 seed: int, processes: int = 0, min_work: int = MIN_PROCESS_WORK
                 ) -> list[np.ndarray]:
    """Out-of-fold predictions of every job, in order.

    Args:
        processes: worker processes (0: one per usable CPU; 1: this process).
        min_work: rows x jobs below which the jobs run in this process.
    """
    settings = {"c": c, "max_iter": max_iter, "seed": seed}
    workers = min(resolve_workers(processes), len(jobs))
    work = sum(len(job.rows) for job in jobs)
    if workers <= 1 or work < min_work:
        _start(features, test_features, settings)
        try:
            return [_run(job) for job in jobs]
        finally:
            _start({}, None, {})
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start,
                             initargs=(features, test_features, settings)) as pool:
        return list(pool.map(_run, jobs, chunksize=max(1, len(jobs) // (8 * workers))))
