"""``mirencoder pretrain export --checkpoint FILE --out DIR``: a checkpoint's encoder as a
package (probe a run part-way, or an interrupted one)."""

from __future__ import annotations

import argparse

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
    refuse_unusable_outputs,
)
from mirencoder.infra.files import output_folder_problem
from mirencoder.training.pretraining.export import ExportConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, ExportConfig, config_help="YAML file of export settings")
    add_shorthand(parser, ExportConfig, "checkpoint", "--checkpoint", metavar="FILE")
    add_shorthand(parser, ExportConfig, "out_dir", "--out", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    import json

    from mirencoder.training.pretraining.export import export_checkpoint

    config = config_from_args(ExportConfig, args)
    if print_if_dry_run(config, args, "resolved export configuration"):
        return 0
    refuse_unusable_outputs(("--out", output_folder_problem(config.out_dir)))
    average_with = [path for path in config.average_with.split(",") if path]
    package = export_checkpoint(config.checkpoint, config.out_dir, average_with=average_with)
    lineage = json.loads((package / "lineage.json").read_text())
    averaged = f" averaged with {', '.join(average_with)}" if average_with else ""
    print(f"[export] {config.checkpoint} (step {lineage['steps']}){averaged} -> {package} "
          f"({lineage['num_parameters']:,} parameters)")
    return 0
