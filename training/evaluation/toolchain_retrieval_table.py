"""Cross-toolchain retrieval's scoring and table: the STUDIES.md section, its figure and its
Targets line (the command is ``toolchain_retrieval.py``).

Section layout (``results/summary.json`` key ``toolchain_retrieval``): ``kernels`` (pairs
scored), ``twins``, ``controls`` (other rows, earlier checkpoints first), ``labels`` (row
names of the checkpoints), ``packages``, ``scores[name]`` = ``{"top1", "mrr",
"median_rank"}``, ``note``, ``seconds``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .figures import save_figure
from .package_features import ENCODER
from .stacked_sweep_table import row_label

__all__ = ["cross_retrieval", "toolchain_markdown", "toolchain_statements",
           "draw_toolchain_retrieval"]


def _ranks(queries: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query: candidates strictly more similar than its own, and others tied with it."""
    def unit(x: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(norms > 0, norms, 1)

    similarity = unit(queries) @ unit(candidates).T
    own = np.diag(similarity)[:, None]
    above = (similarity > own + 1e-9).sum(axis=1)
    tied = (np.abs(similarity - own) <= 1e-9).sum(axis=1) - 1
    return above, tied


def cross_retrieval(first: np.ndarray, second: np.ndarray) -> dict[str, float]:
    """Row i of ``first`` and of ``second`` are one kernel's two versions: top-1 accuracy (a
    k-way tie at the top counts 1/k), mean reciprocal rank and median rank (a tie shares the
    ranks it spans), over both directions."""
    above, tied = map(np.concatenate, zip(_ranks(first, second), _ranks(second, first),
                                          strict=True))
    ranks = 1 + above + tied / 2
    return {"top1": float(np.mean((above == 0) / (1 + tied))),
            "mrr": float(np.mean(1 / ranks)), "median_rank": float(np.median(ranks))}


def _cell(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")


def toolchain_markdown(section: dict[str, Any]) -> str:
    """One row per representation: top-1 %, MRR, median rank."""
    scores, twins = section["scores"], section["twins"]
    lines = ["## Does pre-training's invariance carry to another toolchain? (DevMap kernels, "
             "IR2Vec's IR against IR compiled here, frozen)", "", section.get("note", ""), "",
             "| representation | top-1 % | mean reciprocal rank | median rank |",
             "|---|---|---|---|"]

    def row(name: str, values: list[dict[str, float]]) -> None:
        lines.append(f"| {name} | " + " | ".join(
            _cell([100 * v["top1"] if key == "top1" else v[key] for v in values],
                  3 if key == "mrr" else 1)
            for key in ("top1", "mrr", "median_rank")) + " |")

    row("pre-trained encoder", [scores[ENCODER]])
    row(f"untrained twins ({len(twins)})", [scores[t] for t in twins])
    for name in section["controls"]:
        row(row_label(section, name), [scores[name]])
    lines.append(f"| chance (random ranking) | {100 / section['kernels']:.1f} | "
                 f"{np.mean(1 / np.arange(1, section['kernels'] + 1)):.3f} | "
                 f"{(section['kernels'] + 1) / 2:.1f} |")
    if section.get("figure"):
        lines += ["", f"![cross-toolchain retrieval]({section['figure']})"]
    return "\n".join(lines) + "\n"


def toolchain_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: the encoder's top-1 against its twins' and the best control's."""
    if not section:
        return []
    scores, twins = section["scores"], section["twins"]
    others = [n for n in section["controls"] if n not in section.get("labels", {})]
    best = max(others, key=lambda n: scores[n]["top1"]) if others else None
    twin_top1 = [100 * scores[t]["top1"] for t in twins]
    return [f"**cross-toolchain retrieval** ({section['kernels']} DevMap kernels, IR2Vec's IR "
            f"against IR compiled here; Does pre-training's invariance carry to another "
            f"toolchain?): top-1 {100 * scores[ENCODER]['top1']:.1f} % for the encoder, "
            f"{np.mean(twin_top1):.1f} % for its {len(twins)} untrained twins "
            f"({min(twin_top1):.1f}–{max(twin_top1):.1f})"
            + (f", {100 * scores[best]['top1']:.1f} % for the best control "
               f"({row_label(section, best)})" if best else "") + "."]


def draw_toolchain_retrieval(section: dict[str, Any], png: Path) -> Path:
    """Top-1 accuracy per representation (twins: one bar each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [ENCODER, *section["twins"], *section["controls"]]
    values = [100 * section["scores"][n]["top1"] for n in names]
    colours = ["C0"] + ["C1"] * len(section["twins"]) + [
        "C0" if n in section.get("labels", {}) else "C2" for n in section["controls"]]
    fig, ax = plt.subplots(figsize=(7.0, 3.2))
    ax.bar(range(len(names)), values, color=colours, alpha=0.7)
    ax.axhline(100 / section["kernels"], color="k", linestyle=":", linewidth=1, label="chance")
    ax.set_xticks(range(len(names)), ["pre-trained" if n == ENCODER else row_label(section, n)
                                      for n in names], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("top-1 %")
    ax.set_title("each kernel's other-toolchain version ranked first", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, png)
