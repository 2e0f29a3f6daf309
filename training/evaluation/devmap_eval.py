"""Heterogeneous device mapping: every feature set through the literature's and the
leakage-free folds, per platform and seed."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ...infra.cpus import resolve_workers
from ...infra.errors import ConfigError
from .crossval import aggregate_seeds, cross_val_predict, method_name
from .devmap_data import (
    DEVMAP_PLATFORMS,
    STATIC_DEVICE,
    DevMapData,
    load_devmap,
)
from .feature_runs import featurize_programs
from .features.base import Featurizer
from .folds import (
    LITERATURE_SPLIT_SEEDS,
    kernel_grouped_folds,
    literature_folds,
    subsample_training_groups,
)
from .head_factory import make_head
from .heads import DEVMAP_HEADS, Head, program_basis_head
from .metrics import (
    devmap_metrics,
    devmap_oracle_metrics,
    devmap_static_metrics,
)
from .neighbour_head import neighbour_label_head
from .paths import default_cache_dir, default_data_dir

__all__ = ["DevMapConfig", "PROTOCOLS", "devmap_protocol_keys", "evaluate_devmap_rows",
           "featurize_devmap", "own_head_factories", "run_devmap"]

PROTOCOLS = ("literature", "leakage-free")


@dataclass(kw_only=True, slots=True)
class DevMapConfig:
    """Settings of ``mirencoder eval devmap``."""

    data_dir: Path = field(default_factory=default_data_dir)
    """Data root holding ``devmap/``."""
    cache_dir: Path = field(default_factory=default_cache_dir)
    """Where archives are extracted and kernels compiled."""
    row_sets: tuple[str, ...] = ("669", "680")
    """``669`` (ready IR) and/or ``680`` (OpenCL compiled here)."""
    platforms: tuple[str, ...] = DEVMAP_PLATFORMS
    """``amd`` and/or ``nvidia``."""
    protocols: tuple[str, ...] = PROTOCOLS
    """``literature`` (shuffled stratified 10-fold) and/or ``leakage-free`` (kernel-grouped)."""
    split_seeds: tuple[int, ...] = LITERATURE_SPLIT_SEEDS
    """``random_state`` values of the literature folds, each reported as its own protocol."""
    seeds: int = 3
    """Head seeds (and, for leakage-free, fold seeds) per setting; mean +- std over them."""
    heads: tuple[str, ...] = ("xgboost",)
    """Heads trained on each feature set: ``xgboost`` (the published settings), ``mlp``,
    ``stacked`` (an MLP added to the run-time inputs' trees, :mod:`~.stacked_head`)."""
    n_splits: int = 10
    """Folds per cross-validation."""
    n_jobs: int = 0
    """Folds trained at once, in threads (0: one per usable CPU); each XGBoost head is
    single-threaded, which is fastest on data this small. Results do not depend on it."""
    tree_method: str = "hist"
    """XGBoost tree method: ``hist`` or ``exact`` (the pre-2.0 default of the published runs)."""
    program_dims: int = 0
    """Diagnostic, not the published protocols: the head sees each program representation
    reduced to its first K principal components (standardised columns, fitted on each
    training fold; ``heads.ReducedProgramHead``) beside the run-time inputs. 0: off."""
    program_rotation: bool = False
    """Diagnostic, not the published protocols: the head sees each program representation
    (of more than one column) standardised and turned by a random rotation, one per seed
    (``heads.RotatedProgramHead``): the same information in another basis."""
    program_neighbours: int = 0
    """Diagnostic, not the published protocols: the head sees, in place of each program
    representation, the label shares of its K nearest training programs (standardised
    columns, Euclidean; a training row's own kernel left out) beside the run-time inputs
    (``neighbour_head.NeighbourLabelHead``): what a representation's geometry, rather than its
    coordinates, tells the head. 0: off."""
    train_kernels: float = 1.0
    """Diagnostic, not the published protocols (label efficiency): each fold trains on this
    share of its training kernels, drawn per fold seed (``folds.subsample_training_groups``);
    the test rows are the protocol's. 1: the protocol."""

    def __post_init__(self) -> None:
        problems = []
        for name, values, allowed in (("row_sets", self.row_sets, ("669", "680")),
                                      ("platforms", self.platforms, DEVMAP_PLATFORMS),
                                      ("protocols", self.protocols, PROTOCOLS),
                                      ("heads", self.heads, DEVMAP_HEADS)):
            bad = [v for v in values if v not in allowed]
            if bad or not values:
                problems.append(f"{name} must be a non-empty subset of {allowed}, got {values}")
        if not 1 <= self.seeds <= 100:
            problems.append(f"seeds must be in [1, 100], got {self.seeds}")
        if not 2 <= self.n_splits <= 100:
            problems.append(f"n_splits must be in [2, 100], got {self.n_splits}")
        if self.tree_method not in {"hist", "exact", "approx"}:
            problems.append(f"tree_method must be hist, exact or approx, got {self.tree_method!r}")
        if self.n_jobs < 0:
            problems.append(f"n_jobs must be >= 0 (0: one per usable CPU), got {self.n_jobs}")
        if self.program_dims < 0:
            problems.append(f"program_dims must be >= 0 (0: off), got {self.program_dims}")
        if not 0 < self.train_kernels <= 1:
            problems.append(f"train_kernels must be in (0, 1], got {self.train_kernels}")
        if self.program_neighbours < 0:
            problems.append(f"program_neighbours must be >= 0 (0: off), got "
                            f"{self.program_neighbours}")
        if sum(map(bool, (self.program_rotation, self.program_dims,
                          self.program_neighbours))) > 1:
            problems.append("program_rotation, program_dims and program_neighbours are separate "
                            "diagnostics: set one of them")
        if problems:
            raise ConfigError(problems)


def devmap_protocol_keys(config: DevMapConfig) -> list[str]:
    """``literature-rs104``, ``literature-rs204``, ``leakage-free`` (as configured)."""
    keys = []
    if "literature" in config.protocols:
        keys += [f"literature-rs{s}" for s in config.split_seeds]
    if "leakage-free" in config.protocols:
        keys.append("leakage-free")
    return keys


def _folds(protocol: str, labels: np.ndarray, groups: np.ndarray, seed: int,
           n_splits: int) -> list:
    if protocol.startswith("literature-rs"):
        return literature_folds(labels, int(protocol.removeprefix("literature-rs")), n_splits)
    return kernel_grouped_folds(labels, groups, seed, n_splits)


def own_head_factories(featurizers: Sequence[Featurizer]) -> dict[str, Callable[[int], Head]]:
    """``name -> make_head(seed)`` of the feature sets that bring their own head (the
    fine-tuned encoder, whose feature is a program index: see ``evaluation/finetune.py``)."""
    return {f.name: f.make_head for f in featurizers if callable(getattr(f, "make_head", None))}


def evaluate_devmap_rows(data: DevMapData, program_features: dict[str, np.ndarray],
                         config: DevMapConfig, *, progress: bool = True,
                         own_heads: Mapping[str, Callable[[int], Head]] | None = None,
                         test_program_features: dict[str, np.ndarray] | None = None
                         ) -> dict[str, dict[str, dict[str, Any]]]:
    """Cross-validates every (feature set, head) on every platform and protocol.

    Args:
        data: the rows (already without rows any featurizer failed on).
        program_features: ``featurizer name -> [len(data.programs), D]``.
        config: protocols, seeds, heads.
        own_heads: feature sets trained with their own head (``name -> make_head(seed)``)
            instead of ``config.heads``; their method is named after the feature set.
        test_program_features: the same programs featurized another way (e.g. compiled at
            another optimisation level: ``level_shift.py``), from which every fold's test rows
            are predicted; default: ``program_features``.

    Returns:
        ``protocol -> platform -> method -> aggregated metrics`` (``static`` and ``oracle``
        included).
    """
    protocols = devmap_protocol_keys(config)
    own_heads = own_heads or {}
    jobs = [(p, plat, f, h) for p in protocols for plat in config.platforms
            for f in program_features
            for h in ((None,) if f in own_heads else config.heads)]
    results: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in protocols}
    workers = resolve_workers(config.n_jobs)
    bar = tqdm(total=len(jobs) * config.seeds, desc=f"{data.name} folds", unit="cv",
               disable=not progress)
    for protocol, platform, feature_name, head in jobs:
        table = data.tables[platform]
        static = STATIC_DEVICE[platform]
        runtime_inputs = table[["transfer", "wgsize"]].to_numpy(float)
        rows = table["program"].to_numpy()
        features = np.hstack([program_features[feature_name][rows], runtime_inputs])
        test_features = None if test_program_features is None else np.hstack(
            [test_program_features[feature_name][rows], runtime_inputs])
        labels = table["oracle"].to_numpy().astype(str)
        groups = table["benchmark"].to_numpy()
        per_seed = []
        reuse = None
        columns = program_features[feature_name].shape[1]
        for seed in range(config.seeds):
            factory = (partial(own_heads[feature_name], seed) if head is None else
                       partial(make_head, head, "devmap", seed, config.tree_method))
            if head is not None:
                factory = program_basis_head(factory, columns, seed, dims=config.program_dims,
                                             rotation=config.program_rotation)
                factory = neighbour_label_head(factory, columns, config.program_neighbours)
            # The literature folds do not depend on the seed; a deterministic head then gives
            # the same predictions for every seed, so they are computed once.
            if reuse is None or not (protocol.startswith("literature")
                                     and config.train_kernels == 1
                                     and factory().deterministic):
                folds = subsample_training_groups(
                    _folds(protocol, labels, groups, seed, config.n_splits), labels, groups,
                    config.train_kernels, seed)
                reuse = cross_val_predict(features, labels, folds, factory, groups,
                                          test_features, workers=workers)
            per_seed.append(devmap_metrics(reuse, table, static))
            bar.update(1)
        slot = results[protocol].setdefault(platform, {})
        method = feature_name if head is None else method_name(feature_name, head)
        slot[method] = aggregate_seeds(per_seed)
    bar.close()
    for protocol in protocols:
        for platform in config.platforms:
            table, static = data.tables[platform], STATIC_DEVICE[platform]
            slot = results[protocol].setdefault(platform, {})
            slot["static"] = aggregate_seeds([devmap_static_metrics(table, static)])
            slot["oracle"] = aggregate_seeds([devmap_oracle_metrics(table, static)])
    return results


def featurize_devmap(data: DevMapData, featurizers: Sequence[Featurizer], progress: bool = True
                     ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every feature set on the row set's programs; rows any featurizer failed on are dropped
    from ``data`` (equal rows for every method).

    Returns:
        ``name -> [len(data.programs), D]`` and ``name -> featurizing info``.
    """
    features, info = featurize_programs(data.programs, featurizers, progress)
    failed = set().union(*(set(i["failures"]) for i in info.values())) if info else set()
    data.exclude_programs(failed, "featurize_failed")
    return features, info


def run_devmap(config: DevMapConfig, featurizers: Sequence[Featurizer], *,
               progress: bool = True) -> dict[str, dict[str, Any]]:
    """Runs device mapping on each configured row set.

    Rows that any featurizer cannot handle are excluded from every method (equal rows), and
    rows whose OpenCL kernel does not compile are excluded from the 680-row set; both are
    counted in the returned coverage.

    Returns:
        ``task name (devmap-669 / devmap-680) -> {"results": ..., "meta": ...}``.
    """
    out: dict[str, dict[str, Any]] = {}
    for row_set in config.row_sets:
        start = time.perf_counter()
        data = load_devmap(row_set, Path(config.data_dir), Path(config.cache_dir))
        load_seconds = time.perf_counter() - start
        features, info = featurize_devmap(data, featurizers, progress)
        cv_start = time.perf_counter()
        own_heads = own_head_factories(featurizers)
        results = evaluate_devmap_rows(data, features, config, progress=progress,
                                       own_heads=own_heads)
        meta = {
            "coverage": data.coverage, "repairs": data.repairs, "featurizers": info,
            "protocols": devmap_protocol_keys(config), "platforms": list(config.platforms),
            "seeds": config.seeds, "heads": list(config.heads), "n_splits": config.n_splits,
            "tree_method": config.tree_method, "program_dims": config.program_dims,
            "program_rotation": config.program_rotation,
            "program_neighbours": config.program_neighbours,
            "train_kernels": config.train_kernels,
            "own_head_settings": {f.name: f.settings() for f in featurizers
                                  if f.name in own_heads and hasattr(f, "settings")},
            "timing_s": {"load": round(load_seconds, 2),
                         "featurize": round(sum(i["seconds"] for i in info.values()), 2),
                         "cross_validation": round(time.perf_counter() - cv_start, 2),
                         "total": round(time.perf_counter() - start, 2)},
        }
        out[data.name] = {"results": results, "meta": meta}
    return out
