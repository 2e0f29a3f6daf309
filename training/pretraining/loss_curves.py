"""Plots the loss and accuracy curves of a run from its metrics history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_loss_curves"]

_PANELS = (
    ("losses", ("train/loss", "train/mlm_loss", "train/gae_loss", "train/match_loss",
                "train/contrastive_loss", "train/variant_loss", "train/outcome_loss")),
    ("accuracies", ("train/mlm_accuracy", "train/mlm_unigram_accuracy",
                    "train/match_accuracy", "train/gae_link_accuracy",
                    "train/gae_flow_accuracy", "train/node_text_accuracy",
                    "train/contrastive_accuracy", "train/variant_accuracy")),
    ("validation", ("val/loss", "val/mlm_accuracy", "val/match_accuracy",
                    "val/gae_link_accuracy", "val/contrastive_accuracy",
                    "val/variant_accuracy", "val/outcome_loss")),
)


def plot_loss_curves(rows: list[dict[str, Any]], out_png: str | Path, *, title: str = "") -> Path:
    """Draws losses, accuracies (with the unigram baseline) and validation metrics per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(name, [key for key in keys if any(key in row for row in rows)])
              for name, keys in _PANELS]
    panels = [(name, keys) for name, keys in panels if keys]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5.5 * max(1, len(panels)), 4))
    axes = axes if hasattr(axes, "__len__") else [axes]
    for axis, (name, keys) in zip(axes, panels, strict=False):
        for key in keys:
            points = [(row["step"], row[key]) for row in rows if key in row]
            style = "--" if "unigram" in key else "-"
            axis.plot([p[0] for p in points], [p[1] for p in points], style,
                      label=key.split("/", 1)[1], marker="." if len(points) < 30 else None)
        axis.set_title(name)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
