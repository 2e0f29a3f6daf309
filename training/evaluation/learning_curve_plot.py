"""The learning-curve figure: each run's scores against its pre-training steps, one panel per
score of the runs-of-record table, the untrained twins' range shaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .record_table import COLUMNS, spread

__all__ = ["draw_learning_curves"]


def draw_learning_curves(curves: dict[str, Any], out_png: Path) -> Path:
    """One panel per score: each run's scores against its steps, the twins' range shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = curves.get("runs", [])
    if not runs:
        raise ValueError("no learning curves to draw")
    columns = 4
    rows = -(-len(COLUMNS) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, (key, title, _) in zip(axes.flat, COLUMNS, strict=False):
        for index, curve in enumerate(runs):
            steps = [p["step"] for p in curve["points"] if p["scores"].get(key) is not None]
            values = [p["scores"][key] for p in curve["points"]
                      if p["scores"].get(key) is not None]
            colour = colours(index % 10)
            ax.plot(steps, values, marker="o", ms=3, color=colour, label=curve["name"])
            twins = spread([twin.get(key) for twin in curve["twins"]])
            if twins is not None and steps:
                ax.axhspan(twins.low, twins.high, color=colour, alpha=0.12, lw=0)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("pre-training step", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(COLUMNS):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle("Learning curves (shaded: the untrained twins' range)", fontsize=11)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
