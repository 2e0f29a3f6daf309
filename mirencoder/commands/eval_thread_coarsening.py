"""``mirencoder eval thread-coarsening``: coarsening-factor prediction with the published
leave-one-row-out protocol and the leakage-free leave-one-kernel-out protocol."""

from __future__ import annotations

import argparse

from mirencoder.infra.config import (
    add_shorthand,
    config_from_args,
    print_if_dry_run,
    refuse_unusable_outputs,
)
from mirencoder.infra.files import output_folder_problem
from mirencoder.training.evaluation.coarsening_eval import run_thread_coarsening
from mirencoder.training.evaluation.command_support import (
    add_common_arguments,
    build_featurizers,
    check_rows_can_be_added,
    report_evaluation,
)
from mirencoder.training.evaluation.eval_config import CoarseningEvalConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, CoarseningEvalConfig, "thread_coarsening")
    add_shorthand(parser, CoarseningEvalConfig, "thread_coarsening.protocols", "--protocols",
                  metavar="LIST")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(CoarseningEvalConfig, args)
    if print_if_dry_run(config, args,
                        "resolved evaluation configuration (eval thread-coarsening)"):
        return 0
    refuse_unusable_outputs(("--out-dir", output_folder_problem(config.report.out_dir)))
    check_rows_can_be_added(config, {"thread-coarsening": (
        list(config.thread_coarsening.protocols), ["average"])})
    featurizers, encoder = build_featurizers(config, progress=not args.quiet)
    task_runs = run_thread_coarsening(config.thread_coarsening, featurizers,
                                      progress=not args.quiet)
    return report_evaluation(task_runs, config, encoder, "eval thread-coarsening")
