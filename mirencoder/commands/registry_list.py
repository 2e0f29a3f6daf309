"""``mirencoder registry list [--name mirencoder]``: versions with lineage and metrics."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime

from mirencoder.commands.registry_options import add_registry_arguments, resolve_registry_config

__all__ = ["add_arguments", "run", "format_metrics", "format_versions"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_registry_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _short(value: str | None, width: int = 12) -> str:
    if not value:
        return "-"
    return value if len(value) <= width else value[:width]


# The evaluation report's headline scores of the encoder, when a version carries them.
_DEVMAP_LF = re.compile(r"(devmap-\w+)\.leakage-free\.(\w+)\.encoder\.accuracy_mean")
_COARSENING_LF = "thread-coarsening.leakage-free.average.encoder.speedup_mean"
_MAX_LISTED = 4


def format_metrics(metrics: dict[str, str]) -> str:
    """A version's metrics in one short cell: the evaluation report's headline scores
    (leakage-free DevMap accuracy per platform, thread-coarsening speedup) and up to four
    other metrics, then how many there are in all (``--json`` lists every one)."""
    if not metrics:
        return "-"
    devmap: dict[str, list[str]] = {}
    parts, headline = [], set()
    for key in sorted(metrics):
        if match := _DEVMAP_LF.fullmatch(key):
            devmap.setdefault(match[1], []).append(f"{match[2]} {float(metrics[key]):.1f}")
            headline.add(key)
    parts += [f"{task} LF {' / '.join(cells)} %" for task, cells in devmap.items()]
    if _COARSENING_LF in metrics:
        parts.append(f"coarsening LF {float(metrics[_COARSENING_LF]):.3f}x")
        headline.add(_COARSENING_LF)
    others = [key for key in sorted(metrics) if key not in headline and
              not key.startswith(("devmap-", "thread-coarsening."))]
    parts += [f"{key}={metrics[key]}" for key in others[:_MAX_LISTED]]
    listed = len(headline) + len(others[:_MAX_LISTED])
    if listed < len(metrics):
        parts.append(f"{len(metrics)} in all (--json)")
    return "; ".join(parts)


def format_versions(versions) -> str:
    """A plain-text table: version, aliases, created, dataset, tokenizer, code, params, metrics."""
    header = ("version", "aliases", "created (UTC)", "dataset", "tokenizer", "config", "code",
              "params", "metrics")
    rows = [header]
    for v in versions:
        created = (datetime.fromtimestamp(v.created_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
                   if v.created_ms else "-")
        metrics = format_metrics(v.metrics)
        params = v.tags.get("num_parameters")
        rows.append((str(v.version), ",".join(v.aliases) or "-", created,
                     _short(v.tags.get("dataset_index_sha256")),
                     _short(v.tags.get("tokenizer_sha256")), _short(v.tags.get("config_sha256")),
                     _short(v.tags.get("code_version")),
                     f"{int(params):,}" if params and params.isdigit() else "-", metrics))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True))
                     + "  " + row[-1])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from mirencoder.training.registry.model_registry import list_versions

    config = resolve_registry_config(args)
    if config is None:
        return 0
    versions = list_versions(config.name, tracking_uri=config.tracking_uri)
    if args.json:
        print(json.dumps([{"name": v.name, "version": v.version, "aliases": list(v.aliases),
                           "run_id": v.run_id, "created_ms": v.created_ms, "tags": v.tags}
                          for v in versions], indent=2))
    else:
        print(f"registered model {config.name}: {len(versions)} version(s)")
        print(format_versions(versions))
    return 0
