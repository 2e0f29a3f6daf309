"""``mirencoder embed basis --model PACKAGE --dataset DIR --out FILE``: the principal basis of
an encoder's outputs on its pre-training corpus (then ``mirencoder embed --set basis=FILE``);
``--into-package`` writes it into a package folder instead (then ``--set basis=package``)."""

from __future__ import annotations

import argparse

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
    refuse_unusable_outputs,
)
from mirencoder.infra.files import output_file_problem
from mirencoder.training.embedding.principal_basis import BasisConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, BasisConfig, config_help="YAML file of basis settings")
    add_shorthand(parser, BasisConfig, "model", "--model", metavar="URI_OR_PACKAGE")
    add_shorthand(parser, BasisConfig, "dataset", "--dataset", metavar="DIR")
    add_shorthand(parser, BasisConfig, "out", "--out", metavar="FILE")
    add_shorthand(parser, BasisConfig, "into_package", "--into-package", const="true",
                  help="write principal_basis.npz into the package folder (not yet locked or "
                       "registered) instead of --out")


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.embedding.principal_basis import fit_dataset_basis

    config = config_from_args(BasisConfig, args)
    if print_if_dry_run(config, args, "resolved basis configuration"):
        return 0
    if config.out:
        refuse_unusable_outputs(("--out", output_file_problem(config.out, (".npz",))))
    fit_dataset_basis(config, Embedder.from_uri(config.model))
    return 0
