"""Does pre-training help when labels are few? DevMap leakage-free, frozen, label efficiency.

A diagnostic, not a protocol: the protocol's XGBoost head on the fused vectors of a pre-trained
encoder and its untrained twins, and on the controls, with each leakage-free fold trained on a
share of its training kernels (drawn per fold seed; the test rows stay the protocol's). The
representation-learning literature reports pre-training's gain as a function of the labelled
data (semi-supervised ImageNet at 1 % and 10 % of the labels, SimCLR; few-shot probes): a gain
that only shows with few labels is hidden at the protocol's full training folds::

    python -m mirencoder.training.evaluation.label_efficiency runs/pretrain/NAME/encoder \\
        --twins runs/pretrain/NAME/twin0 runs/pretrain/NAME/twin1 runs/pretrain/NAME/twin2 \\
        --jobs 2 --report-dir .

Writes the table and a figure (``results/label_efficiency.png``) into ``results/summary.json``
(key ``label_efficiency``) and STUDIES.md (indexed in RESULTS.md).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .devmap_data import DevMapData
from .devmap_eval import DevMapConfig, evaluate_devmap_rows
from .devmap_sweep import (
    DiagnosticRows,
    add_probe_arguments,
    add_rows_arguments,
    add_sweep_arguments,
    check_probe_arguments,
    check_sweep_arguments,
    rows_from_args,
    run_devmap_sweep,
)
from .label_efficiency_table import (
    decision_efficiency_markdown,
    draw_label_efficiency,
    fraction_label,
    label_efficiency_markdown,
)
from .package_features import package_featurizers
from .probes.config import ProbeConfig
from .probes.data import DecisionSet
from .report_files import show_and_publish

__all__ = ["parse_fractions", "score_fraction", "decision_share_scores", "main"]

DEFAULT_FRACTIONS = "0.1,0.25,0.5,1.0"
"""A tenth, a quarter and half of each fold's training kernels, and all of them (the protocol)."""


def parse_fractions(text: str) -> list[float]:
    """``"0.1,0.25,1"`` -> sorted distinct shares in (0, 1].

    Raises:
        ValueError: a malformed or out-of-range share (the message names it).
    """
    fractions = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"share {item!r}: expected a number in (0, 1]") from None
        if not 0 < value <= 1:
            raise ValueError(f"share {item!r}: must be in (0, 1]")
        fractions.add(value)
    if not fractions:
        raise ValueError("no share of training kernels given")
    return sorted(fractions)


def score_fraction(data: DevMapData, features: dict[str, np.ndarray], platform: str,
                   fraction: float, seeds: int, n_splits: int = 10) -> dict[str, list[float]]:
    """Leakage-free accuracy % per fold seed of every feature set under the protocol's XGBoost
    head, each fold trained on ``fraction`` of its training kernels
    (:func:`~.devmap_eval.evaluate_devmap_rows` with ``train_kernels``).

    Args:
        data: the row set (only ``data.tables[platform]`` is read).
        features: ``name -> [len(data.programs), D]`` program features.
    """
    config = DevMapConfig(data_dir=Path("."), cache_dir=Path("."), platforms=(platform,),
                          protocols=("leakage-free",), seeds=seeds, n_splits=n_splits,
                          train_kernels=fraction,
                          n_jobs=1)  # one thread per job: --jobs processes run in parallel
    rows = evaluate_devmap_rows(data, features, config, progress=False)
    return {name: [seed["accuracy"] for seed in rows["leakage-free"][platform][name]["per_seed"]]
            for name in features}


def decision_share_scores(features: dict[str, np.ndarray], decisions: DecisionSet,
                          config: ProbeConfig, fractions: list[float]
                          ) -> dict[str, dict[str, dict[str, list[float]]]]:
    """The decision probe (b) at each share of its training groups: ``share label -> "<task>
    (<grouping> folds)" -> method -> accuracy % per fold seed`` (``config.fold_repeats`` fold
    seeds ``seed + r``; a repeat is the probe's own repeat r)."""
    from .probes.suite import decision_scores_by_repeat

    return {fraction_label(fraction, "groups"): {
                setting: {method: [100 * run["accuracy"] for run in runs]
                          for method, runs in per_method.items()}
                for setting, per_method in decision_scores_by_repeat(
                    features, decisions, replace(config, decision_train_share=fraction)).items()}
            for fraction in fractions}


def _decision_section(probe_dataset: Path, rows: DiagnosticRows, fractions: list[float],
                      seeds: int) -> dict[str, Any]:
    from .probes.controls import build_probe_featurizers
    from .probes.data import prepare_probe_programs

    config = ProbeConfig(dataset=probe_dataset, controls=("opcode-histogram", "program-size"),
                         fold_repeats=seeds, untrained_model="")
    controls, _, _ = build_probe_featurizers(config)
    decisions = prepare_probe_programs(config).decisions
    features = {f.name: np.asarray(f.featurize(decisions.programs), dtype=np.float64)
                for f in tqdm(package_featurizers(rows.packages, rows.embedding) + controls,
                              desc="decision probe features", unit="set")}
    scores = decision_share_scores(features, decisions, config, fractions)
    settings = list(dict.fromkeys(s for per in scores.values() for s in per))  # probe order
    return {"fractions": fractions, "settings": settings, **rows.section(),
            "controls": [f.name for f in controls] + rows.extras, "seeds": seeds,
            "scores": scores, "counts": decisions.counts, "unit": "groups"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rows_arguments(parser, controls="runtime-only,opcode-histogram,loop-opcode-histogram,"
                       "program-size")
    parser.add_argument("--fractions", default=DEFAULT_FRACTIONS,
                        help="shares of each fold's training kernels (default %(default)s)")
    add_sweep_arguments(parser, seeds=5, seeds_help="fold and draw seeds per share (default 5)")
    add_probe_arguments(parser, "also the decision probe (b) at each share, on the held-out "
                        "programs of this pre-training dataset (section label_efficiency_"
                        "decisions)")
    args = parser.parse_args(argv)
    try:
        fractions = parse_fractions(args.fractions)
    except ValueError as error:
        parser.error(str(error))
    rows = rows_from_args(parser, args)
    check_sweep_arguments(parser, args, max_seeds=50)
    check_probe_arguments(parser, args)
    if args.probe_dataset is not None:
        start = time.perf_counter()
        section = _decision_section(args.probe_dataset, rows, fractions, args.seeds)
        section.update(seconds=round(time.perf_counter() - start, 1), note=args.note)
        show_and_publish(args.report_dir, "label_efficiency_decisions", section,
                         decision_efficiency_markdown, draw_label_efficiency)
    if args.skip_devmap:
        return 0
    start = time.perf_counter()
    settings, scores = run_devmap_sweep(rows, args, {fraction_label(f): f for f in fractions},
                                        score_fraction, "label efficiency")
    section = {"fractions": fractions, "settings": settings, **rows.section(),
               "seeds": args.seeds, "scores": scores,
               "seconds": round(time.perf_counter() - start, 1), "note": args.note}
    show_and_publish(args.report_dir, "label_efficiency", section,
                     label_efficiency_markdown, draw_label_efficiency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
