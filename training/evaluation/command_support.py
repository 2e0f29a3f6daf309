"""Shared pieces of the ``mirencoder eval ...`` commands: options, feature sets, summary table,
MLflow hand-off."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from ...infra.errors import ConfigError
from .features.base import Featurizer
from .features.ir2vec_vectors import ir2vec_available
from .features.registry import BUILTIN_FEATURIZERS, build_featurizer
from .paths import default_cache_dir, default_data_dir, repo_root
from .report_markdown import method_sort_key

__all__ = ["add_common_arguments", "split_list", "build_featurizers", "print_summary_table",
           "log_to_mlflow_if_asked", "command_line", "report_evaluation"]

MODALITY_METHOD = {"fused": "encoder", "tokens": "encoder-tokens", "graph": "encoder-graph"}


def split_list(text: str) -> tuple[str, ...]:
    """``"a, b,c"`` -> ``("a", "b", "c")``."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by both evaluation commands."""
    parser.add_argument("--model", default=None,
                        help="encoder to evaluate: registry URI (models:/mirencoder@champion) or "
                             "a local package folder; adds the encoder rows")
    parser.add_argument("--untrained-model", default=None,
                        help="the same encoder architecture with random weights (URI or folder): "
                             "adds the encoder-untrained ablation row")
    parser.add_argument("--modalities", default="fused,tokens,graph",
                        help="encoder embeddings to evaluate: fused (row 'encoder'), tokens, "
                             "graph (ablations)")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder holding devmap/ and thread-coarsening/")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                        help="where archives are extracted and kernels compiled")
    parser.add_argument("--out-dir", type=Path, default=repo_root(),
                        help="writes OUT/RESULTS.md, OUT/results/summary.json and "
                             "OUT/results/results.png (other tasks' results there are kept)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per setting (mean ± std)")
    parser.add_argument("--features", default=",".join(BUILTIN_FEATURIZERS),
                        help="baselines and controls: " + ", ".join(BUILTIN_FEATURIZERS)
                             + " (empty to run only the encoder)")
    parser.add_argument("--heads", default="xgboost", help="heads: xgboost (published settings), "
                                                           "mlp")
    parser.add_argument("--n-jobs", type=int, default=1, help="XGBoost threads")
    parser.add_argument("--tree-method", default="hist", choices=("hist", "exact", "approx"),
                        help="XGBoost tree method (exact = the published runs' pre-2.0 default)")
    parser.add_argument("--mlflow", action="store_true",
                        help="log RESULTS.md, summary.json and the chart to MLflow and tag the "
                             "encoder's registered version with its metrics")
    parser.add_argument("--mlflow-run-id", default=None,
                        help="MLflow run to log into (default: a new run in 'mirencoder-eval')")
    parser.add_argument("--model-name", default=None,
                        help="registered model to tag (default: from a models:/ --model URI)")
    parser.add_argument("--model-version", default=None, help="registered version to tag")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def build_featurizers(args: argparse.Namespace) -> tuple[list[Featurizer], dict[str, Any] | None]:
    """The baselines/controls asked for, plus the encoder rows when ``--model`` is given
    (and the ``encoder+finetune`` method when the command has ``--finetune`` and it is set).

    Returns:
        The featurizers and the encoder's identity for the report (None without ``--model``).
    """
    names = split_list(args.features)
    unknown = [n for n in names if n not in BUILTIN_FEATURIZERS]
    modalities = split_list(args.modalities)
    bad_modalities = [m for m in modalities if m not in MODALITY_METHOD]
    problems = []
    if unknown:
        problems.append(f"unknown --features {unknown}; known: {list(BUILTIN_FEATURIZERS)}")
    if bad_modalities:
        problems.append(f"unknown --modalities {bad_modalities}; known: {list(MODALITY_METHOD)}")
    if not names and not args.model and not args.untrained_model:
        problems.append("nothing to evaluate: give --features and/or --model")
    finetune = getattr(args, "finetune", False)
    if finetune and not args.model:
        problems.append("--finetune fine-tunes the encoder given by --model: add --model URI "
                        "(a registry URI or a package folder)")
    if problems:
        raise ConfigError(problems)
    featurizers: list[Featurizer] = []
    for name in names:
        if name.startswith("ir2vec") and not ir2vec_available():
            print(f"mirencoder: skipping {name}: ir2vec is not installed "
                  "(pip install ir2vec==2.1.1)", file=sys.stderr)
            continue
        featurizers.append(build_featurizer(name))
    encoder: dict[str, Any] | None = None
    if args.model or args.untrained_model:
        from .features.encoder_embedding import (
            EncoderFeaturizer,
            describe_embedder,
            load_embedder,
        )

        if args.model:
            embedder = load_embedder(args.model)
            encoder = describe_embedder(embedder, args.model)
            for modality in modalities:
                featurizers.append(EncoderFeaturizer.from_embedder(
                    MODALITY_METHOD[modality], embedder, modality,
                    f"encoder {args.model}, {modality} embedding"))
            if finetune:
                from .finetune import FineTuneConfig, FineTuneMethod

                featurizers.append(FineTuneMethod.from_embedder(
                    embedder, FineTuneConfig(epochs=args.finetune_epochs),
                    progress=not args.quiet))
        if args.untrained_model:
            untrained = load_embedder(args.untrained_model)
            featurizers.append(EncoderFeaturizer.from_embedder(
                "encoder-untrained", untrained, "fused",
                f"untrained encoder {args.untrained_model} (random weights), fused embedding"))
            encoder = encoder or {"uri": None}
            encoder["untrained_uri"] = args.untrained_model
    return featurizers, encoder


def print_summary_table(task_runs: dict[str, dict[str, Any]]) -> None:
    """A compact table of this run on stdout."""
    for task, run in task_runs.items():
        is_tc = task == "thread-coarsening"
        for protocol, platforms in run["results"].items():
            print(f"\n{task} — {protocol}")
            shown = ["average"] if is_tc else list(platforms)
            header = f"  {'method':<24}" + "".join(
                f"{p + ' speedup':>20}" if is_tc else f"{p + ' acc %':>18}{p + ' speedup':>18}"
                for p in shown)
            print(header)
            methods = sorted(platforms[shown[0]], key=method_sort_key)
            for method in methods:
                cells = ""
                for p in shown:
                    v = platforms[p][method]
                    if is_tc:
                        cells += f"{v['speedup_mean']:>13.3f} ± {v['speedup_std']:.3f}"
                    else:
                        cells += (f"{v['accuracy_mean']:>12.1f} ± {v['accuracy_std']:<3.1f}"
                                  f"{v['speedup_mean']:>12.2f} ± {v['speedup_std']:<3.2f}")
                print(f"  {method:<24}{cells}")


def log_to_mlflow_if_asked(args: argparse.Namespace, summary: dict[str, Any]) -> str | None:
    """Logs to MLflow when ``--mlflow`` is given; returns the run id."""
    if not args.mlflow:
        return None
    from .mlflow_logging import (
        log_results_to_mlflow,
        resolve_model_version,
    )

    name, version = args.model_name, args.model_version
    if name is None and args.model:
        resolved = resolve_model_version(args.model)
        if resolved:
            name, version = resolved
    run_id = log_results_to_mlflow(summary, run_id=args.mlflow_run_id, model_name=name,
                                   version=version)
    target = f" and tagged {name} version {version}" if name and version else ""
    print(f"logged to MLflow run {run_id}{target}")
    return run_id


def command_line(words: str) -> str:
    """The command as typed (from ``sys.argv`` when it holds this command), for the report."""
    parts = words.split()
    argv = sys.argv[1:]
    rest = argv[len(parts):] if argv[:len(parts)] == parts else []
    return " ".join(["mirencoder", *parts, *(shlex.quote(a) for a in rest)])


def report_evaluation(task_runs: dict[str, dict[str, Any]], args: argparse.Namespace,
                      encoder: dict[str, Any] | None, command: str) -> int:
    """Writes the report files, prints the summary and logs to MLflow when asked; exit code."""
    from .report_files import write_report

    summary, paths = write_report(task_runs, args.out_dir, encoder=encoder,
                                  command=command_line(command))
    print_summary_table(task_runs)
    print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    log_to_mlflow_if_asked(args, summary)
    return 0
