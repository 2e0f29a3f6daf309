"""``mirencoder embed FILE_OR_DIR... --model URI --out embeddings.parquet``."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR",
                        help="source (.c .cpp .cl .cu) or IR (.ll .bc) files, folders, tar archives")
    parser.add_argument("--model", default="models:/mirencoder@champion",
                        help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/ID/encoder or a "
                             "local encoder package folder")
    parser.add_argument("--out", type=Path, default=Path("embeddings.parquet"),
                        help="output Parquet: path, status, reason, message, embedding")
    parser.add_argument("--modality", choices=("fused", "tokens", "graph"), default="fused",
                        help="which program embedding to write")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="network precision: fp32 (exact) or bf16 (about 1.4x faster on "
                             "CPUs with AVX512-BF16/AMX and on GPUs; embeddings within ~1 %%)")
    parser.add_argument("--batch-size", type=int, default=32, help="programs encoded together")
    parser.add_argument("--windows", choices=("first", "mean"), default="first",
                        help="long programs: first token window (as in training) or the mean "
                             "of up to --max-windows windows")
    parser.add_argument("--max-windows", type=int, default=8, help="windows averaged (mean)")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow registry (default: $MLFLOW_TRACKING_URI or "
                             "sqlite:///<repo>/runs/mlflow.db)")
    parser.add_argument("--opt-level", default="O2", help="clang optimisation level for sources")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from mirencoder.infra.errors import ConfigError
    from mirencoder.pipelines.compile import CompileConfig
    from mirencoder.training.embedding.embedder import Embedder, embed_inputs
    from mirencoder.training.embedding.embedding_parquet import write_embeddings

    if args.batch_size < 1 or args.max_windows < 1:
        raise ConfigError("--batch-size and --max-windows must be >= 1")
    embedder = Embedder.from_uri(args.model, tracking_uri=args.tracking_uri,
                                 compile_config=CompileConfig(opt_level=args.opt_level),
                                 precision=args.precision)
    with tempfile.TemporaryDirectory(prefix="mirencoder-embed-") as work:
        result = embed_inputs(embedder, args.inputs, work_dir=Path(work), modality=args.modality,
                              batch_size=args.batch_size, progress=not args.no_progress,
                              windows=args.windows, max_windows=args.max_windows)
    out = write_embeddings(result, args.out, metadata={"mirencoder.model": args.model,
                                                       "mirencoder.windows": args.windows,
                                                       "mirencoder.precision": args.precision})
    reasons = Counter(reason for reason, _ in result.errors.values())
    ok = len(result) - len(result.errors)
    print(f"embedded {ok}/{len(result)} inputs ({args.modality}, D={embedder.dim}) -> {out}")
    for reason, count in reasons.most_common():
        print(f"  failed: {reason}: {count}")
    if len(result) and not ok:
        print("mirencoder embed: no input could be embedded", file=sys.stderr)
        return 1
    return 0
