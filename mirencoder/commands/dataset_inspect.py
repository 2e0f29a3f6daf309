"""``mirencoder dataset inspect DIR``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    help_field,
    print_if_dry_run,
)
from mirencoder.infra.errors import ConfigError

__all__ = ["add_arguments", "run", "InspectConfig"]


@dataclass(kw_only=True, slots=True)
class InspectConfig:
    """What the summary shows."""

    lines: int = help_field(12, "IR lines of the sample to show")

    def __post_init__(self) -> None:
        if self.lines < 0:
            raise ConfigError(f"lines must be >= 0, got {self.lines}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="a folder written by `mirencoder dataset build`")
    add_config_arguments(parser, InspectConfig)
    add_shorthand(parser, InspectConfig, "lines", "--lines", metavar="N")


def run(args: argparse.Namespace) -> int:
    from mirencoder.pipelines.inspect_dataset import inspect_dataset

    config = config_from_args(InspectConfig, args)
    if print_if_dry_run(config, args, "resolved inspection configuration"):
        return 0
    print(inspect_dataset(args.dataset, sample_lines=config.lines))
    return 0
