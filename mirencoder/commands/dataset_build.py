"""``mirencoder dataset build INPUT... --out DIR``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mirencoder.infra.errors import ConfigError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="folders, files or .tar/.tar.gz/.tar.bz2 archives (added to the "
                             "recipe's inputs)")
    parser.add_argument("--out", required=True, type=Path, help="dataset folder to write")
    parser.add_argument("--recipe", help="recipe name in datasets/ or a YAML path")
    parser.add_argument("--corpus", help="corpus label for the INPUTs given on the command line")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a setting, e.g. compile.opt_level=O0")
    parser.add_argument("--address", help="Ray cluster address (default: embedded local Ray, "
                                          "or RAY_ADDRESS when set)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the embedded local Ray")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a folder holding another build")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved configuration and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or summary")


def run(args: argparse.Namespace) -> int:
    from mirencoder.pipelines.config import (
        InputSpec,
        apply_overrides,
        config_to_dict,
        load_recipe,
    )

    config = load_recipe(args.recipe)
    if args.overrides:
        config = apply_overrides(config, args.overrides)
    config.inputs = list(config.inputs) + [
        InputSpec(path=str(Path(p).resolve()), corpus=args.corpus) for p in args.inputs]
    if not config.inputs:
        raise ConfigError("nothing to build: give INPUT paths or --recipe")
    if args.dry_run:
        print(json.dumps(config_to_dict(config), indent=2))
        return 0
    from mirencoder.pipelines.build import build_dataset

    index = build_dataset(config, args.out, address=args.address, num_cpus=args.num_cpus,
                          overwrite=args.overwrite, show_progress=not args.quiet)
    return 0 if index["counts"]["ok"] > 0 else 1
