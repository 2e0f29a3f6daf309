"""``mirencoder embed FILE_OR_DIR... --model URI --out embeddings.parquet``.

An interrupted run leaves its finished rows in ``<out>.partial/``; the same command resumes
from them (``training/embedding/embed_journal.py``).

Exit status: 0 when at least one input was embedded; 1 when none was (every input failed, or
no input was found); with ``--strict``, 1 as soon as any input failed. The Parquet file and
the per-reason report are written in every case.
"""

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
    refuse_unusable_outputs,
)
from mirencoder.infra.files import output_file_problem, output_folder_problem
from mirencoder.training.embedding.embed_config import (
    MODALITIES,
    PRECISIONS,
    WINDOW_POLICIES,
    EmbedConfig,
)

__all__ = ["add_arguments", "run"]


EXIT_STATUS = ("exit status: 0 when at least one input was embedded (failed inputs are "
               "reported and written with their reason); 1 when none was, including when no "
               "input was found; with --strict, 1 when any input failed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{parser.description or ''}\n\n{EXIT_STATUS}."
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR",
                        help="source (.c .cpp .cl .cu) or IR (.ll .bc) files, folders, tar archives")
    parser.add_argument("--out", type=Path, default=Path("embeddings.parquet"),
                        help="output Parquet: path, status, reason, message, embedding")
    add_config_arguments(parser, EmbedConfig, config_help="YAML file of embedding settings")
    add_shorthand(parser, EmbedConfig, "model", "--model", metavar="URI")
    add_shorthand(parser, EmbedConfig, "modality", "--modality", choices=MODALITIES)
    add_shorthand(parser, EmbedConfig, "precision", "--precision", choices=PRECISIONS)
    add_shorthand(parser, EmbedConfig, "batch_size", "--batch-size", metavar="N")
    add_shorthand(parser, EmbedConfig, "workers", "--workers", metavar="N")
    add_shorthand(parser, EmbedConfig, "windows", "--windows", choices=WINDOW_POLICIES)
    add_shorthand(parser, EmbedConfig, "max_windows", "--max-windows", metavar="N")
    add_shorthand(parser, EmbedConfig, "tracking_uri", "--tracking-uri", metavar="URI")
    add_shorthand(parser, EmbedConfig, "compile.opt_level", "--opt-level", metavar="LEVEL",
                  help="clang optimisation level for sources")
    add_shorthand(parser, EmbedConfig, "sha256", "--sha256", metavar="DIGEST")
    add_shorthand(parser, EmbedConfig, "lock_file", "--lock", metavar="FILE")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when any input fails (default: only when no "
                             "input is embedded)")


def journal_identity(embedder, config: EmbedConfig) -> dict:
    """What an embedding's rows depend on: rows saved under another identity are not reused."""
    from dataclasses import asdict

    return {"package_sha256": embedder.info.package_sha256, "modality": config.modality,
            "windows": embedder.resolve_windows(config.windows),
            "max_windows": config.max_windows or embedder.default_max_windows,
            "precision": config.precision, "basis": config.basis,
            "basis_variance": config.basis_variance, "basis_dims": config.basis_dims,
            "max_graph_nodes": embedder.max_graph_nodes, "compile": asdict(config.compile)}


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.embedding.embed_journal import EmbedJournal, journal_folder
    from mirencoder.training.embedding.embedder import Embedder
    from mirencoder.training.embedding.embedding_parquet import write_embeddings
    from mirencoder.training.embedding.program_loader import embed_inputs

    config = config_from_args(EmbedConfig, args)
    if print_if_dry_run(config, args, "resolved embedding configuration"):
        return 0
    partial = journal_folder(args.out)
    refuse_unusable_outputs(("--out", output_file_problem(args.out, (".parquet",))),
                            ("--out: its partial results folder",
                             output_folder_problem(partial)))
    embedder = Embedder.from_config(config)
    info = embedder.info
    print(f"encoder {config.model}: package sha256 {info.package_sha256} ("
          + (f"verified against {info.verified_by})" if info.verified_by
             else "unverified: no registry tags, --sha256 or lock file)"))
    journal = EmbedJournal.open(partial, journal_identity(embedder, config))
    if journal.replaced:
        print(f"{partial}: partial results of other settings (or unreadable) replaced")
    with tempfile.TemporaryDirectory(prefix="mirencoder-embed-") as work:
        result = embed_inputs(embedder, args.inputs, work_dir=Path(work),
                              modality=config.modality, batch_size=config.batch_size,
                              progress=not args.no_progress, windows=config.windows,
                              max_windows=config.max_windows, journal=journal,
                              on_resume=lambda reused, total: print(
                                  f"resuming: {reused} of {total} inputs taken from the "
                                  f"interrupted run's {partial}", flush=True))
    out = write_embeddings(result, args.out, metadata={"mirencoder.model": config.model,
                                                       "mirencoder.windows": embedder.window_policy,
                                                       "mirencoder.precision": config.precision,
                                                       "mirencoder.basis": config.basis})
    journal.remove()
    reasons = Counter(reason for reason, _ in result.errors.values())
    ok = len(result) - len(result.errors)
    dim = embedder.modality_dim(config.modality)
    print(f"embedded {ok}/{len(result)} inputs ({config.modality}, D={dim}) -> {out}")
    for reason, count in reasons.most_common():
        print(f"  failed: {reason}: {count}")
    if not len(result):
        print("mirencoder embed: no input found in " + ", ".join(map(str, args.inputs)),
              file=sys.stderr)
        return 1
    if not ok:
        print("mirencoder embed: no input could be embedded", file=sys.stderr)
        return 1
    if args.strict and result.errors:
        print(f"mirencoder embed: {len(result.errors)} of {len(result)} inputs failed "
              "(--strict)", file=sys.stderr)
        return 1
    return 0
