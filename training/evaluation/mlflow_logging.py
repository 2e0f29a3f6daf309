"""Logs evaluation results to an MLflow run and attaches the encoder's metrics to its
registered model version (as tags), so that ``registry promote`` can be decided from them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["EVAL_EXPERIMENT", "flatten_metrics", "log_results_to_mlflow",
           "resolve_model_version"]

EVAL_EXPERIMENT = "mirencoder-eval"
_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. /]")
_TAGGED_METRICS = ("accuracy_mean", "accuracy_std", "speedup_mean", "speedup_std",
                   "geomean_mean")


def flatten_metrics(summary: dict[str, Any]) -> Iterator[tuple[str, str, float]]:
    """Yields ``(method, "task.protocol.platform.method.metric", value)`` for every result."""
    for task, protocols in summary.get("results", {}).items():
        for protocol, platforms in protocols.items():
            for platform, methods in platforms.items():
                for method, values in methods.items():
                    for metric in _TAGGED_METRICS:
                        if metric in values:
                            key = _UNSAFE.sub("_", f"{task}.{protocol}.{platform}.{method}.{metric}")
                            yield method, key, float(values[metric])


def resolve_model_version(uri: str, client: Any = None) -> tuple[str, str] | None:
    """``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` -> (name, version); None otherwise."""
    match = re.fullmatch(r"models:/([^/@]+)(?:/(\d+)|@([^/]+))", uri.strip())
    if not match:
        return None
    name, version, alias = match.groups()
    if version:
        return name, version
    if client is None:
        from mlflow.tracking import MlflowClient

        from ...infra.tracking import resolve_tracking_uri

        uri = resolve_tracking_uri()
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return name, str(client.get_model_version_by_alias(name, alias).version)


def log_results_to_mlflow(summary: dict[str, Any], run_id: str | None = None,
                          model_name: str | None = None, version: str | int | None = None, *,
                          files: Sequence[Path] = (), tracking_uri: str | None = None,
                          experiment: str = EVAL_EXPERIMENT) -> str:
    """Logs the report to an MLflow run and tags the registered encoder version.

    Args:
        summary: the merged summary (``results/summary.json``).
        run_id: the run to log into (e.g. the encoder's pre-training run); None starts a new
            run in ``experiment``.
        model_name: registered model name; with ``version``, the encoder's metrics (methods
            named ``encoder*``) become tags ``eval.<task>.<protocol>.<platform>.<method>.<metric>``
            on that version, plus ``eval.run_id``.
        version: the registered version.
        files: artifacts to log (default: ``summary["outputs"]``: RESULTS.md, STUDIES.md, the
            study pages (a folder), summary.json and the charts), under ``evaluation/``.
        tracking_uri: MLflow tracking URI (default: ``MLFLOW_TRACKING_URI``, else the project's
            SQLite store, see :mod:`mirencoder.infra.tracking`); also the registry URI.
        experiment: experiment of a new run.

    Returns:
        The run id.
    """
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from ...infra.tracking import ensure_experiment, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    if run_id is None:
        experiment_id = ensure_experiment(experiment, uri)
        run_id = client.create_run(experiment_id, run_name="evaluation").info.run_id
        own_run = True
    else:
        own_run = False
    paths = [Path(f) for f in files] or [Path(p) for p in summary.get("outputs", {}).values()]
    for path in paths:
        if path.is_file():
            client.log_artifact(run_id, str(path), artifact_path="evaluation")
        elif path.is_dir():  # the study pages
            client.log_artifacts(run_id, str(path), artifact_path=f"evaluation/{path.name}")
    now = int(time.time() * 1000)
    flat = list(flatten_metrics(summary))
    metrics = [Metric(key=f"eval.{key}", value=value, timestamp=now, step=0)
               for _, key, value in flat]
    for start in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[start:start + 900])
    encoder = summary.get("encoder") or {}
    if encoder.get("uri"):
        client.set_tag(run_id, "eval.encoder_uri", str(encoder["uri"]))
    if model_name is not None and version is not None:
        version = str(version)
        for method, key, value in flat:
            if method.startswith("encoder"):
                client.set_model_version_tag(model_name, version, f"eval.{key}", f"{value:.6g}")
        client.set_model_version_tag(model_name, version, "eval.run_id", run_id)
        client.set_model_version_tag(model_name, version, "eval.generated_at",
                                     str(summary.get("generated_at", "")))
    if own_run:
        client.set_terminated(run_id)
    return run_id
