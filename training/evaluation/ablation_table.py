"""The objective ablations' table (pure functions): each short pre-training run (every
objective, then each one removed) scored on the probes and on DevMap leakage-free.

Reads what ``infra/ablations.sh`` wrote (``<root>/<name>/probes/probes.json`` and
``<root>/<name>/devmap/results/summary.json``); ``ablations.py`` merges the table into the
report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .table_cells import number_cell

__all__ = ["collect_ablations", "ablations_markdown", "load_json", "probe_scores"]

ORDER = ("all", "all-seed1", "all-seed2", "no-mlm", "no-gae", "no-match", "no-contrastive",
         "no-variant", "no-outcome", "plus-outcome", "plus-ignore", "plus-mlp")
REMOVED = {"all": "none", "all-seed1": "none (seed 1)", "all-seed2": "none (seed 2)",
           "no-mlm": "− masked tokens", "no-gae": "− graph auto-encoding (+ node "
           "text)", "no-match": "− IR-graph matching", "no-contrastive": "− IR-graph contrastive "
           "alignment", "no-variant": "− variant contrast",
           "no-outcome": "− optimisation-outcome prediction",
           "plus-outcome": "+ optimisation-outcome prediction",
           "plus-ignore": "+ contrastive_variants: ignore",
           "plus-mlp": "+ variant_projection: mlp"}


def load_json(path: Path) -> dict[str, Any] | None:
    """A JSON file written by an evaluation, or None when it is absent or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def probe_scores(probes: dict[str, Any], method: str) -> dict[str, float | None]:
    """One method's headline probe scores: MAP@R of its fused, tokens and graph outputs
    (``map_<view>``) and the vectorised? accuracy per fold grouping
    (``vectorized_<grouping>``)."""
    retrieval = probes.get("retrieval", {}).get("methods", {})
    scores: dict[str, float | None] = {
        f"map_{view}": retrieval.get(name, {}).get("map_at_r")
        for view, name in (("fused", method), ("tokens", f"{method}-tokens"),
                           ("graph", f"{method}-graph"))}
    for grouping, tasks in probes.get("decisions", {}).get("groupings", {}).items():
        row = tasks.get("vectorized", {}).get("methods", {}).get(method, {})
        scores[f"vectorized_{grouping}"] = row.get("accuracy")
    return scores


def _devmap_scores(summary: dict[str, Any], method: str) -> dict[str, float | None]:
    platforms = summary.get("results", {}).get("devmap-669", {}).get("leakage-free", {})
    return {f"devmap_{p}": platforms.get(p, {}).get(method, {}).get("accuracy_mean")
            for p in ("amd", "nvidia")}


def collect_ablations(root: Path) -> dict[str, Any]:
    """``{"rows": [{"name", "removed", "steps", scores...}], "controls": {...}}`` of every
    finished ablation under ``root`` (unfinished ones are listed under ``missing``)."""
    rows, missing, controls = [], [], {}
    names = [n for n in ORDER if (root / n).is_dir()]
    names += sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in ORDER)
    for name in names:
        probes = load_json(root / name / "probes" / "probes.json")
        devmap = load_json(root / name / "devmap" / "results" / "summary.json")
        result = load_json(root / name / "result.json") or {}
        if probes is None or devmap is None:
            missing.append(name)
            continue
        rows.append({"name": name, "removed": REMOVED.get(name, name),
                     "steps": result.get("final_step"),
                     **probe_scores(probes, "encoder"), **_devmap_scores(devmap, "encoder")})
        methods = probes.get("retrieval", {}).get("methods", {})
        # The full run's controls first (infra/ablations.sh scores the twin only there).
        if "encoder-untrained" in methods and (name == "all" or "untrained twin" not in controls):
            controls["untrained twin"] = {**probe_scores(probes, "encoder-untrained"),
                                          **_devmap_scores(devmap, "encoder-untrained")}
        if "opcode-histogram" in methods and (name == "all"
                                              or "opcode histogram" not in controls):
            controls["opcode histogram"] = probe_scores(probes, "opcode-histogram")
    order = ("untrained twin", "opcode histogram")
    return {"rows": rows, "controls": {k: controls[k] for k in order if k in controls},
            "missing": missing}


_COLUMNS = (("map_fused", "MAP@R fused", 3), ("map_tokens", "MAP@R tokens", 3),
            ("map_graph", "MAP@R graph", 3), ("vectorized_source", "vectorised? acc (source "
            "folds)", 3), ("vectorized_template", "vectorised? acc (template folds)", 3),
            ("devmap_amd", "DevMap LF AMD %", 1), ("devmap_nvidia", "DevMap LF NVIDIA %", 1))


def ablations_markdown(ablations: dict[str, Any]) -> str:
    """The ``## Ablations`` section of RESULTS.md."""
    meta = ablations.get("meta", {})
    lines = ["## Ablations (pre-training objectives)", "",
             f"Short runs of `{meta.get('config', '?')}` ({meta.get('steps', '?')} steps each, "
             "same data, seed and schedule shape), each with one objective removed (−) or one "
             "candidate change added (+); scored on "
             "the representation probes (fused unless named) and on DevMap 669 leakage-free "
             "(fused embedding + run-time inputs, XGBoost, 3 fold/head seeds); token windows: "
             f"{meta.get('windows') or 'first (the embedder default)'}. "
             "Generated by "
             "`infra/ablations.sh`. The untrained twin and the opcode histogram are the "
             "controls (the twin depends only on the architecture and seed).", ""]
    header = ["run", "change", *[title for _, title, _ in _COLUMNS]]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in ablations.get("rows", []):
        lines.append("| " + " | ".join([row["name"], row["removed"], *[
            number_cell(row.get(key), digits) for key, _, digits in _COLUMNS]]) + " |")
    for name, scores in ablations.get("controls", {}).items():
        lines.append("| " + " | ".join([f"_{name}_", "–", *[
            number_cell(scores.get(key), digits) for key, _, digits in _COLUMNS]]) + " |")
    spread = _seed_spread(ablations.get("rows", []))
    if spread:
        lines += ["", spread]
    if ablations.get("missing"):
        lines += ["", "Not finished: " + ", ".join(ablations["missing"]) + "."]
    return "\n".join(lines) + "\n"


def _seed_spread(rows: list[dict[str, Any]]) -> str:
    """One sentence: mean ± sample std of every column over the ``all`` runs of different
    pre-training seeds (how large a difference between ablations must be to mean anything)."""
    import statistics

    runs = [r for r in rows if r["name"] == "all" or r["name"].startswith("all-seed")]
    if len(runs) < 2:
        return ""
    parts = []
    for key, title, digits in _COLUMNS:
        values = [r[key] for r in runs if r.get(key) is not None]
        if len(values) >= 2:
            parts.append(f"{title} {statistics.mean(values):.{digits}f} ± "
                         f"{statistics.stdev(values):.{digits}f}")
    return (f"Pre-training seed spread of `all` ({len(runs)} seeds: the data order, windows, "
            "masks and initialisation change): " + "; ".join(parts) + ".")
