"""``mirencoder dataset inspect DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="a folder written by `mirencoder dataset build`")
    parser.add_argument("--lines", type=int, default=12, help="IR lines of the sample to show")


def run(args: argparse.Namespace) -> int:
    from mirencoder.pipelines.inspect_dataset import inspect_dataset

    print(inspect_dataset(args.dataset, sample_lines=args.lines))
    return 0
