"""A PNG bar chart of the probes: MAP@R per method, and accuracy per decision task under each
fold grouping evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..figures import legend_below, save_figure
from .report import TASK_TITLES
from .results import ProbeResults

__all__ = ["plot_probes"]


def _value(v: Any) -> float:
    return float("nan") if v is None else float(v)


def plot_probes(results: ProbeResults | dict[str, Any], path: str | Path) -> Path:
    """Writes the chart (matplotlib, Agg backend) and returns its path: MAP@R per method, then
    one panel of decision accuracy per fold grouping (source, template), each task's majority
    class dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    data = results.to_dict() if isinstance(results, ProbeResults) else results
    order = list(data.get("methods", {}))
    retrieval = data.get("retrieval", {}).get("methods", {})
    groupings = {g: {t: v for t, v in tasks.items() if "methods" in v}
                 for g, tasks in data.get("decisions", {}).get("groupings", {}).items()}
    height = 1.6 + 0.4 * max(len(order), 4)
    fig, axes = plt.subplots(1, 1 + len(groupings), figsize=(5.4 * (1 + len(groupings)), height),
                             squeeze=False)
    left = axes[0][0]
    names = [m for m in order if m in retrieval]
    left.barh(names, [_value(retrieval[m]["map_at_r"]) for m in names], color="#4477aa")
    left.invert_yaxis()
    left.set_xlim(0, 1)
    left.set_xlabel("MAP@R")
    left.set_title("a. optimisation-invariance retrieval")
    handles: list[Any] = []
    for letter, ax, (grouping, tasks) in zip("bcdef", axes[0][1:], groupings.items(),
                                             strict=False):
        names = [m for m in order if any(m in t["methods"] for t in tasks.values())]
        width = 0.8 / max(len(tasks), 1)
        y = np.arange(len(names))
        for k, (task, info) in enumerate(tasks.items()):
            values = [_value(info["methods"].get(m, {}).get("accuracy")) for m in names]
            bars = ax.barh(y + k * width, values, height=width,
                           label=TASK_TITLES.get(task, task))
            ax.axvline(_value(info["majority"]["accuracy"]), linestyle="--", linewidth=1,
                       color=bars.patches[0].get_facecolor() if bars.patches else "grey")
        ax.set_yticks(y + width * (len(tasks) - 1) / 2, names)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("accuracy (dashed: majority class)")
        ax.set_title(f"{letter}. -O3 vectoriser decisions, {grouping} folds")
        handles = handles or ax.get_legend_handles_labels()[0]
    rect = legend_below(fig, handles, [h.get_label() for h in handles], fontsize=9,
                        line_in=0.2)
    return save_figure(fig, Path(path), rect=rect)
