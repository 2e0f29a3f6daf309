"""``mirencoder pretrain twin --model PACKAGE --out DIR``: the untrained twin of an encoder
(same config and vocabularies, random weights; its own principal basis when the encoder ships
one), the control every claim about pre-training is measured against."""

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
from mirencoder.training.embedding.package_basis import TwinConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, TwinConfig, config_help="YAML file of twin settings")
    add_shorthand(parser, TwinConfig, "model", "--model", metavar="PACKAGE_OR_URI")
    add_shorthand(parser, TwinConfig, "out_dir", "--out", metavar="DIR")
    add_shorthand(parser, TwinConfig, "seed", "--seed", metavar="N")


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.embedding.package_basis import untrained_twin_with_basis
    from mirencoder.training.embedding.principal_basis import PACKAGE_BASIS_FILE
    from mirencoder.training.registry.model_cache import fetch_package

    config = config_from_args(TwinConfig, args)
    if print_if_dry_run(config, args, "resolved twin configuration"):
        return 0
    refuse_unusable_outputs(("--out", output_folder_problem(config.out_dir)))
    twin = untrained_twin_with_basis(fetch_package(config.model), config.out_dir,
                                     seed=config.seed)
    basis = (" with its own principal basis" if (twin / PACKAGE_BASIS_FILE).is_file()
             else "")
    print(f"[twin] untrained twin of {config.model} (seed {config.seed}){basis} -> {twin}")
    return 0
