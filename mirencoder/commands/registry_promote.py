"""``mirencoder registry promote VERSION --alias champion [--name mirencoder]``."""

from __future__ import annotations

import argparse

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
)
from mirencoder.training.registry.registry_config import RegistryConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", help="version number (or an alias, e.g. candidate)")
    parser.add_argument("--alias", default="champion", help="the alias to move")
    add_config_arguments(parser, RegistryConfig, config_help="YAML file of registry settings")
    add_shorthand(parser, RegistryConfig, "name", "--name", metavar="NAME")
    add_shorthand(parser, RegistryConfig, "tracking_uri", "--tracking-uri", metavar="URI")


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.registry.model_registry import promote

    config = config_from_args(RegistryConfig, args)
    if print_if_dry_run(config, args, "resolved registry configuration"):
        return 0
    info = promote(args.version, args.alias, name=config.name, tracking_uri=config.tracking_uri)
    print(f"{config.name}@{args.alias} -> version {info.version} "
          f"(aliases now: {', '.join(info.aliases)})")
    return 0
