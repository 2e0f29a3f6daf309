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

import statistics
from pathlib import Path
from typing import Any

from ..embedding.embed_config import EmbedConfig
from .devmap_agreement_table import LEAD as DEVMAP_LEAD
from .record_table import COLUMNS, evaluations, method_scores, spread, spread_cell
from .target_checks import MAP_RATIO as INVARIANCE_RATIO

__all__ = ["OUTPUTS", "collect_outputs", "studies", "outputs_markdown", "output_statements",
           "output_overview"]

DEVMAP_KEYS = tuple(key for key, _, _ in COLUMNS if key.startswith("devmap-"))

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
    lines += _overview_lines(output_overview(section))
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


def _twins_pair(table: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A study's headline comparison: its first group against its second, when the second
    is untrained twins."""
    groups = list(table.get("groups", {}).items())
    if len(groups) < 2 or "twin" not in groups[1][0].lower():
        return None
    return groups[0][1], groups[1][1]


def output_overview(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every output over every study: each distinct pre-trained run (by folder; a run that
    heads several studies counts once, against the first study's twins) against the mean
    of the same output of its study's twins. Per output: ``runs``; ``invariance``: the
    MAP@R ratios; ``leads``: per score key the run-minus-twins differences (accuracies in
    points); ``devmap``: per run its four DevMap leakage-free leads (runs scored on all)."""
    seen: dict[str, set[str]] = {}
    out: dict[str, dict[str, Any]] = {}
    for table in studies(section).values():
        pair = _twins_pair(table)
        if pair is None:
            continue
        runs, twins = pair
        for output, _ in OUTPUTS:
            rows = runs["scores"].get(output, [])
            base = {key: [r.get(key) for r in twins["scores"].get(output, [])
                          if r.get(key) is not None] for key, _, _ in COLUMNS}
            mean = {key: statistics.mean(v) for key, v in base.items() if v}
            found = out.setdefault(output, {"runs": 0, "invariance": [], "devmap": [],
                                            "leads": {key: [] for key, _, _ in COLUMNS}})
            for folder, row in zip(runs["folders"], rows, strict=False):
                if folder in seen.setdefault(output, set()) or not any(
                        row.get(key) is not None for key, _, _ in COLUMNS):
                    continue
                seen[output].add(folder)
                found["runs"] += 1
                for key, _, _ in COLUMNS:
                    if row.get(key) is None or key not in mean:
                        continue
                    if key == "map_fused":
                        found["invariance"].append(row[key] / mean[key])
                    else:
                        scale = 100.0 if key.startswith("vectorized") else 1.0
                        found["leads"][key].append((row[key] - mean[key]) * scale)
                if all(row.get(k) is not None and k in mean for k in DEVMAP_KEYS):
                    found["devmap"].append([row[k] - mean[k] for k in DEVMAP_KEYS])
    return {output: found for output, found in out.items() if found["runs"]}


def _mean_text(values: list[float], digits: int = 1) -> str:
    return f"{statistics.mean(values):+.{digits}f}" if values else "–"


def _overview_lines(overview: dict[str, dict[str, Any]]) -> list[str]:
    """The overview table and its reading (nothing without a study against twins)."""
    if not overview:
        return []
    titles = {key: title for key, title, _ in COLUMNS}
    lines = ["", "Every output over every study below: each distinct pre-trained run against the "
             "mean of the same output of its study's untrained twins (the study's first group "
             "against its second; a run heading several studies counts once), the targets' "
             f"scores: invariance as the ratio of MAP@R (target {INVARIANCE_RATIO:g}x), "
             "accuracies as mean leads in points, DevMap leakage-free at the protocol's 3 "
             f"fold/head seeds (target +{DEVMAP_LEAD:g} on all four settings).", "",
             "| output | runs | invariance: median ratio (runs at 2x) | "
             + " | ".join(titles[k] for k, _, _ in COLUMNS[1:3]) + " | "
             + " | ".join(titles[k] for k in DEVMAP_KEYS)
             + " | DevMap: runs above the twins on all four | runs +2 on all four | "
             "thread coarsening LF |", "|---|" + "---|" * (9 + len(DEVMAP_KEYS) - 2)]
    for output, found in overview.items():
        ratios = found["invariance"]
        inv = (f"{statistics.median(ratios):.2f}x ({sum(r >= INVARIANCE_RATIO for r in ratios)} "
               f"of {len(ratios)})" if ratios else "–")
        devmap = found["devmap"]
        per_setting = [_mean_text([d[i] for d in devmap]) for i in range(len(DEVMAP_KEYS))]
        above = sum(min(d) > 0 for d in devmap)
        target = sum(min(d) >= DEVMAP_LEAD for d in devmap)
        lines.append(f"| `{output}` | {found['runs']} | {inv} | "
                     + " | ".join(_mean_text(found["leads"][k]) for k, _, _ in COLUMNS[1:3])
                     + " | " + " | ".join(per_setting)
                     + f" | {above} of {len(devmap)} | {target} of {len(devmap)} | "
                     f"{_mean_text(found['leads']['coarsening'], 3)}x |")
    return [*lines, "", _overview_reading(overview)]


def _overview_reading(overview: dict[str, dict[str, Any]]) -> str:
    """Which output meets the invariance target most often, which leads on DevMap most often."""
    def share(found: dict[str, Any], hit: Any, values: str) -> float:
        items = found[values]
        return sum(map(hit, items)) / len(items) if items else 0.0

    invariant = max(overview, key=lambda o: share(overview[o], lambda r: r >= INVARIANCE_RATIO,
                                                  "invariance"))
    devmap = max(overview, key=lambda o: share(overview[o], lambda d: min(d) > 0, "devmap"))
    reached = sum(min(d) >= DEVMAP_LEAD for f in overview.values() for d in f["devmap"])
    inv = overview[invariant]["invariance"]
    dev = overview[devmap]["devmap"]
    default = EmbedConfig.__dataclass_fields__["modality"].default
    choice = (f" The embedder's default output, `{default}`, is the one that keeps invariance; "
              f"ask for `{devmap}` (`modality=\"{devmap}\"`) to feed a device-mapping head."
              if default == invariant and devmap != invariant else "")
    return (f"Reading: `{invariant}` is the output that most often meets the invariance "
            f"target ({sum(r >= INVARIANCE_RATIO for r in inv)} of {len(inv)} runs); `{devmap}` "
            f"the one that most often leads its twins on all four DevMap settings "
            f"({sum(min(d) > 0 for d in dev)} of {len(dev)}); runs of any output at "
            f"+{DEVMAP_LEAD:g} on all four: {reached}. "
            "Studies are recipes chosen one after another, not a random sample of runs, and a "
            "run's 3-seed DevMap lead carries the protocol's noise and the twins' spread "
            "([how finely DevMap separates encoders](devmap-resolution.md))." + choice)
