"""``mirencoder dataset decision-labels DIR``: the -O3 loop vectoriser's decisions for every
source of a built dataset (the labels of compiler-decision prediction)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
)
from mirencoder.training.evaluation.probes.decision_labels import DecisionLabelsConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="a folder written by `mirencoder dataset build`")
    add_config_arguments(parser, DecisionLabelsConfig, config_help="YAML file of settings")
    add_shorthand(parser, DecisionLabelsConfig, "workers", "--workers", metavar="N")
    add_shorthand(parser, DecisionLabelsConfig, "cache_dir", "--cache-dir", metavar="DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mirencoder.training.evaluation.probes.decision_labels import build_decision_labels

    config = config_from_args(DecisionLabelsConfig, args)
    if print_if_dry_run(config, args, "resolved decision-labels configuration"):
        return 0
    bar = tqdm(desc="decision labels", unit="source", disable=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(1)

    summary = build_decision_labels(args.dataset, config, progress=progress)
    bar.close()
    print(json.dumps(summary, indent=2))
    return 0
