"""Shared pieces of the ``mirencoder eval ...`` commands: options, feature sets, summary table,
MLflow hand-off."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from ...infra.config import add_config_arguments, add_shorthand
from ...infra.errors import ConfigError
from .eval_config import MODALITY_METHOD, EvalConfig
from .features.base import Featurizer
from .features.ir2vec_vectors import ir2vec_available
from .features.registry import build_featurizer
from .report_markdown import method_sort_key

__all__ = ["add_common_arguments", "build_featurizers", "print_summary_table",
           "log_to_mlflow_if_asked", "command_line", "check_rows_can_be_added",
           "report_evaluation"]


def add_common_arguments(parser: argparse.ArgumentParser, cls: type[EvalConfig],
                         task: str) -> None:
    """``--config``/``--set``/``--dry-run`` and the shorthand flags both evaluation commands
    share; ``task`` is the config section of the task's own settings."""
    add_config_arguments(parser, cls, config_help="YAML file of evaluation settings")
    for key, flag, extra in (
            ("methods.model", "--model", {"metavar": "URI"}),
            ("methods.untrained_model", "--untrained-model", {"metavar": "URI"}),
            ("methods.modalities", "--modalities", {"metavar": "LIST"}),
            ("methods.features", "--features", {"metavar": "LIST"}),
            (f"{task}.data_dir", "--data-dir", {"metavar": "DIR"}),
            (f"{task}.cache_dir", "--cache-dir", {"metavar": "DIR"}),
            ("report.out_dir", "--out-dir", {"metavar": "DIR"}),
            (f"{task}.seeds", "--seeds", {"metavar": "N"}),
            (f"{task}.heads", "--heads", {"metavar": "LIST"}),
            (f"{task}.n_jobs", "--n-jobs", {"metavar": "N"}),
            (f"{task}.tree_method", "--tree-method", {"choices": ("hist", "exact", "approx")}),
            ("report.mlflow", "--mlflow", {"const": "true"}),
            ("report.mlflow_run_id", "--mlflow-run-id", {"metavar": "ID"}),
            ("report.model_name", "--model-name", {"metavar": "NAME"}),
            ("report.model_version", "--model-version", {"metavar": "VERSION"})):
        add_shorthand(parser, cls, key, flag, **extra)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _finetune_rows(config: EvalConfig, method: Any) -> list[Any]:
    """A fine-tuning's rows: its MLP, its XGBoost readout when ``finetune.xgboost_readout`` is
    on (single-threaded trees with the evaluation's own ``tree_method``), and its head-only
    readout when ``finetune.head_only_readout`` is."""
    from .finetune_readout import FineTunedReadout, HeadOnlyReadout
    from .head_factory import make_head

    rows = [method]
    if config.finetune.xgboost_readout:
        task = config.devmap
        rows.append(FineTunedReadout(method, lambda seed: make_head(
            "xgboost", "devmap", seed, task.tree_method)))
    if config.finetune.head_only_readout:
        rows.append(HeadOnlyReadout(method))
    return rows


def build_featurizers(config: EvalConfig, *, progress: bool = True
                      ) -> tuple[list[Featurizer], dict[str, Any] | None]:
    """The baselines/controls asked for, plus the encoder rows when ``methods.model`` is set
    (and the ``encoder+finetune`` method when ``methods.finetune`` is, with
    ``encoder-untrained+finetune`` beside it when ``methods.untrained_model`` is set too).

    Returns:
        The featurizers and the encoder's identity for the report (None without a model).
    """
    methods = config.methods
    finetune = bool(getattr(methods, "finetune", False))  # device mapping only
    featurizers: list[Featurizer] = []
    for name in methods.features:
        if name.startswith("ir2vec") and not ir2vec_available():
            print(f"mirencoder: skipping {name}: ir2vec is not installed "
                  "(pip install ir2vec==2.1.1)", file=sys.stderr)
            continue
        featurizers.append(build_featurizer(name))
    encoder: dict[str, Any] | None = None
    if methods.model or methods.untrained_model:
        from .features.encoder_embedding import (
            EncoderFeaturizer,
            SharedOutputs,
            describe_embedder,
            load_embedder,
        )

        if methods.model:
            embedder = load_embedder(methods.model, windows=methods.windows,
                                     max_windows=methods.max_windows, basis=methods.basis,
                                     basis_variance=methods.basis_variance,
                                     basis_dims=methods.basis_dims)
            encoder = describe_embedder(embedder, methods.model)
            outputs = SharedOutputs(embedder, methods.modalities)  # one pass for all
            for modality in methods.modalities:
                featurizers.append(EncoderFeaturizer(
                    MODALITY_METHOD[modality], outputs.embed(modality),
                    f"encoder {methods.model}, {modality} embedding"))
            if finetune:
                from .finetune import FineTuneMethod

                featurizers += _finetune_rows(config, FineTuneMethod.from_embedder(
                    embedder, config.finetune, progress=progress))
        if methods.untrained_model:
            untrained = load_embedder(methods.untrained_model, windows=methods.windows,
                                      max_windows=methods.max_windows,
                                      basis=methods.untrained_basis,
                                      basis_variance=methods.basis_variance,
                                      basis_dims=methods.basis_dims)
            featurizers.append(EncoderFeaturizer.from_embedder(
                "encoder-untrained", untrained, "fused",
                f"untrained encoder {methods.untrained_model} (random weights), fused "
                "embedding"))
            if methods.model and finetune:
                # The fine-tuned encoder's claim needs its twin fine-tuned the same way.
                from .finetune import UNTRAINED_FINETUNE_METHOD, FineTuneMethod

                featurizers += _finetune_rows(config, FineTuneMethod.from_embedder(
                    untrained, config.finetune, name=UNTRAINED_FINETUNE_METHOD,
                    progress=progress))
            encoder = encoder or {"uri": None}
            encoder["untrained_uri"] = methods.untrained_model
    return featurizers, encoder


def _mean_cell(mean: float, std: float, digits: int, seeds: int, width: int) -> str:
    """A right-aligned mean, with ``± std`` only when several seeds made it (one seed's
    spread is not a spread)."""
    text = f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if seeds > 1 else "")
    return f"{text:>{width}}"


def print_summary_table(task_runs: dict[str, dict[str, Any]]) -> None:
    """A compact table of this run on stdout: means over the run's seeds, with their sample
    standard deviation when there are several."""
    for task, run in task_runs.items():
        is_tc = task == "thread-coarsening"
        seeds = int(run.get("seeds", 1))
        for protocol, platforms in run["results"].items():
            print(f"\n{task} — {protocol} ({seeds} seed{'s' if seeds != 1 else ''})")
            shown = ["average"] if is_tc else list(platforms)
            width = 20 if seeds > 1 else 16
            header = f"  {'method':<24}" + "".join(
                f"{p + ' speedup':>{width}}" if is_tc
                else f"{p + ' acc %':>{width}}{p + ' speedup':>{width}}" for p in shown)
            print(header)
            methods = sorted(platforms[shown[0]], key=method_sort_key)
            for method in methods:
                cells = ""
                for p in shown:
                    v = platforms[p][method]
                    if not is_tc:
                        cells += _mean_cell(v["accuracy_mean"], v["accuracy_std"], 1, seeds,
                                            width)
                    cells += _mean_cell(v["speedup_mean"], v["speedup_std"],
                                        3 if is_tc else 2, seeds, width)
                print(f"  {method:<24}{cells}")


def log_to_mlflow_if_asked(config: EvalConfig, summary: dict[str, Any]) -> str | None:
    """Logs to MLflow when ``report.mlflow`` is set; returns the run id."""
    report = config.report
    if not report.mlflow:
        return None
    from .mlflow_logging import (
        log_results_to_mlflow,
        resolve_model_version,
    )

    name, version = report.model_name or None, report.model_version or None
    if name is None and config.methods.model:
        resolved = resolve_model_version(config.methods.model)
        if resolved:
            name, version = resolved
    run_id = log_results_to_mlflow(summary, run_id=report.mlflow_run_id or None,
                                   model_name=name, version=version)
    target = f" and tagged {name} version {version}" if name and version else ""
    print(f"logged to MLflow run {run_id}{target}")
    return run_id


def command_line(words: str) -> str:
    """The command as typed (from ``sys.argv`` when it holds this command), for the report."""
    parts = words.split()
    argv = sys.argv[1:]
    rest = argv[len(parts):] if argv[:len(parts)] == parts else []
    return " ".join(["mirencoder", *parts, *(shlex.quote(a) for a in rest)])


def check_rows_can_be_added(config: EvalConfig, settings: dict[str, tuple[list[str],
                                                                          list[str]]]) -> None:
    """Before any work: with ``report.add_rows``, every ``task -> (protocols, platforms)`` the
    run will score must already be recorded in the report's summary.

    Raises:
        ConfigError: naming each missing task, protocol or platform.
    """
    if not config.report.add_rows:
        return
    from .report_files import report_paths
    from .summary import load_summary

    path = report_paths(config.report.out_dir)["summary_json"]
    results = (load_summary(path) or {}).get("results", {})
    problems = []
    for task, (protocols, platforms) in settings.items():
        if task not in results:
            problems.append(f"report.add_rows: {path} holds no {task} results to add rows to")
            continue
        problems += [f"report.add_rows: {path} holds no {task} {protocol} {platform} rows"
                     for protocol in protocols for platform in platforms
                     if platform not in results[task].get(protocol, {})]
    if problems:
        raise ConfigError(problems)


def report_evaluation(task_runs: dict[str, dict[str, Any]], config: EvalConfig,
                      encoder: dict[str, Any] | None, command: str) -> int:
    """Writes the report files, prints the summary and logs to MLflow when asked; exit code.

    When rows cannot be added (``report.add_rows``: other row counts than recorded), the run's
    results are kept in ``results/rows-not-added.json`` beside the untouched summary."""
    from .report_files import report_paths, write_report
    from .summary import save_summary

    try:
        summary, paths = write_report(task_runs, config.report.out_dir, encoder=encoder,
                                      command=command_line(command),
                                      add_rows=config.report.add_rows)
    except ConfigError:
        if config.report.add_rows:
            kept = report_paths(config.report.out_dir)["summary_json"].with_name(
                "rows-not-added.json")
            save_summary({"results": {t: r["results"] for t, r in task_runs.items()}}, kept)
            print(f"kept this run's results in {kept}", file=sys.stderr)
        raise
    print_summary_table(task_runs)
    print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    log_to_mlflow_if_asked(config, summary)
    return 0
