"""``mirencoder eval thread-coarsening``: coarsening-factor prediction with the published
leave-one-row-out protocol and the leakage-free leave-one-kernel-out protocol."""

from __future__ import annotations

import argparse

from mirencoder.training.evaluation.coarsening_eval import CoarseningConfig, run_thread_coarsening
from mirencoder.training.evaluation.command_support import (
    add_common_arguments,
    build_featurizers,
    report_evaluation,
    split_list,
)

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--protocols", default="literature,leakage-free",
                        help="literature (leave one of 68 kernel x platform rows out) and/or "
                             "leakage-free (leave one kernel out on all four platforms)")


def run(args: argparse.Namespace) -> int:
    config = CoarseningConfig(
        data_dir=args.data_dir, cache_dir=args.cache_dir, protocols=split_list(args.protocols),
        seeds=args.seeds, heads=split_list(args.heads), n_jobs=args.n_jobs,
        tree_method=args.tree_method)
    featurizers, encoder = build_featurizers(args)
    task_runs = run_thread_coarsening(config, featurizers, progress=not args.quiet)
    return report_evaluation(task_runs, args, encoder, "eval thread-coarsening")
