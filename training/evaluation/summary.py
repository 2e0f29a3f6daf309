"""The machine-readable summary (``results/summary.json``): build, merge with earlier runs, save."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...infra.errors import ConfigError
from ...infra.files import write_text_atomic
from .published import published_summary

__all__ = ["SCHEMA_VERSION", "add_task_rows", "merge_summary", "load_summary", "save_summary"]

SCHEMA_VERSION = 1


def load_summary(path: Path) -> dict[str, Any] | None:
    """Reads an earlier summary, or None when absent or of another schema version."""
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return summary if summary.get("schema_version") == SCHEMA_VERSION else None


def add_task_rows(recorded: dict[str, Any], task: str, run: dict[str, Any], command: str,
                  generated_at: str) -> None:
    """Adds the methods of ``run`` to the recorded results of ``task`` (in place), beside the
    rows it holds: a new baseline or control scored on the same rows as an encoder evaluated
    elsewhere. ``static``, ``oracle`` and the other recorded methods stay as recorded; a
    method recorded under the same name is replaced.

    Raises:
        ConfigError: the task, a protocol or a platform is not recorded, or the rows differ
            (another row count), so the new rows would not compare with the recorded ones.
    """
    problems = []
    results = recorded.get("results", {}).get(task)
    if results is None:
        raise ConfigError([f"report.add_rows: {task} has no recorded results to add rows to; "
                           "run it once without add_rows"])
    for protocol, platforms in run["results"].items():
        for platform, methods in platforms.items():
            held = results.get(protocol, {}).get(platform)
            if held is None:
                problems.append(f"{task} {protocol} {platform} is not recorded")
            elif held["static"]["n_rows"] != methods["static"]["n_rows"]:
                problems.append(f"{task} {protocol} {platform}: {methods['static']['n_rows']} "
                                f"rows here, {held['static']['n_rows']} recorded")
    if problems:
        raise ConfigError([f"report.add_rows: {p}" for p in problems])
    added = sorted({m for platforms in run["results"].values() for methods in platforms.values()
                    for m in methods} - {"static", "oracle"})
    for protocol, platforms in run["results"].items():
        for platform, methods in platforms.items():
            results[protocol][platform].update(
                {m: v for m, v in methods.items() if m not in ("static", "oracle")})
    meta = recorded["tasks"].setdefault(task, {})
    meta.setdefault("featurizers", {}).update(run["meta"].get("featurizers", {}))
    meta.setdefault("added_rows", []).append(
        {"methods": added, "command": command, "generated_at": generated_at})


def merge_summary(task_runs: dict[str, dict[str, Any]], *, encoder: dict[str, Any] | None,
                  command: str, existing: dict[str, Any] | None = None,
                  add_rows: bool = False) -> dict[str, Any]:
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
        add_rows: add this run's methods to each task's recorded rows (:func:`add_task_rows`)
            instead of replacing the task.
    """
    summary = existing if existing is not None else {}
    summary["schema_version"] = SCHEMA_VERSION
    summary["generated_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    summary.setdefault("results", {})
    summary.setdefault("tasks", {})
    for task, run in task_runs.items():
        if add_rows:
            add_task_rows(summary, task, run, command, summary["generated_at"])
            continue
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
