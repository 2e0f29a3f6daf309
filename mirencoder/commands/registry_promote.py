"""``mirencoder registry promote VERSION --alias champion [--name mirencoder]``."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", help="version number (or an alias, e.g. candidate)")
    parser.add_argument("--alias", default="champion", help="the alias to move")
    parser.add_argument("--name", default="mirencoder", help="registered model name")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow registry (default: $MLFLOW_TRACKING_URI or "
                             "sqlite:///<repo>/runs/mlflow.db)")


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.registry.model_registry import promote

    info = promote(args.version, args.alias, name=args.name, tracking_uri=args.tracking_uri)
    print(f"{args.name}@{args.alias} -> version {info.version} "
          f"(aliases now: {', '.join(info.aliases)})")
    return 0
