"""``mirencoder registry register RUN_OR_PACKAGE [--alias candidate] [--name mirencoder]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from mirencoder.commands.registry_options import add_registry_arguments, resolve_registry_config

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path,
                        help="a finished pre-training run folder (runs/pretrain/NAME, trained "
                             "with tracking.register=false) or an encoder package folder")
    parser.add_argument("--alias", default="candidate", help="the alias the new version gets")
    add_registry_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.registry.pretrain_register import register_run_folder

    config = resolve_registry_config(args)
    if config is None:
        return 0
    info = register_run_folder(args.path, name=config.name, tracking_uri=config.tracking_uri,
                               alias=args.alias)
    print(f"{config.name} version {info.version} registered from {args.path} "
          f"(aliases: {', '.join(info.aliases)}); pull it as models:/{config.name}@{args.alias}")
    return 0
