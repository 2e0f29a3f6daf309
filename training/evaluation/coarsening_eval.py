"""Thread coarsening: every feature set through the published leave-one-row-out protocol and
the leakage-free leave-one-kernel-out protocol."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ...infra.cpus import resolve_workers
from ...infra.errors import ConfigError
from .coarsening_data import (
    COARSENING_PLATFORMS,
    CoarseningData,
    load_thread_coarsening,
)
from .crossval import aggregate_seeds, cross_val_predict, method_name
from .feature_runs import featurize_programs
from .features.base import Featurizer
from .folds import leave_group_out, leave_one_row_out
from .head_factory import make_head
from .heads import HEADS, program_basis_head
from .metrics import coarsening_metrics
from .paths import default_cache_dir, default_data_dir

__all__ = ["CoarseningConfig", "COARSENING_PROTOCOLS", "coarsening_features",
           "evaluate_coarsening_rows", "run_thread_coarsening"]

COARSENING_PROTOCOLS = ("literature", "leakage-free")


@dataclass(kw_only=True, slots=True)
class CoarseningConfig:
    """Settings of ``mirencoder eval thread-coarsening``."""

    data_dir: Path = field(default_factory=default_data_dir)
    """Data root holding ``thread-coarsening/``."""
    cache_dir: Path = field(default_factory=default_cache_dir)
    """Where the IR archive is extracted."""
    protocols: tuple[str, ...] = COARSENING_PROTOCOLS
    """``literature`` (leave one of the 68 kernel x platform rows out) and/or ``leakage-free``
    (leave one kernel out on all four platforms)."""
    seeds: int = 3
    """Head seeds; mean +- std over them (the folds themselves are deterministic)."""
    heads: tuple[str, ...] = ("xgboost",)
    """Heads trained on each feature set."""
    n_jobs: int = 0
    """Folds trained at once, in threads (0: one per usable CPU); each XGBoost head is
    single-threaded. Results do not depend on it."""
    tree_method: str = "hist"
    """XGBoost tree method."""
    program_rotation: bool = False
    """Diagnostic, not the published protocols: the head sees each program representation
    (of more than one column) standardised and turned by a random rotation, one per seed
    (``heads.RotatedProgramHead``): the same information in another basis."""

    def __post_init__(self) -> None:
        problems = []
        for name, values, allowed in (("protocols", self.protocols, COARSENING_PROTOCOLS),
                                      ("heads", self.heads, HEADS)):
            bad = [v for v in values if v not in allowed]
            if bad or not values:
                problems.append(f"{name} must be a non-empty subset of {allowed}, got {values}")
        if not 1 <= self.seeds <= 100:
            problems.append(f"seeds must be in [1, 100], got {self.seeds}")
        if self.tree_method not in {"hist", "exact", "approx"}:
            problems.append(f"tree_method must be hist, exact or approx, got {self.tree_method!r}")
        if self.n_jobs < 0:
            problems.append(f"n_jobs must be >= 0 (0: one per usable CPU), got {self.n_jobs}")
        if problems:
            raise ConfigError(problems)


def coarsening_features(data: CoarseningData, program_features: np.ndarray) -> np.ndarray:
    """Row features as in IR2Vec's notebook: the program vector plus a platform one-hot."""
    platform_index = {p: i for i, p in enumerate(COARSENING_PLATFORMS)}
    one_hot = np.zeros((len(data.rows), len(COARSENING_PLATFORMS)))
    one_hot[np.arange(len(data.rows)), data.rows["platform"].map(platform_index).to_numpy()] = 1
    return np.hstack([program_features[data.rows["program"].to_numpy()], one_hot])


def evaluate_coarsening_rows(data: CoarseningData, program_features: dict[str, np.ndarray],
                             config: CoarseningConfig, *, progress: bool = True
                             ) -> dict[str, dict[str, dict[str, Any]]]:
    """Returns ``protocol -> platform (lower case, plus average) -> method -> metrics``.

    Predictions are capped at the largest factor measured for the row (as published).
    """
    rows = data.rows
    labels = rows["oracle_cf"].to_numpy()
    fold_sets = {"literature": leave_one_row_out(len(rows)),
                 "leakage-free": leave_group_out(rows["kernel"].to_numpy())}
    jobs = [(p, f, h) for p in config.protocols for f in program_features for h in config.heads]
    results: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in config.protocols}
    workers = resolve_workers(config.n_jobs)
    bar = tqdm(total=len(jobs) * config.seeds, desc="thread-coarsening folds", unit="cv",
               disable=not progress)
    for protocol, feature_name, head in jobs:
        features = coarsening_features(data, program_features[feature_name])
        columns = program_features[feature_name].shape[1]
        per_seed = []
        predicted = None
        for seed in range(config.seeds):
            factory = partial(make_head, head, "coarsening", seed, config.tree_method)
            factory = program_basis_head(factory, columns, seed,
                                         rotation=config.program_rotation)
            # Both protocols' folds are fixed; a deterministic head gives the same predictions
            # for every seed, so they are computed once.
            if predicted is None or not factory().deterministic:
                predicted = cross_val_predict(features, labels, fold_sets[protocol], factory,
                                              workers=workers)
            per_seed.append(coarsening_metrics(rows, predicted, data.runtimes,
                                               COARSENING_PLATFORMS))
            bar.update(1)
        for platform in per_seed[0]:
            results[protocol].setdefault(platform, {})[method_name(feature_name, head)] = \
                aggregate_seeds([s[platform] for s in per_seed])
    bar.close()
    fixed = {"static": np.ones(len(rows), dtype=int), "oracle": labels}
    for protocol in config.protocols:
        for method, predicted in fixed.items():
            scores = coarsening_metrics(rows, predicted, data.runtimes, COARSENING_PLATFORMS)
            for platform, metrics in scores.items():
                results[protocol].setdefault(platform, {})[method] = aggregate_seeds([metrics])
    return results


def run_thread_coarsening(config: CoarseningConfig, featurizers: Sequence[Featurizer], *,
                          progress: bool = True) -> dict[str, dict[str, Any]]:
    """Runs thread coarsening; kernels that any featurizer fails on are dropped for all.

    Returns:
        ``{"thread-coarsening": {"results": ..., "meta": ...}}``.
    """
    start = time.perf_counter()
    data = load_thread_coarsening(Path(config.data_dir), Path(config.cache_dir))
    load_seconds = time.perf_counter() - start
    features, info = featurize_programs(data.programs, featurizers, progress)
    failed = set().union(*(set(i["failures"]) for i in info.values())) if info else set()
    if failed:
        keep = ~data.rows["kernel"].isin(failed)
        data.rows = data.rows[keep].reset_index(drop=True)
        data.coverage["excluded_kernels"] = sorted(failed)
        data.coverage["rows"] = len(data.rows)
    cv_start = time.perf_counter()
    results = evaluate_coarsening_rows(data, features, config, progress=progress)
    meta = {"coverage": data.coverage, "repairs": [], "featurizers": info,
            "protocols": list(config.protocols),
            "platforms": [p.lower() for p in COARSENING_PLATFORMS] + ["average"],
            "seeds": config.seeds, "heads": list(config.heads), "tree_method": config.tree_method,
            "program_rotation": config.program_rotation,
            "timing_s": {"load": round(load_seconds, 2),
                         "featurize": round(sum(i["seconds"] for i in info.values()), 2),
                         "cross_validation": round(time.perf_counter() - cv_start, 2),
                         "total": round(time.perf_counter() - start, 2)}}
    return {"thread-coarsening": {"results": results, "meta": meta}}
