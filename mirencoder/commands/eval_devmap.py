"""``mirencoder eval devmap``: heterogeneous device mapping with the literature's and the
leakage-free protocols, beside the published numbers."""

from __future__ import annotations

import argparse

from mirencoder.infra.config import (
    add_shorthand,
    config_from_args,
    print_if_dry_run,
    refuse_unusable_outputs,
)
from mirencoder.infra.files import output_folder_problem
from mirencoder.training.evaluation.command_support import (
    add_common_arguments,
    build_featurizers,
    check_rows_can_be_added,
    report_evaluation,
)
from mirencoder.training.evaluation.devmap_eval import devmap_protocol_keys, run_devmap
from mirencoder.training.evaluation.eval_config import DevMapEvalConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, DevMapEvalConfig, "devmap")
    add_shorthand(parser, DevMapEvalConfig, "devmap.row_sets", "--row-sets", metavar="LIST",
                  help="669 (ready IR of IR2Vec's variant) and/or 680 (the CGO'17 OpenCL "
                       "sources, compiled here)")
    add_shorthand(parser, DevMapEvalConfig, "devmap.platforms", "--platforms", metavar="LIST")
    add_shorthand(parser, DevMapEvalConfig, "devmap.protocols", "--protocols", metavar="LIST")
    add_shorthand(parser, DevMapEvalConfig, "devmap.split_seeds", "--split-seeds",
                  metavar="LIST", help="random_state values of the literature folds (IR2Vec "
                                       "104, DeepTune/NCC 204), each reported")
    add_shorthand(parser, DevMapEvalConfig, "methods.finetune", "--finetune", const="true")
    add_shorthand(parser, DevMapEvalConfig, "finetune.epochs", "--finetune-epochs",
                  metavar="N")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(DevMapEvalConfig, args)
    if print_if_dry_run(config, args, "resolved evaluation configuration (eval devmap)"):
        return 0
    refuse_unusable_outputs(("--out-dir", output_folder_problem(config.report.out_dir)))
    check_rows_can_be_added(config, {
        f"devmap-{rows}": (devmap_protocol_keys(config.devmap), list(config.devmap.platforms))
        for rows in config.devmap.row_sets})
    featurizers, encoder = build_featurizers(config, progress=not args.quiet)
    task_runs = run_devmap(config.devmap, featurizers, progress=not args.quiet)
    return report_evaluation(task_runs, config, encoder, "eval devmap")
