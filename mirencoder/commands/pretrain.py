"""``mirencoder pretrain``: parse, resolve the typed config, call :func:`pretrain_and_register`."""

from __future__ import annotations

import argparse

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
)
from mirencoder.training.pretraining.config import PretrainConfig, config_hash, config_path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, PretrainConfig,
                         config_help="YAML config: a path, or a bundled name in "
                                     "training/configs/ (tiny, base, champion)")
    add_shorthand(parser, PretrainConfig, "name", "--name", metavar="NAME")
    parser.add_argument("--resume", action="store_true",
                        help="continue from <output_dir>/checkpoints/last.ckpt to the same "
                             "final step")
    parser.add_argument("--ray-address", default=None, metavar="ADDR",
                        help="run under Ray Train on a cluster (auto | ray://host:port | local)")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(PretrainConfig, args, find=config_path)
    if print_if_dry_run(config, args, f"resolved config (hash {config_hash(config)})"):
        return 0
    from mirencoder.training.embedding.package_basis import ship_run_basis
    from mirencoder.training.registry.pretrain_register import pretrain_and_register

    result = pretrain_and_register(config, resume=args.resume, ray_address=args.ray_address,
                                   package_step=ship_run_basis)
    if result is None:  # a non-zero DDP rank
        return 0
    status = "finished" if result.finished else "stopped"
    print(f"[pretrain] {status} at step {result.final_step} in {result.wall_seconds:.1f} s; "
          f"run folder {result.output_dir}")
    shown = {k: v for k, v in result.metrics.items() if k.endswith(("loss", "accuracy"))}
    if shown:
        print("[pretrain] last metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in shown.items()))
    if result.package_dir:
        print(f"[pretrain] encoder package: {result.package_dir} "
              f"({result.num_parameters:,} parameters)")
    if result.mlflow_run_id:
        print(f"[pretrain] MLflow run {result.mlflow_run_id} at {result.tracking_uri}")
    if result.registered_version:
        print(f"[pretrain] registered version {result.registered_version}")
    return 0
