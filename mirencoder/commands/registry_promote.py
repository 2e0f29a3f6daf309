"""``mirencoder registry promote VERSION --alias champion [--name mirencoder]``."""

from __future__ import annotations

import argparse

from mirencoder.commands.registry_options import add_registry_arguments, resolve_registry_config

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", help="version number (or an alias, e.g. candidate)")
    parser.add_argument("--alias", default="champion", help="the alias to move")
    add_registry_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.registry.model_registry import promote

    config = resolve_registry_config(args)
    if config is None:
        return 0
    info = promote(args.version, args.alias, name=config.name, tracking_uri=config.tracking_uri)
    print(f"{config.name}@{args.alias} -> version {info.version} "
          f"(aliases now: {', '.join(info.aliases)})")
    return 0
