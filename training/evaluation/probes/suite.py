"""``run_probes``: featurize every program once per method, then score both probes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..features.base import Featurizer
from ..folds import subsample_training_groups
from .config import ProbeConfig
from .data import TASKS, DecisionSet, ProbeData, RetrievalSet, prepare_probe_programs
from .decisions import (
    classification_scores,
    grouped_folds,
    majority_predictions,
    rare_classes,
)
from .fit_pool import MIN_PROCESS_WORK, FitJob, run_fit_jobs
from .geometry import embedding_geometry
from .results import ProbeResults
from .retrieval import map_at_r

__all__ = ["run_probes", "retrieval_scores", "decision_scores", "decision_scores_by_repeat",
           "RETRIEVAL_PROTOCOL", "DECISION_PROTOCOL"]

RETRIEVAL_PROTOCOL = ("each kept variant queries all others by cosine similarity; relevant = the "
                      "other variants of its source; MAP@R (Musgrave et al. 2020), query "
                      "excluded, ties broken in a seeded random order")
DECISION_PROTOCOL = ("standardised logistic regression on the -O0 IR's features; seeded "
                     "StratifiedGroupKFold; predictions pooled over folds; the cross-validation "
                     "repeated over fold seeds, mean ± std over repeats; baseline = the "
                     "training fold's majority class")


def retrieval_scores(features: np.ndarray, data: RetrievalSet, seed: int) -> dict[str, Any]:
    """MAP@R and precision@1 of one method (programs it failed on are left out)."""
    usable = np.isfinite(features).all(axis=1)
    groups = np.asarray(data.groups)[usable]
    corpora = np.asarray(data.corpora)[usable]
    scores = map_at_r(features[usable], list(groups), seed=seed)
    by_corpus = {}
    for corpus in sorted(set(data.corpora)):
        mine = corpora[scores.query_index] == corpus
        by_corpus[corpus] = float(scores.ap_at_r[mine].mean()) if mine.any() else float("nan")
    return {"map_at_r": scores.map_at_r, "precision_at_1": scores.mean_precision_at_1,
            "queries": int(len(scores.query_index)), "failed": int((~usable).sum()),
            "by_corpus": by_corpus}


def _task_setup(labels: Sequence[str], groups: Sequence[str], corpora: Sequence[str],
                config: ProbeConfig
                ) -> tuple[dict[str, Any], np.ndarray, list[list[tuple[np.ndarray, np.ndarray]]]]:
    """Classes, the kept rows and one fold split per repeat (fold seeds ``seed + r``), with
    the majority baseline scored on the same splits."""
    dropped = rare_classes(labels, config.min_class_count)
    keep = np.asarray([label not in dropped for label in labels], dtype=bool)
    y = np.asarray(labels, dtype=object)[keep]
    g = np.asarray(groups, dtype=object)[keep]
    classes = {str(c): int((y == c).sum()) for c in sorted(set(y), key=_class_order)}
    info: dict[str, Any] = {"classes": classes, "dropped_classes": dropped, "n": int(len(y))}
    if len(classes) < 2 or len(set(g)) < 2:
        info["skipped"] = "fewer than 2 classes or groups after dropping rare classes"
        return info, keep, []
    splits = [subsample_training_groups(
        grouped_folds(list(y), list(g), config.folds, config.seed + repeat), y, g,
        config.decision_train_share, config.seed + repeat)
        for repeat in range(config.fold_repeats)]
    info["folds"] = len(splits[0])
    info["repeats"] = len(splits)
    info["majority"] = _scored(y, np.asarray(corpora, dtype=object)[keep],
                               [majority_predictions(y, folds) for folds in splits])
    info["methods"] = {}
    return info, keep, splits


def repeated_scores(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Means of accuracy and macro-F1 over repeated cross-validations, with their sample
    std (0 for one repeat)."""
    out: dict[str, float] = {}
    for key in ("accuracy", "macro_f1"):
        values = np.asarray([run[key] for run in runs], dtype=np.float64)
        out[key] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    out["n"] = int(runs[0]["n"])
    out["repeats"] = len(runs)
    return out


def _class_order(label: str) -> tuple[int, float, str]:
    try:
        return 0, float(label), label
    except ValueError:
        return 1, 0.0, label


def decision_scores(method_features: dict[str, np.ndarray], data: DecisionSet,
                    config: ProbeConfig, test_features: dict[str, np.ndarray] | None = None,
                    *, min_process_work: int = MIN_PROCESS_WORK
                    ) -> dict[str, dict[str, dict[str, Any]]]:
    """Per fold grouping and task: classes, the majority baseline and each method's accuracy
    and macro-F1, means over ``config.fold_repeats`` fold seeds with their std (the same
    folds for every method); ``test_features`` (method -> the same rows at
    ``config.decision_test_level``) are what the held-out folds are predicted from. The
    cross-validations run in ``config.fit_processes`` processes when there are enough of them
    (``min_process_work`` rows x cross-validations; :mod:`.fit_pool`)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    jobs: list[FitJob] = []
    owners: list[tuple[dict[str, Any], str, np.ndarray, np.ndarray, int]] = []
    for grouping, groups in data.groups.items():
        tasks = out.setdefault(grouping, {})
        for task in TASKS:
            info, keep, splits = _task_setup(data.labels[task], groups, data.corpora, config)
            tasks[task] = info
            if not splits:
                continue
            y = np.asarray(data.labels[task], dtype=object)[keep]
            corpora = np.asarray(data.corpora, dtype=object)[keep]
            rows = np.flatnonzero(keep)
            for method in method_features:
                owners.append((info, method, y, corpora, len(splits)))
                jobs += [FitJob(method, rows, y, folds) for folds in splits]
    predictions = iter(run_fit_jobs(jobs, method_features, test_features, c=config.logreg_c,
                                    max_iter=config.logreg_max_iter, seed=config.seed,
                                    processes=config.fit_processes,
                                    min_work=min_process_work))
    for info, method, y, corpora, repeats in owners:
        info["methods"][method] = _scored(y, corpora,
                                          [next(predictions) for _ in range(repeats)])
    return out


def decision_scores_by_repeat(method_features: dict[str, np.ndarray], data: DecisionSet,
                              config: ProbeConfig,
                              test_features: dict[str, np.ndarray] | None = None
                              ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """:func:`decision_scores` once per fold seed (``config.seed + r`` for each of
    ``config.fold_repeats``): ``"<task> (<grouping> folds)" -> method -> [scores of each
    repeat]`` (accuracy, macro-F1, ``by_corpus``), settings in the probe's order."""
    from dataclasses import replace

    from .report import TASK_TITLES

    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for repeat in range(config.fold_repeats):
        once = replace(config, fold_repeats=1, seed=config.seed + repeat)
        for grouping, tasks in decision_scores(method_features, data, once,
                                               test_features).items():
            for task, info in tasks.items():
                setting = f"{TASK_TITLES.get(task, task)} ({grouping} folds)"
                for method, scores in info.get("methods", {}).items():
                    out.setdefault(setting, {}).setdefault(method, []).append(scores)
    return out


def _scored(y: np.ndarray, corpora: np.ndarray,
            predictions: Sequence[np.ndarray]) -> dict[str, Any]:
    """:func:`repeated_scores` of one set of out-of-fold predictions per repeat, plus
    ``by_corpus``: the same predictions scored on each corpus's rows alone (empty with one
    corpus: the pooled scores say it)."""
    names = sorted(set(corpora))
    by_corpus = {name: repeated_scores([classification_scores(y[corpora == name],
                                                              p[corpora == name])
                                        for p in predictions])
                 for name in names} if len(names) > 1 else {}
    return {**repeated_scores([classification_scores(y, p) for p in predictions]),
            "by_corpus": by_corpus}


def run_probes(config: ProbeConfig, featurizers: Sequence[Featurizer], *,
               data: ProbeData | None = None, skipped: dict[str, str] | None = None,
               encoder: dict[str, Any] | None = None) -> ProbeResults:
    """Runs both probes for every featurizer.

    Args:
        config: the settings.
        featurizers: the methods (see ``build_probe_featurizers``); one that raises is
            recorded in ``skipped`` and the run goes on.
        data: programs from ``prepare_probe_programs(config)`` (prepared here when None).
        skipped: rows already known to be missing (method -> reason), kept in the results.
        encoder: the encoder's identity for the report.
    """
    start = time.perf_counter()
    data = data or prepare_probe_programs(config)
    prepared = time.perf_counter()
    programs = data.programs()
    row = {p.key: i for i, p in enumerate(programs)}
    retrieval_rows = np.asarray([row[p.key] for p in data.retrieval.programs], dtype=int)
    decision_rows = np.asarray([row[p.key] for p in data.decisions.programs], dtype=int)
    test_rows = np.asarray([row[p.key] for p in data.decisions.test_programs], dtype=int)
    results = ProbeResults(skipped=dict(skipped or {}), held_out=data.held_out,
                           toolchain=data.toolchain, encoder=dict(encoder or {}),
                           config=config.to_dict())
    retrieval_methods: dict[str, Any] = {}
    decision_features: dict[str, np.ndarray] = {}
    test_features: dict[str, np.ndarray] = {}
    for featurizer in featurizers:
        began = time.perf_counter()
        try:
            features = np.asarray(featurizer.featurize(programs), dtype=np.float64)
        except Exception as error:  # noqa: BLE001 - one broken method must not end the run
            results.skipped[featurizer.name] = f"failed: {type(error).__name__}: {error}"[:300]
            continue
        results.methods[featurizer.name] = {
            "description": featurizer.description, "dim": int(features.shape[1]),
            "featurize_s": time.perf_counter() - began, "failed": len(featurizer.errors),
            "geometry": embedding_geometry(features)}
        # One number has no cosine to rank by; an identity control names the answer.
        if (len(retrieval_rows) and features.shape[1] > 1
                and getattr(featurizer, "retrieval", True)):
            retrieval_methods[featurizer.name] = retrieval_scores(
                features[retrieval_rows], data.retrieval, config.seed)
        decision_features[featurizer.name] = features[decision_rows]
        if len(test_rows):
            test_features[featurizer.name] = features[test_rows]
    featurized = time.perf_counter()
    results.retrieval = {"protocol": RETRIEVAL_PROTOCOL, "counts": data.retrieval.counts,
                         "methods": retrieval_methods}
    protocol = DECISION_PROTOCOL + (
        f"; level shift: the held-out folds are predicted from their -{config.decision_test_level}"
        " IR" if data.decisions.test_programs else "")
    results.decisions = {"protocol": protocol, "counts": data.decisions.counts,
                         "groupings": decision_scores(
                             decision_features, data.decisions, config,
                             test_features or None) if len(decision_rows) else {}}
    finished = time.perf_counter()
    results.timing = {**data.timing, "prepare_s": prepared - start,
                      "featurize_s": featurized - prepared, "probes_s": finished - featurized,
                      "total_s": finished - start, "programs": len(programs)}
    return results
