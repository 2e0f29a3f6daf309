"""The program-dimensions diagnostic's table: read the ``k<K>[-twin<S>]`` and
``rotated[-twin<S>]`` evaluation folders, the STUDIES.md section and its Targets line (the
command is ``program_dims.py``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from .table_cells import mean_std_cell

__all__ = ["METHODS", "ROTATED", "collect_program_dims", "leakage_free_accuracies", "program_dims_markdown",
           "program_dims_statements", "label_k"]

METHODS = {"encoder": "pre-trained encoder (fused)", "encoder-untrained": "untrained twins",
           "opcode-histogram": "opcode histogram", "ir2vec-fa": "IR2Vec flow-aware",
           "program-size": "program size (log instruction count)",
           "runtime-only": "run-time inputs only"}
ROTATED = -1
"""The column key of the ``rotated`` folders: every dimension, in a random orthonormal basis."""
_FOLDER = re.compile(r"^(?:k(\d+)|(rotated))(?:-twin(\d+))?$")


def leakage_free_accuracies(folder: Path) -> dict[str, dict[str, float]]:
    """``"<task> <platform>" -> method -> leakage-free accuracy`` of one DevMap evaluation
    folder (its ``results/summary.json``)."""
    summary = json.loads((folder / "results" / "summary.json").read_text())
    return {f"{task} {platform}": {m: v["accuracy_mean"] for m, v in methods.items()}
            for task, protocols in sorted(summary["results"].items())
            for platform, methods in protocols.get("leakage-free", {}).items()}


def _accuracies(folder: Path) -> dict[str, dict[str, float]]:
    """:func:`leakage_free_accuracies` of the methods this table shows."""
    return {setting: {m: v for m, v in methods.items() if m in METHODS}
            for setting, methods in leakage_free_accuracies(folder).items()}


def collect_program_dims(root: Path) -> dict[str, Any]:
    """Reads every ``k<K>[-twin<S>]`` and ``rotated[-twin<S>]`` folder under ``root``:
    ``settings`` (accuracy columns), ``dims`` (K ascending, then 0 = every dimension, then
    :data:`ROTATED`), ``scores[method][setting]`` = a list of values per column (twins: one
    per seed).

    Raises:
        ValueError: no such folder with a summary.
    """
    found: dict[int, list[dict[str, dict[str, float]]]] = {}
    for folder in sorted(root.iterdir()):
        match = _FOLDER.match(folder.name)
        if match and (folder / "results" / "summary.json").is_file():
            scores = _accuracies(folder)
            if match.group(3) is not None:  # a folder of more twins adds only twins
                scores = {s: {m: v for m, v in methods.items() if m == "encoder-untrained"}
                          for s, methods in scores.items()}
            key = ROTATED if match.group(2) else int(match.group(1))
            found.setdefault(key, []).append(scores)
    if not found:
        raise ValueError(f"{root}: no k<K> or rotated folder with results/summary.json")
    dims = sorted(found, key=lambda k: (k <= 0, k == ROTATED, k))
    settings = sorted({s for runs in found.values() for run in runs for s in run})
    scores: dict[str, dict[str, list]] = {m: {s: [] for s in settings} for m in METHODS}
    for k in dims:
        for method in METHODS:
            for setting in settings:
                values = [run[setting][method] for run in found[k]
                          if method in run.get(setting, {})]
                scores[method][setting].append(values)
    return {"dims": dims, "settings": settings, "scores": scores}


def label_k(k: int) -> str:
    return {0: "all", ROTATED: "all, rotated"}.get(k, str(k))


def program_dims_markdown(section: dict[str, Any]) -> str:
    """The STUDIES.md section: one row per (setting, method), one column per K."""
    dims = section["dims"]
    lines = ["## How many program dimensions the DevMap head can use", "",
             section.get("note", ""), "",
             "| setting (leakage-free) | method | "
             + " | ".join(f"K={label_k(k)}" for k in dims)
             + " |", "|---|---|" + "---|" * len(dims)]
    for setting in section["settings"]:
        for method, label in METHODS.items():
            cells = [mean_std_cell(values) for values in section["scores"][method][setting]]
            if any(cell != "–" for cell in cells):
                lines.append(f"| {setting} | {label} | " + " | ".join(cells) + " |")
    if section.get("figure"):
        lines += ["", f"![DevMap leakage-free accuracy against K]({section['figure']})"]
    return "\n".join(lines) + "\n"


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def program_dims_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: per setting, the encoder's best K against the twins at that K and
    the run-time inputs alone, and (with ``rotated`` folders) what turning the opcode histogram
    into another basis costs it beside the program's size alone — what the head can make of
    each program representation."""
    if not section:
        return []
    dims, scores, parts = section["dims"], section["scores"], []
    kept = [i for i, k in enumerate(dims) if k != ROTATED]
    for setting in section["settings"]:
        encoder = [np.mean(v) if v else np.nan for v in scores["encoder"][setting]]
        runtime = [v for values in scores["runtime-only"][setting] for v in values]
        if np.all(np.isnan([encoder[i] for i in kept])) or not runtime:
            continue
        best = max(kept, key=lambda i: -np.inf if np.isnan(encoder[i]) else encoder[i])
        twins = scores["encoder-untrained"][setting][best]
        all_dims = encoder[dims.index(0)] if 0 in dims else None
        other = max((np.mean(v) for m in ("opcode-histogram", "ir2vec-fa")
                     for v in [scores[m][setting][best]] if v), default=None)
        text = (f"{setting} encoder {encoder[best]:.1f} % at K={label_k(dims[best])}"
                + (f" (all dimensions {all_dims:.1f})" if all_dims is not None else "")
                + (f", twins {mean_std_cell(twins)}" if twins else "")
                + (f", best baseline {other:.1f}" if other is not None else "")
                + f", run-time inputs alone {np.mean(runtime):.1f}")
        if 0 in dims and ROTATED in dims:
            column = {k: i for i, k in enumerate(dims)}
            histogram = scores["opcode-histogram"][setting]
            as_is, turned = _mean(histogram[column[0]]), _mean(histogram[column[ROTATED]])
            if as_is is not None and turned is not None:
                text += f", opcode histogram {as_is:.1f} as is and {turned:.1f} rotated"
            size = _mean(scores["program-size"][setting][column[0]])
            if size is not None:
                text += f", program size alone {size:.1f}"
        parts.append(text)
    if not parts:
        return []
    return ["**what limits DevMap leakage-free** (the head on the first K principal components "
            "of each program representation, or on all of it in a random basis; How many "
            "program dimensions the DevMap head can use): " + "; ".join(parts) + "."]
