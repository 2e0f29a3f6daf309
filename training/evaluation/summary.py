"""The machine-readable summary (``results/summary.json``): build, merge with earlier runs, save."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...infra.files import write_text_atomic
from .published import published_summary

__all__ = ["SCHEMA_VERSION", "merge_summary", "load_summary", "save_summary"]

SCHEMA_VERSION = 1


def load_summary(path: Path) -> dict[str, Any] | None:
    """Reads an earlier summary, or None when absent or of another schema version."""
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return summary if summary.get("schema_version") == SCHEMA_VERSION else None


def merge_summary(task_runs: dict[str, dict[str, Any]], *, encoder: dict[str, Any] | None,
                  command: str, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """Builds the summary of this run, keeping the other tasks of an earlier summary.

    Layout: ``results[task][protocol][platform][method]`` holds ``accuracy_mean/_std``,
    ``speedup_mean/_std`` (arithmetic mean over rows), ``geomean_mean/_std``, ``n_rows``,
    ``n_seeds`` and ``per_seed``; ``tasks[task]`` holds coverage, feature sets, timing, the
    command and the encoder of the run that produced it; ``encoder`` is the encoder of the
    latest run that had one.

    Args:
        task_runs: ``task -> {"results": ..., "meta": ...}`` from the task runners.
        encoder: identity of the encoder under test (None when no ``--model`` was given).
        command: the command line, for the report.
        existing: an earlier summary to merge into.
    """
    summary = existing if existing is not None else {}
    summary["schema_version"] = SCHEMA_VERSION
    summary["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    summary.setdefault("results", {})
    summary.setdefault("tasks", {})
    for task, run in task_runs.items():
        summary["results"][task] = run["results"]
        summary["tasks"][task] = {**run["meta"], "encoder": encoder, "command": command,
                                  "generated_at": summary["generated_at"]}
    if encoder is not None or "encoder" not in summary:
        summary["encoder"] = encoder
    summary["published"] = published_summary()
    return summary


def save_summary(summary: dict[str, Any], path: Path) -> Path:
    """Writes the summary atomically (temporary file + rename)."""
    return write_text_atomic(path, json.dumps(summary, indent=1, sort_keys=False, default=str)
                             + "\n")
