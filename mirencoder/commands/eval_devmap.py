"""``mirencoder eval devmap``: heterogeneous device mapping with the literature's and the
leakage-free protocols, beside the published numbers."""

from __future__ import annotations

import argparse

from mirencoder.training.evaluation.command_support import (
    add_common_arguments,
    build_featurizers,
    report_evaluation,
    split_list,
)
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, run_devmap

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--row-sets", default="669,680",
                        help="669 (ready IR of IR2Vec's variant) and/or 680 (the CGO'17 OpenCL "
                             "sources, compiled here)")
    parser.add_argument("--platforms", default="amd,nvidia", help="amd and/or nvidia")
    parser.add_argument("--protocols", default="literature,leakage-free",
                        help="literature (shuffled stratified 10-fold) and/or leakage-free "
                             "(folds grouped by kernel)")
    parser.add_argument("--split-seeds", default="104,204",
                        help="random_state values of the literature folds (IR2Vec 104, "
                             "DeepTune/NCC 204), each reported")
    parser.add_argument("--finetune", action="store_true",
                        help="also fine-tune the --model encoder end to end with an MLP head on "
                             "[embedding ; transfer, wgsize], per fold (row 'encoder+finetune'; "
                             "on one CPU core about 1 min per epoch per fold of the 669-row "
                             "set). Device mapping only: thread coarsening (17 kernels) has "
                             "too few programs to fine-tune on")
    parser.add_argument("--finetune-epochs", type=int, default=3,
                        help="epochs of fine-tuning per fold (with --finetune)")


def run(args: argparse.Namespace) -> int:
    config = DevMapConfig(
        data_dir=args.data_dir, cache_dir=args.cache_dir, row_sets=split_list(args.row_sets),
        platforms=split_list(args.platforms), protocols=split_list(args.protocols),
        split_seeds=tuple(int(s) for s in split_list(args.split_seeds)), seeds=args.seeds,
        heads=split_list(args.heads), n_jobs=args.n_jobs, tree_method=args.tree_method)
    featurizers, encoder = build_featurizers(args)
    task_runs = run_devmap(config, featurizers, progress=not args.quiet)
    return report_evaluation(task_runs, args, encoder, "eval devmap")
