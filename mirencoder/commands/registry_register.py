"""``mirencoder registry register RUN_OR_PACKAGE [--alias candidate] [--name mirencoder]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
)
from mirencoder.training.registry.registry_config import RegistryConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path,
                        help="a finished pre-training run folder (runs/pretrain/NAME, trained "
                             "with tracking.register=false) or an encoder package folder")
    parser.add_argument("--alias", default="candidate", help="the alias the new version gets")
    add_config_arguments(parser, RegistryConfig, config_help="YAML file of registry settings")
    add_shorthand(parser, RegistryConfig, "name", "--name", metavar="NAME")
    add_shorthand(parser, RegistryConfig, "tracking_uri", "--tracking-uri", metavar="URI")


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.registry.pretrain_register import register_run_folder

    config = config_from_args(RegistryConfig, args)
    if print_if_dry_run(config, args, "resolved registry configuration"):
        return 0
    info = register_run_folder(args.path, name=config.name, tracking_uri=config.tracking_uri,
                               alias=args.alias)
    print(f"{config.name} version {info.version} registered from {args.path} "
          f"(aliases: {', '.join(info.aliases)}); pull it as models:/{config.name}@{args.alias}")
    return 0
