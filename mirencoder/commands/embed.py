"""``mirencoder embed FILE_OR_DIR... --model URI --out embeddings.parquet``."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

from mirencoder.infra.config import (
    add_config_arguments,
    add_shorthand,
    config_from_args,
    print_if_dry_run,
)
from mirencoder.training.embedding.embed_config import (
    MODALITIES,
    PRECISIONS,
    WINDOW_POLICIES,
    EmbedConfig,
)

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR",
                        help="source (.c .cpp .cl .cu) or IR (.ll .bc) files, folders, tar archives")
    parser.add_argument("--out", type=Path, default=Path("embeddings.parquet"),
                        help="output Parquet: path, status, reason, message, embedding")
    add_config_arguments(parser, EmbedConfig, config_help="YAML file of embedding settings")
    add_shorthand(parser, EmbedConfig, "model", "--model", metavar="URI")
    add_shorthand(parser, EmbedConfig, "modality", "--modality", choices=MODALITIES)
    add_shorthand(parser, EmbedConfig, "precision", "--precision", choices=PRECISIONS)
    add_shorthand(parser, EmbedConfig, "batch_size", "--batch-size", metavar="N")
    add_shorthand(parser, EmbedConfig, "windows", "--windows", choices=WINDOW_POLICIES)
    add_shorthand(parser, EmbedConfig, "max_windows", "--max-windows", metavar="N")
    add_shorthand(parser, EmbedConfig, "tracking_uri", "--tracking-uri", metavar="URI")
    add_shorthand(parser, EmbedConfig, "compile.opt_level", "--opt-level", metavar="LEVEL",
                  help="clang optimisation level for sources")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.embedding.embedding_parquet import write_embeddings
    from mirencoder.training.embedding.program_loader import embed_inputs

    config = config_from_args(EmbedConfig, args)
    if print_if_dry_run(config, args, "resolved embedding configuration"):
        return 0
    embedder = Embedder.from_config(config)
    with tempfile.TemporaryDirectory(prefix="mirencoder-embed-") as work:
        result = embed_inputs(embedder, args.inputs, work_dir=Path(work),
                              modality=config.modality, batch_size=config.batch_size,
                              progress=not args.no_progress, windows=config.windows,
                              max_windows=config.max_windows)
    out = write_embeddings(result, args.out, metadata={"mirencoder.model": config.model,
                                                       "mirencoder.windows": config.windows,
                                                       "mirencoder.precision": config.precision})
    reasons = Counter(reason for reason, _ in result.errors.values())
    ok = len(result) - len(result.errors)
    print(f"embedded {ok}/{len(result)} inputs ({config.modality}, D={embedder.dim}) -> {out}")
    for reason, count in reasons.most_common():
        print(f"  failed: {reason}: {count}")
    if len(result) and not ok:
        print("mirencoder embed: no input could be embedded", file=sys.stderr)
        return 1
    return 0
