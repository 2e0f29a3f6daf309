"""The neighbour-label study's table: read the ``<who>-<head>`` DevMap folders, the study page
section and its Targets line (the command is ``neighbour_study.py``).

Folders (each one ``mirencoder eval devmap --protocols leakage-free`` run): ``who`` is
``encoder`` (``--model`` the pre-trained package), ``twin<S>`` (``--model`` an untrained twin at
seed S, so its rows are named ``encoder``/``encoder-graph`` there) or ``controls`` (the baselines,
no model); ``head`` is ``xgb`` (the protocol) or ``k<K>`` (``--set
devmap.program_neighbours=K``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from .program_dims_table import leakage_free_accuracies
from .table_cells import MISSING, mean_std_cell

__all__ = ["ROWS", "collect_neighbour_study", "head_label", "neighbour_study_markdown",
           "neighbour_study_statements"]

TITLE = "What a representation's neighbours tell the DevMap head (leakage-free, frozen)"
ROWS = {"encoder": "pre-trained encoder (fused)", "twins": "untrained twins (fused)",
        "encoder-graph": "pre-trained encoder (graph output)",
        "twins-graph": "untrained twins (graph output)",
        "opcode-histogram": "opcode histogram", "loop-opcode-histogram": "loop opcode histogram",
        "ir2vec-fa": "IR2Vec flow-aware", "program-size": "program size (log instruction count)",
        "runtime-only": "run-time inputs only"}
_GAPS = {"encoder": ("twins", "pre-trained minus twins' mean (fused)"),
         "encoder-graph": ("twins-graph", "pre-trained minus twins' mean (graph output)")}
_FOLDER = re.compile(r"^(encoder|controls|twin(\d+))-(xgb|k\d+)$")


def _row(who: str, method: str) -> str | None:
    """The table row a folder's method lands in (None: not shown)."""
    if who == "controls":
        return method if method in ROWS and not method.startswith("encoder") else None
    if method not in ("encoder", "encoder-graph"):
        return None
    return method if who == "encoder" else method.replace("encoder", "twins")


def collect_neighbour_study(root: Path) -> dict[str, Any]:
    """Reads every ``<who>-<head>`` folder under ``root``: ``heads`` (``xgb`` first, then K
    ascending), ``settings``, ``scores[row][setting][head]`` = the values (twins: one per seed),
    ``twin_seeds``.

    Raises:
        ValueError: no such folder with a summary.
    """
    scores: dict[str, dict[str, dict[str, list[float]]]] = {}
    heads, settings, seeds = set(), set(), set()
    for folder in sorted(root.iterdir()):
        match = _FOLDER.match(folder.name)
        if not match or not (folder / "results" / "summary.json").is_file():
            continue
        who = "twin" if match.group(2) is not None else match.group(1)
        if match.group(2) is not None:
            seeds.add(int(match.group(2)))
        head = match.group(3)
        heads.add(head)
        for setting, methods in leakage_free_accuracies(folder).items():
            settings.add(setting)
            for method, value in methods.items():
                row = _row(who, method)
                if row is not None:
                    scores.setdefault(row, {}).setdefault(setting, {}).setdefault(
                        head, []).append(value)
    if not scores:
        raise ValueError(f"{root}: no <encoder|controls|twin<S>>-<xgb|k<K>> folder with "
                         "results/summary.json")
    ordered = sorted(heads, key=lambda h: (h != "xgb", int(h[1:]) if h != "xgb" else 0))
    return {"heads": ordered, "settings": sorted(settings), "scores": scores,
            "twin_seeds": sorted(seeds)}


def head_label(head: str) -> str:
    return ("protocol head (XGBoost on the program columns)" if head == "xgb"
            else f"labels of the {head[1:]} nearest training programs")


def _values(section: dict[str, Any], row: str, setting: str, head: str) -> list[float]:
    return section["scores"].get(row, {}).get(setting, {}).get(head, [])


def _gap(section: dict[str, Any], row: str, setting: str, head: str) -> float | None:
    ours, twins = (_values(section, r, setting, head) for r in (row, _GAPS[row][0]))
    return float(np.mean(ours) - np.mean(twins)) if ours and twins else None


def _cell(values: list[float]) -> str:
    if len(values) < 2:
        return mean_std_cell(values)
    return f"{mean_std_cell(values)} ({min(values):.1f}–{max(values):.1f})"


def neighbour_study_markdown(section: dict[str, Any]) -> str:
    """The study page section: one row per (setting, representation), one column per head,
    with the pre-trained encoder's lead over its twins' mean in bold."""
    heads = section["heads"]
    lines = [f"## {TITLE}", "", section.get("note", ""), "",
             "| setting (leakage-free) | representation | "
             + " | ".join(head_label(h) for h in heads) + " |", "|---|---|" + "---|" * len(heads)]
    for setting in section["settings"]:
        for row, label in ROWS.items():
            cells = [_cell(_values(section, row, setting, h)) for h in heads]
            if all(cell == MISSING for cell in cells):
                continue
            lines.append(f"| {setting} | {label} | " + " | ".join(cells) + " |")
            if row in _GAPS:
                gaps = [_gap(section, row, setting, h) for h in heads]
                if any(g is not None for g in gaps):
                    lines.append(f"| {setting} | **{_GAPS[row][1]}** | " + " | ".join(
                        MISSING if g is None else f"**{g:+.1f}**" for g in gaps) + " |")
    if section.get("figure"):
        lines += ["", f"![DevMap leakage-free accuracy by head]({section['figure']})"]
    return "\n".join(lines) + "\n"


def neighbour_study_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: the pre-trained encoder's lead over its twins under each head, per
    setting (fused output)."""
    if not section:
        return []
    parts = []
    for setting in section["settings"]:
        gaps = [(h, _gap(section, "encoder", setting, h)) for h in section["heads"]]
        shown = [f"{'protocol' if h == 'xgb' else 'K=' + h[1:]} {g:+.1f}" for h, g in gaps
                 if g is not None]
        if shown:
            parts.append(f"{setting} " + ", ".join(shown))
    if not parts:
        return []
    return ["**DevMap leakage-free through neighbours** (the head sees the labels of each "
            "program's nearest training programs instead of its coordinates; pre-trained encoder "
            f"minus its {len(section.get('twin_seeds', []))} twins' mean, fused output; "
            f"{TITLE}): " + "; ".join(parts) + "."]
