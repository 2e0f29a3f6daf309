"""``mirencoder dataset build INPUT... --out DIR``."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from mirencoder.infra.config import add_config_arguments, config_from_args, print_if_dry_run
from mirencoder.infra.errors import ConfigError
from mirencoder.pipelines.config import BuildConfig, InputSpec, recipe_path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="folders, files or .tar/.tar.gz/.tar.bz2 archives (added to the "
                             "recipe's inputs)")
    parser.add_argument("--out", required=True, type=Path, help="dataset folder to write")
    add_config_arguments(parser, BuildConfig, config_flags=("--recipe", "--config"),
                         config_help="recipe: a name in datasets/ or a YAML path")
    parser.add_argument("--corpus", help="corpus label for the INPUTs given on the command line")
    parser.add_argument("--data-dir", type=Path, help="the public data folder, when it is not "
                        "../shared/data beside the checkout: the recipe's inputs under "
                        "../shared/data and the evaluation kernels are read from here")
    parser.add_argument("--address", help="Ray cluster address (default: embedded local Ray, "
                                          "or RAY_ADDRESS when set)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the embedded local Ray")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a folder holding another build")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or summary")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(BuildConfig, args, find=recipe_path)
    extra = [InputSpec(path=str(Path(p).resolve()), corpus=args.corpus) for p in args.inputs]
    if extra:
        config = dataclasses.replace(config, inputs=[*config.inputs, *extra])
    if args.data_dir is not None:
        from mirencoder.pipelines.recipes import with_data_dir

        if not args.data_dir.is_dir():
            raise ConfigError(f"--data-dir {args.data_dir}: no such folder")
        config = with_data_dir(config, args.data_dir)
    if not config.inputs:
        raise ConfigError("nothing to build: give INPUT paths or --recipe")
    if print_if_dry_run(config, args, "resolved build configuration"):
        return 0
    if args.num_cpus is not None and (args.num_cpus < 1 or args.address):
        raise ConfigError("--num-cpus sizes the embedded local Ray: a whole number >= 1, "
                          "without --address (a cluster has the CPUs it has)")
    from mirencoder.pipelines.build import build_dataset

    index = build_dataset(config, args.out, address=args.address, num_cpus=args.num_cpus,
                          overwrite=args.overwrite, show_progress=not args.quiet)
    return 0 if index["counts"]["ok"] > 0 else 1
