"""The fine-tuning study's table: read ``mirencoder eval devmap --finetune`` folders (encoder and
twin fine-tuned alike, beside the frozen heads), the RESULTS.md section and its Targets line
(the command is ``finetune_study.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .finetune import FINETUNE_METHOD, UNTRAINED_FINETUNE_METHOD
from .table_cells import spread_cell

__all__ = ["PAIRS", "CONTROLS", "collect_finetune", "finetune_markdown", "finetune_statements"]

PAIRS = (("XGBoost, frozen (the protocol's head)", "encoder", "encoder-untrained"),
         ("MLP, frozen", "encoder+mlp", "encoder-untrained+mlp"),
         ("MLP, fine-tuned end to end", FINETUNE_METHOD, UNTRAINED_FINETUNE_METHOD))
"""``(head, pre-trained row, untrained twin row)``: the same head on both encoders."""
CONTROLS = (("runtime-only", "run-time inputs only"), ("opcode-histogram", "opcode histogram"),
            ("loop-opcode-histogram", "loop opcode histogram"))
"""Controls shown beside the pairs, under each head the folders ran (``<name>[+mlp]``)."""


def _folder_scores(folder: Path) -> tuple[dict[str, dict[str, list[float]]], dict[str, Any]]:
    """``"<task> <platform>" -> method -> per-seed leakage-free accuracies`` of one folder, and
    its fine-tuning settings and encoder identity."""
    path = folder / "results" / "summary.json"
    if not path.is_file():
        raise ValueError(f"{folder}: no results/summary.json (run `mirencoder eval devmap "
                         "--finetune --untrained-model ... --out-dir` there first)")
    summary = json.loads(path.read_text())
    scores: dict[str, dict[str, list[float]]] = {}
    for task, protocols in sorted(summary.get("results", {}).items()):
        for platform, methods in protocols.get("leakage-free", {}).items():
            scores[f"{task} {platform}"] = {
                m: [s["accuracy"] for s in v.get("per_seed", [])] or [v["accuracy_mean"]]
                for m, v in methods.items()}
    about: dict[str, Any] = {"encoder": (summary.get("encoder") or {}).get("uri"),
                             "twin": (summary.get("encoder") or {}).get("untrained_uri")}
    for task in summary.get("tasks", {}).values():
        settings = task.get("own_head_settings", {}).get(FINETUNE_METHOD)
        if settings:
            about["finetune"] = settings
    return scores, about


def collect_finetune(folders: list[Path]) -> dict[str, Any]:
    """Merges the folders' leakage-free results: ``settings`` (accuracy columns), ``scores[
    method][setting]`` = per-seed accuracies, ``finetune`` (the settings both encoders were
    fine-tuned with), ``encoder``, ``twin``, ``folders``.

    Raises:
        ValueError: a folder without results, no fine-tuned pair in them, folders that disagree
            on the encoder, twin or settings, or a setting that two folders both hold.
    """
    scores: dict[str, dict[str, list[float]]] = {}
    about: dict[str, Any] = {}
    for folder in folders:
        found, info = _folder_scores(folder)
        for key in ("encoder", "twin", "finetune"):
            if key in about and info.get(key) != about[key]:
                raise ValueError(f"{folder}: its {key} differs from the other folders' "
                                 f"({info.get(key)!r} vs {about[key]!r})")
            about.setdefault(key, info.get(key))
        for setting, methods in found.items():
            for method, values in methods.items():
                if scores.get(method, {}).get(setting):
                    raise ValueError(f"{folder}: {setting} {method} is also in another folder")
                scores.setdefault(method, {})[setting] = values
    pairs = [p for p in PAIRS if p[1] in scores and p[2] in scores]
    if not any(p[1] == FINETUNE_METHOD for p in pairs):
        raise ValueError("no folder holds both encoder+finetune and encoder-untrained+finetune: "
                         "run `mirencoder eval devmap --finetune --model M --untrained-model T`")
    settings = sorted({s for method in scores.values() for s in method})
    return {"settings": settings, "scores": scores, "folders": [str(f) for f in folders],
            **about}



def _gap(section: dict[str, Any], trained: str, twin: str, setting: str) -> float | None:
    """Mean over seeds of the pre-trained row minus the twin's (same folds, seed by seed)."""
    a = section["scores"].get(trained, {}).get(setting)
    b = section["scores"].get(twin, {}).get(setting)
    if not a or not b or len(a) != len(b):
        return None
    return float(np.mean(np.subtract(a, b)))


def _describe(settings: dict[str, Any] | None) -> str:
    if not settings:
        return ""
    return (f"{settings['probe_epochs']} head-only epochs on the frozen vectors, then "
            f"{settings['epochs']} end-to-end epochs, AdamW, encoder lr {settings['encoder_lr']:g}"
            f", head lr {settings['head_lr']:g}, {settings['batch_size']} programs per step, "
            f"MLP {settings['hidden']} on the {settings['modality']} vector and the log-scaled "
            "run-time inputs")


def finetune_markdown(section: dict[str, Any]) -> str:
    """The RESULTS.md section: each head on the pre-trained encoder and on its twin, the gap,
    and the controls under the same heads."""
    settings, scores = section["settings"], section["scores"]
    header = " | ".join(settings)
    lines = ["## Fine-tuning the encoder end to end (DevMap leakage-free)", "",
             "Does pre-training show once the encoder itself is trained on the task? Each "
             "encoder is fine-tuned per fold with the same settings ("
             + _describe(section.get("finetune")) + "); the frozen rows are the same folds' "
             f"heads on the frozen vectors. Pre-trained: `{section.get('encoder')}`; untrained "
             f"twin: `{section.get('twin')}`. Accuracy %, mean ± std over fold seeds where "
             "there are several. Not a target: the targets keep the frozen encoder.", ""]
    if section.get("note"):
        lines += [section["note"], ""]
    lines += [f"| head | representation | {header} |", "|---|---|" + "---|" * len(settings)]
    for head, trained, twin in PAIRS:
        if trained not in scores:
            continue
        for label, method in (("pre-trained encoder", trained), ("untrained twin", twin)):
            cells = [spread_cell(scores.get(method, {}).get(s)) for s in settings]
            lines.append(f"| {head} | {label} | " + " | ".join(cells) + " |")
        gaps = [_gap(section, trained, twin, s) for s in settings]
        lines.append(f"| {head} | **pre-trained minus twin** | "
                     + " | ".join("–" if g is None else f"**{g:+.1f}**" for g in gaps) + " |")
    for suffix, head in (("", "XGBoost, frozen (the protocol's head)"), ("+mlp", "MLP, frozen")):
        for name, label in CONTROLS:
            values = scores.get(name + suffix)
            if values:
                lines.append(f"| {head} | {label} | "
                             + " | ".join(spread_cell(values.get(s)) for s in settings) + " |")
    if section.get("figure"):
        lines += ["", f"![fine-tuning against the twin]({section['figure']})"]
    lines += ["", "Folders: " + ", ".join(f"`{f}`" for f in section.get("folders", [])) + "."]
    return "\n".join(lines) + "\n"


def finetune_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: per setting, the fine-tuned pre-trained encoder against its twin
    fine-tuned alike, and the frozen gap under the protocol's head."""
    if not section:
        return []
    parts = []
    for setting in section["settings"]:
        tuned = _gap(section, FINETUNE_METHOD, UNTRAINED_FINETUNE_METHOD, setting)
        frozen = _gap(section, "encoder", "encoder-untrained", setting)
        value = section["scores"].get(FINETUNE_METHOD, {}).get(setting)
        if tuned is None or not value:
            continue
        parts.append(f"{setting} {np.mean(value):.1f} % ({tuned:+.1f} against the twin"
                     + (f"; frozen under XGBoost {frozen:+.1f}" if frozen is not None else "")
                     + ")")
    if not parts:
        return []
    return ["**fine-tuned end to end** (not a target; 'Fine-tuning the encoder end to end'), "
            "DevMap leakage-free, the pre-trained encoder against its untrained twin fine-tuned "
            "alike: " + "; ".join(parts) + "."]
