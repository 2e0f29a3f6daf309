"""Does pre-training's invariance carry to DevMap? Leakage-free device mapping across
optimisation levels, frozen.

A diagnostic, not a protocol. Pre-training asks every output to place a program's variants at
other optimisation levels nearest (the invariance probe measures it on held-out programs); a
consumer gains from that when the code their head meets was compiled otherwise than the code it
was trained on. Here the 680-row set's OpenCL kernels are compiled at several levels, and the
protocol's leakage-free folds and XGBoost head are trained on the kernels at one level and
tested on the held-out kernels at another (train level = test level is the protocol at that
level; O2 is the protocol's). Kernels that fail at any level, or for any representation, are
dropped from every row alike::

    python -m mirencoder.training.evaluation.level_shift runs/pretrain/NAME/encoder \\
        --twins runs/twins/twin0 runs/twins/twin1 --levels O0,O2 --jobs 2 --report-dir .

Writes the table and a figure (``results/level_shift.png``) into ``results/summary.json`` (key
``level_shift``; ``level_shift_<output>`` with ``--embedding tokens`` or ``graph``) and
STUDIES.md (indexed in RESULTS.md).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ...pipelines.compile import OPT_LEVELS
from ..embedding.embed_config import WINDOW_POLICIES
from .devmap_data import DevMapData, load_devmap
from .devmap_eval import DevMapConfig, evaluate_devmap_rows
from .devmap_sweep import (
    DiagnosticRows,
    add_probe_arguments,
    add_rows_arguments,
    check_probe_arguments,
    check_sweep_arguments,
    rows_from_args,
    run_in_workers,
)
from .feature_runs import featurize_programs
from .level_shift_table import (
    JOTAI_SETTING,
    draw_level_shift,
    level_shift_key,
    level_shift_markdown,
    retrieval_markdown,
    shift_label,
)
from .package_features import package_featurizers
from .paths import default_cache_dir
from .probes.config import ProbeConfig
from .probes.data import DecisionSet
from .report_files import show_and_publish

__all__ = ["parse_levels", "level_pairs", "featurize_levels", "level_retrieval", "score_shift",
           "shift_jobs", "decision_features",
           "main"]

JOTAI = "jotaibench"
"""The decision probe's corpus of generated loops (its macro-F1 is the enlarged probe's
headline)."""

LevelFeatures = dict[str, dict[str, np.ndarray]]
"""``level -> feature set -> [len(reference.programs), D]`` (rows of the reference's programs)."""


def parse_levels(text: str) -> list[str]:
    """``"O0,O2"`` -> the distinct levels in order.

    Raises:
        ValueError: an unknown level, or fewer than two (the message names it).
    """
    levels = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    bad = [level for level in levels if level not in OPT_LEVELS]
    if bad:
        raise ValueError(f"unknown optimisation level(s) {bad}: choose from {OPT_LEVELS}")
    if len(levels) < 2:
        raise ValueError(f"give at least two optimisation levels, got {levels}")
    return levels


def level_pairs(levels: list[str], reference: str) -> list[tuple[str, str]]:
    """(train level, test level): each level alone, then every ordered pair of two levels
    where one of them is ``reference`` (the protocol's level) or both are the extremes."""
    same = [(level, level) for level in levels]
    shifted = [(a, b) for a, b in itertools.permutations(levels, 2)
               if reference in (a, b) or {a, b} == {levels[0], levels[-1]}]
    return same + shifted


def featurize_levels(levels: list[str], featurizers: list, data_dir: Path,
                     progress: bool = True) -> tuple[DevMapData, LevelFeatures, dict]:
    """The 680-row set compiled at every level, featurized by every representation.

    Returns:
        The first level's rows without the kernels missing or failed at any level (the
        reference), every level's features on the reference's programs, and coverage
        (kernels per level, kernels kept).
    """
    loaded = {level: load_devmap("680", data_dir, Path(default_cache_dir()), opt_level=level)
              for level in levels}
    per_level: dict[str, tuple[dict[str, int], dict[str, np.ndarray]]] = {}
    usable: dict[str, set[str]] = {}
    for level, data in loaded.items():
        features, info = featurize_programs(data.programs, featurizers, progress)
        failed = set().union(*(set(i["failures"]) for i in info.values())) if info else set()
        per_level[level] = ({p.key: i for i, p in enumerate(data.programs)}, features)
        usable[level] = {p.key for p in data.programs} - failed
    common = set.intersection(*usable.values())
    reference = loaded[levels[0]]
    reference.exclude_programs({p.key for p in reference.programs} - common,
                               "not compiled or featurized at every level")
    out: LevelFeatures = {}
    for level, (index_of, features) in per_level.items():
        rows = [index_of.get(p.key, -1) for p in reference.programs]
        out[level] = {name: np.where(np.array(rows)[:, None] >= 0, matrix[rows], np.nan)
                      for name, matrix in features.items()}
    coverage = {"kernels_per_level": {level: len(data.programs) for level, data in
                                      loaded.items()},
                "kernels_used": int(reference.coverage["kernels_used"]),
                "rows_used": int(reference.coverage["rows_used"])}
    return reference, out, coverage


def cross_level_top1(queries: np.ndarray, candidates: np.ndarray) -> float:
    """Share of queries whose nearest candidate (cosine) is their own row: row i of
    ``candidates`` is the same kernel as row i of ``queries``; a tie with k others counts
    1 / (k + 1), the expected value of a random tie-break."""
    from .probes.retrieval import cosine_similarity_matrix

    n = len(queries)
    similarity = cosine_similarity_matrix(np.vstack([queries, candidates]))[:n, n:]
    own = np.diag(similarity)[:, None]
    above = (similarity > own).sum(axis=1)
    ties = (similarity == own).sum(axis=1) - 1
    return float(np.mean(np.where(above == 0, 1.0 / (ties + 1), 0.0)))


def level_retrieval(features: LevelFeatures, programs: list[int]) -> dict[str, dict[str, Any]]:
    """Cross-level retrieval on the DevMap kernels: each kernel at one level a query against
    every kernel at another (raw vectors, cosine as the invariance probe); precision@1 per
    ordered pair of levels and their mean.

    Args:
        programs: the reference's program indices in use.

    Returns:
        ``feature set -> {"precision_at_1": mean, "pairs": {"O0->O2": p@1, ...}}``.
    """
    levels = list(features)
    out: dict[str, dict[str, Any]] = {}
    for name in features[levels[0]]:
        pairs = {f"{a}->{b}": cross_level_top1(features[a][name][programs],
                                               features[b][name][programs])
                 for a, b in itertools.permutations(levels, 2)}
        out[name] = {"precision_at_1": float(np.mean(list(pairs.values()))), "pairs": pairs}
    return out


def decision_shift_scores(train: dict[str, np.ndarray], test: dict[str, np.ndarray],
                          decisions: DecisionSet, config: ProbeConfig
                          ) -> dict[str, dict[str, dict[str, list[float]]]]:
    """The decision probe trained on -O0 features and tested on the held-out folds' -O0
    (the probe) or shifted features: ``pair label -> setting -> method -> score per fold
    seed`` (accuracy %, and the Jotai loops' macro-F1 % of vectorised? on template folds)."""
    from .probes.suite import decision_scores_by_repeat

    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for label, moved in ((shift_label("O0", "O0"), None),
                         (shift_label("O0", config.decision_test_level), test)):
        per_setting = out.setdefault(label, {})
        for setting, per_method in decision_scores_by_repeat(train, decisions, config,
                                                             moved).items():
            for method, runs in per_method.items():
                per_setting.setdefault(setting, {})[method] = [100 * r["accuracy"] for r in runs]
                jotai = [r.get("by_corpus", {}).get(JOTAI) for r in runs]
                if setting == "vectorised? (template folds)" and all(jotai):
                    per_setting.setdefault(JOTAI_SETTING, {})[method] = [
                        100 * j["macro_f1"] for j in jotai]
    return out


def decision_features(featurizers: list, decisions: DecisionSet
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every featurizer's vectors of the decision programs at -O0 (training rows) and of
    their shifted versions (``decisions.test_programs``)."""
    train, test = {}, {}
    for featurizer in tqdm(featurizers, desc="decision probe features", unit="set"):
        train[featurizer.name] = np.asarray(featurizer.featurize(decisions.programs), float)
        test[featurizer.name] = np.asarray(featurizer.featurize(decisions.test_programs), float)
    return train, test


def shift_jobs(data: DevMapData, features: LevelFeatures, labels: list[str],
               pairs: list[tuple[str, str]] | list[list[str]], platforms: list[str],
               seeds: int) -> list[tuple[str, str, tuple]]:
    """One :func:`score_shift` job per (pair of levels, platform), for ``run_in_workers``."""
    return [(label, f"{data.name} {platform}",
             (DevMapData(name=data.name, programs=[], tables={platform: data.tables[platform]}),
              features[a], features[b], platform, seeds))
            for label, (a, b) in zip(labels, pairs, strict=True) for platform in platforms]


def _decision_section(probe_dataset: Path, rows: DiagnosticRows, level: str,
                      seeds: int) -> dict[str, Any]:
    from .probes.controls import build_probe_featurizers
    from .probes.data import prepare_probe_programs

    config = ProbeConfig(dataset=probe_dataset, controls=("opcode-histogram", "program-size"),
                         fold_repeats=seeds, untrained_model="", decision_test_level=level)
    controls, _, _ = build_probe_featurizers(config)
    decisions = prepare_probe_programs(config).decisions
    featurizers = package_featurizers(rows.packages, rows.embedding) + controls
    train, test = decision_features(featurizers, decisions)
    scores = decision_shift_scores(train, test, decisions, config)
    settings = list(dict.fromkeys(s for per in scores.values() for s in per))
    return {"levels": ["O0", level], "pairs": [["O0", "O0"], ["O0", level]],
            "fractions": list(scores), "settings": settings, **rows.section(),
            "controls": [f.name for f in controls] + rows.extras, "embedding": rows.embedding,
            "seeds": seeds, "scores": scores, "counts": decisions.counts, "kind": "decisions"}


def score_shift(data: DevMapData, train: dict[str, np.ndarray], test: dict[str, np.ndarray],
                platform: str, seeds: int) -> dict[str, list[float]]:
    """Leakage-free accuracy % per fold seed of every feature set, the head trained on
    ``train`` features and the held-out kernels predicted from ``test`` features."""
    config = DevMapConfig(data_dir=Path("."), cache_dir=Path("."), platforms=(platform,),
                          protocols=("leakage-free",), seeds=seeds,
                          n_jobs=1)  # one thread per job: --jobs processes run in parallel
    rows = evaluate_devmap_rows(data, train, config, progress=False,
                                test_program_features=test)
    return {name: [seed["accuracy"] for seed in rows["leakage-free"][platform][name]["per_seed"]]
            for name in train}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rows_arguments(parser, controls="runtime-only,opcode-histogram,loop-opcode-histogram,"
                       "program-size,ir2vec-fa")
    parser.add_argument("--levels", default="O0,O2",
                        help="optimisation levels the kernels are compiled at (default "
                        "%(default)s; O2 is the protocol's)")
    parser.add_argument("--platforms", default="amd,nvidia")
    parser.add_argument("--seeds", type=int, default=3, help="fold and head seeds (default 3)")
    parser.add_argument("--jobs", type=int, default=1, help="processes (one per job)")
    add_probe_arguments(parser, "also the decision probe trained on -O0 IR and tested on the "
                        "held-out folds at --probe-level, on the held-out programs of this "
                        "pre-training dataset (section level_shift_decisions)")
    parser.add_argument("--probe-level", default="O1", choices=("O1",),
                        help="the decision probe's test level (O1: the one level the loop "
                        "vectoriser leaves untouched)")
    parser.add_argument("--retrieval-only", action="store_true",
                        help="only the cross-level retrieval on the DevMap kernels (minutes, no "
                        "head): printed, not published")
    parser.add_argument("--windows", default="", choices=("", *WINDOW_POLICIES),
                        help="the packages' token-window policy (default: the embedder's, the "
                        "first window); pool/mean take --max-windows windows, auto the "
                        "package's training policy")
    parser.add_argument("--max-windows", type=int, default=4)
    args = parser.parse_args(argv)
    if args.retrieval_only and (args.report_dir is not None or args.probe_dataset is not None):
        parser.error("--retrieval-only prints the retrieval table: drop --report-dir and "
                     "--probe-dataset")
    if args.max_windows < 1:
        parser.error(f"--max-windows must be at least 1, got {args.max_windows}")
    try:
        levels = parse_levels(args.levels)
    except ValueError as error:
        parser.error(str(error))
    check_sweep_arguments(parser, args, max_seeds=50)
    rows = rows_from_args(parser, args)
    check_probe_arguments(parser, args)
    if args.probe_dataset is not None:
        start = time.perf_counter()
        section = _decision_section(args.probe_dataset, rows, args.probe_level, args.seeds)
        section.update(seconds=round(time.perf_counter() - start, 1), note=args.note)
        show_and_publish(args.report_dir, f"{level_shift_key(rows.embedding)}_decisions",
                         section, level_shift_markdown, draw_level_shift)
    if args.skip_devmap:
        return 0
    from .features.registry import build_featurizer

    start = time.perf_counter()
    featurizers = [build_featurizer(name) for name in rows.controls] + package_featurizers(
        rows.packages, rows.embedding, windows=args.windows, max_windows=args.max_windows)
    data, features, coverage = featurize_levels(levels, featurizers, rows.data_dir)
    in_use = sorted({int(p) for table in data.tables.values() for p in table["program"]})
    if args.retrieval_only:
        print(retrieval_markdown({"retrieval": level_retrieval(features, in_use), "levels": levels,
                                  **rows.section()}))
        return 0
    platforms = [p for p in args.platforms.split(",") if p]
    pairs = level_pairs(levels, "O2" if "O2" in levels else levels[0])
    labels = [shift_label(*pair) for pair in pairs]
    done = run_in_workers(shift_jobs(data, features, labels, pairs, platforms, args.seeds),
                          score_shift, args.jobs, "level shift")
    settings = sorted({s for per in done.values() for s in per})
    section = {"levels": levels, "retrieval": level_retrieval(features, in_use),
               "pairs": [list(pair) for pair in pairs], "fractions": labels,
               "settings": settings, **rows.section(), "embedding": rows.embedding,
               "seeds": args.seeds, "coverage": coverage,
               "scores": {label: {s: done[label][s] for s in settings if s in done.get(label, {})}
                          for label in labels},
               "seconds": round(time.perf_counter() - start, 1), "note": args.note}
    show_and_publish(args.report_dir, level_shift_key(rows.embedding), section,
                     level_shift_markdown, draw_level_shift)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
