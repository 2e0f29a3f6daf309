"""The learning-curve figure: each run's scores against its pre-training steps, one panel per
score of the runs-of-record table, the untrained twins' range shaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .record_plot import save_score_panels, score_panels
from .record_table import COLUMNS, spread

__all__ = ["draw_learning_curves"]


def draw_learning_curves(curves: dict[str, Any], out_png: Path) -> Path:
    """One panel per score: each run's scores against its steps, the twins' range shaded."""
    runs = curves.get("runs", [])
    if not runs:
        raise ValueError("no learning curves to draw")
    fig, axes = score_panels(3.2)
    for ax, (key, title, _) in zip(axes.flat, COLUMNS, strict=False):
        for index, curve in enumerate(runs):
            points = [p for p in curve["points"] if p["scores"].get(key) is not None]
            colour = f"C{index % 10}"  # matplotlib's default cycle (tab10)
            ax.plot([p["step"] for p in points], [p["scores"][key] for p in points],
                    marker="o", ms=3, color=colour, label=curve["name"])
            twins = spread([twin.get(key) for twin in curve["twins"]])
            if twins is not None and points:
                ax.axhspan(twins.low, twins.high, color=colour, alpha=0.12, lw=0)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("pre-training step", fontsize=8)
        ax.grid(alpha=0.3)
    return save_score_panels(fig, axes, "Learning curves (shaded: the untrained twins' range)",
                             out_png)
