"""Which output for which use (pure functions): every output of the encoder (``fused``,
``tokens``, ``graph``, ``joint``) of several pre-trained runs beside the same output of
several untrained twins, on the probes' headline scores and every leakage-free downstream
protocol. Each folder holds one encoder scored as the model (``infra/evaluate_outputs.sh``):
``<folder>/probes/probes.json``, ``<folder>/devmap/results/summary.json`` and
``<folder>/thread-coarsening/results/summary.json``, with rows ``encoder``,
``encoder-tokens``, ``encoder-graph`` and ``encoder-joint``; ``which_output.py`` merges the
table into the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .record_table import COLUMNS, evaluations, method_scores, spread, spread_cell

__all__ = ["OUTPUTS", "collect_outputs", "studies", "outputs_markdown", "output_statements"]

OUTPUTS = (("fused", "encoder"), ("tokens", "encoder-tokens"), ("graph", "encoder-graph"),
           ("joint", "encoder-joint"))
"""Each output and its row name when the encoder is scored as the model."""

def collect_outputs(groups: dict[str, list[Path]]) -> dict[str, Any]:
    """``{"groups": {label: {"folders": [...], "scores": {output: [scores per folder]}}}}``;
    a score a folder lacks is None."""
    out: dict[str, Any] = {"groups": {}}
    for label, folders in groups.items():
        scored = [evaluations(folder) for folder in folders]
        out["groups"][label] = {
            "folders": [str(f) for f in folders],
            "scores": {output: [method_scores(*parts, method) for parts in scored]
                       for output, method in OUTPUTS}}
    return out


def studies(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The studies of a ``which_output`` summary section, keyed by label; a section written
    before studies existed (one table with ``groups``) is one study."""
    if "groups" in section:
        return {section.get("label") or "Pre-trained runs": section}
    return dict(section.get("studies", {}))


def outputs_markdown(section: dict[str, Any]) -> str:
    """The ``## Which output for which use`` section of STUDIES.md: one table per study
    (a recipe's runs beside their twins), under the study's label when there are several."""
    tables = studies(section)
    lines = ["## Which output for which use (each output beside the same output of the twins)"]
    for label, table in tables.items():
        if len(tables) > 1:
            lines += ["", f"### {label}"]
        lines += ["", *_study_lines(table)]
    return "\n".join(lines) + "\n"


def _study_lines(table: dict[str, Any]) -> list[str]:
    groups = table.get("groups", {})
    lines = [f"{table.get('label') or 'Pre-trained runs'}: each output of each encoder, scored "
             "as in the runs of record (probes on held-out programs; DevMap: XGBoost, 3 fold/head "
             "seeds; thread coarsening: mean speedup), beside the same output of untrained twins "
             "(same architecture and vocabularies, random weights, other seeds): mean ± sample "
             "std (range). `joint` is the other three side by side, each scaled to length "
             "1/sqrt(3) (3 x D): its cosine is the mean of the three cosines. Folders: "
             + "; ".join(f"{label}: " + ", ".join(f"`{f}`" for f in g["folders"])
                         for label, g in groups.items()) + ".", ""]
    header = ["output", "encoders", *[title for _, title, _ in COLUMNS]]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for output, _ in OUTPUTS:
        for label, group in groups.items():
            rows = group["scores"].get(output, [])
            lines.append("| " + " | ".join([
                f"`{output}`", f"{label} ({len(rows)})",
                *[spread_cell([r.get(key) for r in rows], digits)
                  for key, _, digits in COLUMNS]]) + " |")
    statements = output_statements(table)
    if statements:
        lines += ["", "Means of the pre-trained runs against the twins' means:", "",
                  *[f"- {line}" for line in statements]]
    if table.get("note"):
        lines += ["", table["note"]]
    return lines


def output_statements(table: dict[str, Any]) -> list[str]:
    """Per output, the first group's mean against the second's on the scores the targets
    name: MAP@R ratio (target 2x) and the gains in the vectorised? accuracy (target +5
    points) and DevMap leakage-free (target +2 points)."""
    groups = list(table.get("groups", {}).values())
    if len(groups) < 2:
        return []
    mine, base = groups[0]["scores"], groups[1]["scores"]
    lines = []
    for output, _ in OUTPUTS:
        parts = []
        for key, title, _ in COLUMNS:
            a = spread([r.get(key) for r in mine.get(output, [])])
            b = spread([r.get(key) for r in base.get(output, [])])
            if a is None or b is None:
                continue
            if key == "map_fused":
                parts.append(f"MAP@R {a.mean / b.mean:.2f}x")
                continue
            scale = 100.0 if key.startswith("vectorized") else 1.0
            gain = (a.mean - b.mean) * scale
            apart = " (every run above every twin)" if a.low > b.high else ""
            parts.append(f"{title} {gain:+.1f}{' points' if scale > 1 else ''}{apart}"
                         if key != "coarsening" else
                         f"{title} {a.mean:.3f}x vs {b.mean:.3f}x{apart}")
        if parts:
            lines.append(f"`{output}`: " + "; ".join(parts) + ".")
    return lines
