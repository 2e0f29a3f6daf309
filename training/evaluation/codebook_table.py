"""The bags-of-node-codes study's table and Targets line (the command is
``codebook_study.py``; the readout is ``features/node_codes.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .record_table import spread_cell

__all__ = ["SETTINGS", "codebook_markdown", "codebook_statements"]

SETTINGS = ("devmap-669 leakage-free amd", "devmap-669 leakage-free nvidia",
            "devmap-680 leakage-free amd", "devmap-680 leakage-free nvidia",
            "thread-coarsening leakage-free", "devmap-669 literature-rs104 amd",
            "devmap-669 literature-rs104 nvidia", "thread-coarsening literature")
"""The columns: accuracy % (DevMap) or mean speedup (thread coarsening)."""
_TARGET_SETTINGS = SETTINGS[:4]


def _digits(setting: str) -> int:
    return 3 if setting.startswith("thread") else 1


def codebook_markdown(section: dict[str, Any]) -> str:
    """The STUDIES.md section: one row per group, mean ± std (range) over members x seeds."""
    settings = section["settings"]
    out = ["## Encoders read as bags of node codes", "",
           f"A diagnostic, not a protocol: each encoder's GNN node states counted by their "
           f"nearest of {section['codes']} codes (spherical k-means on the node states of "
           f"{section['corpus_programs']} train-split programs of `{Path(section['dataset']).name}`, "
           f"one codebook per encoder and k-means seed {', '.join(map(str, section['seeds']))}; "
           "`log1p` counts, as the opcode histogram's), scored with the protocols' own folds and "
           "heads (DevMap: XGBoost, 3 fold/head seeds; thread coarsening: mean speedup). "
           "Values: mean ± std (range) over encoders x k-means seeds; rows marked (control) are "
           "built-in feature sets beside them, no encoder. Command: "
           "`python -m mirencoder.training.evaluation.codebook_study` "
           "(`training/evaluation/features/node_codes.py`).", ""]
    if section.get("note"):
        out += [section["note"], ""]
    out += ["| encoders | " + " | ".join(settings) + " |",
            "|---|" + "---|" * len(settings)]
    for label, per in section["scores"].items():
        name = label if label.endswith("(control)") else \
            f"{label} ({len(section['groups'][label])})"
        out.append(f"| {name} | " + " | ".join(spread_cell(per.get(s, []), _digits(s))
                                               for s in settings) + " |")
    return "\n".join(out) + "\n"


def codebook_statements(section: dict[str, Any]) -> list[str]:
    """The Targets line: the first group's means against the second's on DevMap leakage-free."""
    if not section or len(section.get("scores", {})) < 2:
        return []
    (first, a), (second, b) = list(section["scores"].items())[:2]
    gaps = [np.mean(a[s]) - np.mean(b[s]) for s in _TARGET_SETTINGS if a.get(s) and b.get(s)]
    if len(gaps) != len(_TARGET_SETTINGS):
        return []
    means = " / ".join(f"{np.mean(a[s]):.1f}" for s in _TARGET_SETTINGS)
    reached = "reached" if min(gaps) >= 2.0 else "NOT reached"
    return [f"**bags of node codes** ({first} against {second}, {section['codes']} codes, "
            "DevMap leakage-free 669 AMD / NVIDIA, 680 AMD / NVIDIA): "
            f"{means} %, " + " / ".join(f"{g:+.1f}" for g in gaps)
            + f" points against the second group's means (pre-training target +2 on all four: "
            f"{reached})."]
