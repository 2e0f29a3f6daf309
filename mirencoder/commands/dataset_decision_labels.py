"""``mirencoder dataset decision-labels DIR``: the -O3 loop vectoriser's decisions for every
source of a built dataset (the labels of compiler-decision prediction)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="a folder written by `mirencoder dataset build`")
    parser.add_argument("--workers", type=int, default=None, help="clang processes at once")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="extracted archives and cached clang outputs (default: the "
                        "probes' cache, runs/probes/cache)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mirencoder.training.evaluation.probes.config import ProbeConfig
    from mirencoder.training.pretraining.decision_labels import (
        DecisionLabelsConfig,
        build_decision_labels,
    )

    config = DecisionLabelsConfig(cache_dir=args.cache_dir or ProbeConfig().cache_dir,
                                  **({"workers": args.workers} if args.workers else {}))
    bar = tqdm(desc="decision labels", unit="source", disable=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(1)

    summary = build_decision_labels(args.dataset, config, progress=progress)
    bar.close()
    print(json.dumps(summary, indent=2))
    return 0
