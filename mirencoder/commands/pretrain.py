"""``mirencoder pretrain``: parse, resolve the typed config, call :func:`pretrain`."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from mirencoder.infra.errors import ConfigError
from mirencoder.training.pretraining.config import BUNDLED_CONFIG_DIR
from mirencoder.training.pretraining.config_merge import config_to_yaml, field_help, resolve_config

__all__ = ["add_arguments", "run", "config_path"]

CONFIG_DIR = BUNDLED_CONFIG_DIR
_OVERRIDE = "override:"


def config_path(value: str) -> Path:
    """A YAML path, or the name of a bundled config (``tiny``, ``base``)."""
    path = Path(value)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    bundled = CONFIG_DIR / f"{value}.yaml"
    if bundled.exists():
        return bundled
    known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise ConfigError(f"no config file {value!r} (bundled configs: {known})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None,
                        help="YAML recipe, e.g. training/configs/tiny.yaml (or just 'tiny')")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config and exit")
    parser.add_argument("--resume", action="store_true",
                        help="continue from <output_dir>/checkpoints/last.ckpt to the same "
                             "final step")
    parser.add_argument("--ray-address", default=None, metavar="ADDR",
                        help="run under Ray Train on a cluster (auto | ray://host:port | local)")
    parser.add_argument("--name", dest=_OVERRIDE + "name", default=argparse.SUPPRESS, metavar="NAME",
                        help="run name (default output folder runs/pretrain/<name>)")
    group = parser.add_argument_group(
        "config overrides", "any field as --section.key=value; merged over the YAML recipe")
    for key, (text, default) in field_help().items():
        group.add_argument(f"--{key}", dest=_OVERRIDE + key, default=argparse.SUPPRESS,
                           metavar="V", help=f"{text} [{default!r}]")


def run(args: argparse.Namespace) -> int:
    overrides = {}
    for dest, value in vars(args).items():
        if dest.startswith(_OVERRIDE):
            overrides[dest[len(_OVERRIDE):]] = yaml.safe_load(value) if value != "" else ""
    yaml_path = config_path(args.config) if args.config else None
    config = resolve_config(yaml_path, overrides)
    if args.dry_run:
        from mirencoder.training.pretraining.config import config_hash

        print(f"# resolved config (hash {config_hash(config)})")
        print(config_to_yaml(config), end="")
        return 0
    from mirencoder.training.pretraining.pretrain import pretrain

    result = pretrain(config, resume=args.resume, ray_address=args.ray_address)
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
