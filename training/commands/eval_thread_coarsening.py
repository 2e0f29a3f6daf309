"""``mirencoder eval thread-coarsening``: coarsening-factor prediction with the published
leave-one-row-out protocol and the leakage-free leave-one-kernel-out protocol."""

from __future__ import annotations

import argparse

from mirencoder.training.evaluation.coarsening_eval import CoarseningConfig, run_thread_coarsening
from mirencoder.training.evaluation.command_support import (
    add_common_arguments,
    build_featurizers,
    command_line,
    log_to_mlflow_if_asked,
    print_summary_table,
    split_list,
)
from mirencoder.training.evaluation.report_files import write_report

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
    summary, paths = write_report(task_runs, args.out_dir, encoder=encoder,
                                  command=command_line("eval thread-coarsening"))
    print_summary_table(task_runs)
    print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    log_to_mlflow_if_asked(args, summary)
    return 0
